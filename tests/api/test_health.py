"""`/health/live` and `/health/ready` on the real app: the database, its schema, Temporal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from api.app import create_app
from api.deps import Services
from migrations.runner import code_heads, upgrade_database
from models.database import Database
from tests.workers.processes import free_port

BASELINE = "0001"


def _checks(body: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {check["name"]: (check["status"], check["reason"]) for check in body["checks"]}


@pytest.fixture
async def app_over(env) -> AsyncIterator[Any]:
    """A client of the app over a given database and Temporal client, without an API key."""
    clients: list[httpx.AsyncClient] = []

    def build(db: Database, client: Client | None = None) -> httpx.AsyncClient:
        app = create_app(Services(db=db, client=client or env.client, task_queue="unused"))
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://partnerflow"
        )
        clients.append(http)
        return http

    yield build
    for http in clients:
        await http.aclose()


async def test_the_api_is_live_and_ready_without_a_key(http, acme):
    live = await http.get("/health/live")
    assert live.status_code == 200 and live.json() == {"status": "ok"}

    ready = await http.get("/health/ready")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "ok"
    checks = _checks(body)
    assert list(checks) == ["database", "schema", "temporal"]
    assert {status for status, _ in checks.values()} == {"ok"}
    assert ", ".join(code_heads()) in checks["schema"][1]
    # The provider routes still want their key.
    assert (await http.get("/provider/partners")).status_code == 401


async def test_a_schema_behind_head_is_not_ready(empty_db, app_over):
    upgrade_database(empty_db.engine, BASELINE)
    assert code_heads() != [BASELINE], "needs a revision after the baseline"

    ready = await app_over(empty_db).get("/health/ready")

    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "error"
    checks = _checks(body)
    assert checks["database"][0] == "ok" and checks["temporal"][0] == "ok"
    status, reason = checks["schema"]
    assert status == "error"
    assert reason.startswith(f"behind: at {BASELINE}, needs {', '.join(code_heads())}")
    assert "partnerflow db upgrade" in reason


async def test_a_database_without_schema_is_not_ready(empty_db, app_over):
    ready = await app_over(empty_db).get("/health/ready")
    assert ready.status_code == 503
    assert _checks(ready.json())["schema"][0] == "error"
    assert _checks(ready.json())["schema"][1].startswith("empty: at no revision")


async def test_an_unreachable_temporal_is_not_ready(db, app_over):
    nowhere = await Client.connect(
        f"127.0.0.1:{free_port()}", lazy=True, data_converter=pydantic_data_converter
    )

    ready = await app_over(db, nowhere).get("/health/ready")

    assert ready.status_code == 503
    checks = _checks(ready.json())
    assert checks["temporal"] == ("error", "cannot connect to the Temporal frontend")
    assert checks["database"][0] == "ok" and checks["schema"][0] == "ok"
    assert "127.0.0.1" not in ready.text


async def test_an_unreachable_database_is_not_ready(tmp_path, app_over):
    # A directory where the SQLite file should be: no connection can open it.
    (tmp_path / "partnerflow.db").mkdir()
    missing = Database.from_url(f"sqlite:///{tmp_path / 'partnerflow.db'}")
    try:
        ready = await app_over(missing).get("/health/ready")
    finally:
        missing.engine.dispose()

    assert ready.status_code == 503
    checks = _checks(ready.json())
    assert checks["database"] == ("error", "OperationalError; the API's log has the error")
    assert checks["schema"] == ("error", "not checked: the database is down")
    assert checks["temporal"][0] == "ok"
    assert str(tmp_path) not in ready.text


async def test_the_health_routes_are_tagged_apart_from_the_provider_routes(http):
    openapi = (await http.get("/openapi.json")).json()
    for path in ("/health/live", "/health/ready"):
        operation = openapi["paths"][path]["get"]
        assert operation["tags"] == ["health"]
        assert "security" not in operation
    assert "503" in openapi["paths"]["/health/ready"]["get"]["responses"]
