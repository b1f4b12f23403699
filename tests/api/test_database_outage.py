"""PostgreSQL stopped under the API: every request gets a JSON 503 with Retry-After at once (no
500, no hang, no dropped connection), the log a readable line without SQL parameters, and the
API serves again by itself once the database is back."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.deps import Services
from models.database import Database, make_engine
from services.providers import create_provider
from store.database import open_database
from tests.owned_postgres import OwnedPostgres, owned_postgres

HANG_GUARD = 30
"""A request that has not answered by then has hung: the test fails rather than waits."""
ORDER = {
    "itemId": "outage-1",
    "offerId": "some-offer",
    "resellerTeamId": "team-one",
    "serviceAddress": {"zipCode": "98101"},
    "monthlyPrice": "80.00",
    "status": "accepted",
    "createdAt": "2026-10-01T10:00:00Z",
}

Call = Callable[[httpx.AsyncClient, str], Awaitable[httpx.Response]]
CALLS: dict[str, Call] = {
    "list orders": lambda http, key: http.get("/provider/orders", headers={"x-api-key": key}),
    "send orders": lambda http, key: http.post(
        "/provider/orders", json={"orders": [ORDER]}, headers={"x-api-key": key}
    ),
    "read the program": lambda http, key: http.get("/provider/program", headers={"x-api-key": key}),
}


@pytest.fixture
async def server() -> AsyncIterator[OwnedPostgres]:
    with owned_postgres() as pg:
        yield pg


async def _answer(call: Call, http: httpx.AsyncClient, key: str) -> httpx.Response:
    return await asyncio.wait_for(call(http, key), HANG_GUARD)


async def test_an_outage_is_a_503_that_says_so_and_the_api_recovers_by_itself(
    server: OwnedPostgres, env: WorkflowEnvironment, caplog: pytest.LogCaptureFixture
):
    open_database(server.url, upgrade=True).engine.dispose()
    db = Database(make_engine(server.url))
    with db.transaction() as session:
        key = create_provider(session, "Outage Fiber").api_key
    app = create_app(Services(db=db, client=env.client, task_queue="outage"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://partnerflow") as http:
        assert (await _answer(CALLS["list orders"], http, key)).status_code == 200

        server.stop()
        caplog.set_level(logging.WARNING, logger="partnerflow.api")
        for what, call in CALLS.items():
            response = await _answer(call, http, key)
            assert response.status_code == 503, (what, response.text)
            assert response.headers["retry-after"].isdigit(), what
            assert response.json()["detail"].startswith("the program database is unavailable")
        logged = [r.getMessage() for r in caplog.records if r.name == "partnerflow.api"]
        assert logged and all(m.startswith("program database unavailable: ") for m in logged)
        assert all("\n" not in m and "parameters" not in m for m in logged)

        server.start()
        for what, call in CALLS.items():
            response = await _answer(call, http, key)
            assert response.status_code in (200, 422), (what, response.text)
    db.engine.dispose()
