"""`partnerflow providers create` and `partnerflow api` as real processes, over real HTTP."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from devstack.demo_data import add_reseller
from devstack.dev_server import DevConfig
from models.database import Database
from tests.workers.dev_temporal import dev_server_for_workers
from tests.workers.processes import Command, free_port
from workers.wiring import build_worker

START_TIMEOUT = 30


def _call(port: int, path: str, key: str | None = None, body: Any = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"content-type": "application/json", **({"x-api-key": key} if key else {})},
        method="POST" if body is not None else "GET",
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


pytestmark = pytest.mark.both_databases  # the processes on each backend: a smoke test


@pytest.fixture
async def variables(dev_server_config: DevConfig, db: Database) -> AsyncIterator[dict[str, str]]:
    """What the processes need to reach the Temporal dev server and the test's database, with
    a worker on that database: the time-skipping server cannot take update-with-start from a
    second process's client."""
    async with (
        dev_server_for_workers(dev_server_config, db) as server,
        build_worker(server.client, db, task_queue=server.task_queue),
    ):
        yield server.environment


async def test_a_provider_created_on_the_command_line_enrolls_over_http(
    tmp_path: Path, db, variables
):
    # A name of the test's own: the dev server, and so the partner's workflow ID, is shared.
    suffix = uuid.uuid4().hex[:6]
    created = Command(
        ["providers", "create", "--name", f"Globex Fiber {suffix}"], tmp_path, variables
    )
    assert created.process.wait(START_TIMEOUT) == 0, created.output
    created.stop()
    provider_id = re.search(r"provider\s+(\S+)", created.output)
    key = re.search(r"API key\s+(\S+)", created.output)
    assert provider_id and key, created.output
    assert provider_id.group(1) == f"globex-fiber-{suffix}"

    with db.transaction() as session:
        add_reseller(session, "team-http")

    port = free_port()
    api = Command(["api", "--port", str(port)], tmp_path, variables)
    try:
        api.wait_for("Uvicorn running", START_TIMEOUT)
        # In threads: the worker runs on this test's event loop and must keep running.
        status, openapi = await asyncio.to_thread(_call, port, "/openapi.json")
        assert status == 200 and "/provider/partners/preferred" in openapi["paths"]
        assert (await asyncio.to_thread(_call, port, "/provider/partners"))[0] == 401
        status, ready = await asyncio.to_thread(_call, port, "/health/ready")
        assert status == 200 and ready["status"] == "ok", ready
        status, partner = await asyncio.to_thread(
            _call,
            port,
            "/provider/partners/preferred",
            key.group(1),
            # No orders yet: below the criteria, so enrolled as the provider's deliberate choice.
            {"resellerTeamId": "team-http", "override": True, "notes": "a new reseller we trust"},
        )
        assert status == 200, partner
        assert partner["providerId"] == provider_id.group(1)
        assert partner["status"] == "preferred"
    finally:
        assert api.stop(signal.SIGTERM) == 0, api.output


def test_the_api_refuses_a_taken_port(tmp_path: Path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        api = Command(["api", "--port", str(port)], tmp_path)
        code = api.process.wait(START_TIMEOUT)
        api.stop()
    assert code == 1
    assert f"port {port}" in api.output and "taken" in api.output
