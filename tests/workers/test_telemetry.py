"""A real worker process's Prometheus endpoint and JSON log lines, while it enrolls a partner."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from clients.partners import PartnerPrograms
from devstack.demo_data import GOOD
from devstack.dev_server import DevConfig
from models.contract import ActivityName, partner_workflow_id
from models.database import Database
from models.partner import EnrollmentRequest, PartnerStatus
from models.program import ProgramSettings
from tests.helpers import Program
from tests.workers.dev_temporal import dev_server_for_workers
from tests.workers.processes import Command, free_port

SCRAPE_TIMEOUT = 30


def _scrape(address: str) -> str:
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as response:
        assert response.status == 200
        assert response.headers["content-type"].startswith("text/plain")
        return str(response.read().decode())


def _samples(exposition: str, name: str) -> dict[str, float]:
    """The samples of one metric: its label set as written, and the value."""
    found = re.findall(rf"^{name}(\{{[^}}]*\}})? (\S+)$", exposition, flags=re.MULTILINE)
    return {labels: float(value) for labels, value in found}


async def _scrape_until(address: str, wanted: list[str]) -> str:
    """The exposition once every `wanted` metric has a sample: counters appear on first use."""
    deadline = asyncio.get_running_loop().time() + SCRAPE_TIMEOUT
    while True:
        exposition = await asyncio.to_thread(_scrape, address)
        missing = [name for name in wanted if not _samples(exposition, name)]
        if not missing:
            return exposition
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no {missing} after {SCRAPE_TIMEOUT} s:\n{exposition}")
        await asyncio.sleep(0.2)


def _json_lines(output: str) -> list[dict[str, Any]]:
    lines = [line for line in output.splitlines() if line.strip()]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            raise AssertionError(f"not a JSON line: {line!r}\n{output}") from None
    return parsed


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)  # telemetry is the same on both
async def test_the_worker_exports_metrics_and_logs_json_lines(
    db: Database, tmp_path: Path, dev_server_config: DevConfig
):
    metrics_address = f"127.0.0.1:{free_port()}"
    async with dev_server_for_workers(dev_server_config, db) as server:
        task_queue = server.task_queue
        program = Program(db, None, ProgramSettings()).create()
        team = await program.add_reseller("team-telemetry", GOOD)
        worker = Command(
            ["worker"],
            cwd=tmp_path,
            env={
                **server.environment,
                "PARTNERFLOW_METRICS_ADDRESS": metrics_address,
                "PARTNERFLOW_LOG_FORMAT": "json",
            },
        )
        try:
            worker.wait_for("worker polling task queue", timeout=30)
            state = await PartnerPrograms(server.client, task_queue).enroll(
                program.provider_id, team, EnrollmentRequest(requested_by="ops")
            )
            assert state.status is PartnerStatus.PREFERRED
            await program.sent(team, "welcome", timeout=30)
            exposition = await _scrape_until(
                metrics_address,
                [
                    "temporal_workflow_task_execution_latency_count",
                    "temporal_activity_execution_latency_count",
                    "partnerflow_partner_transitions",
                    "partnerflow_notifications_sent",
                ],
            )
        finally:
            assert worker.stop(signal.SIGTERM) == 0, worker.output

    assert _samples(exposition, "temporal_worker_task_slots_available")
    transitions = _samples(exposition, "partnerflow_partner_transitions")
    assert [
        value for labels, value in transitions.items() if 'to_status="preferred"' in labels
    ] == [1.0]
    sent = _samples(exposition, "partnerflow_notifications_sent")
    assert [value for labels, value in sent.items() if 'kind="welcome"' in labels] == [1.0]

    lines = _json_lines(worker.output)
    assert {"time", "level", "logger", "message"} <= set(lines[0])
    about_partner = [
        line
        for line in lines
        if line.get("workflow_id") == partner_workflow_id(program.provider_id, team)
    ]
    enrolled = next(
        line for line in about_partner if line.get("activity_type") == ActivityName.ENROLL_PARTNER
    )
    assert enrolled["provider_id"] == program.provider_id
    assert enrolled["reseller_team_id"] == team
    assert enrolled["workflow_type"] == "PartnerLifecycleWorkflow"
    assert enrolled["run_id"] and enrolled["activity_id"] and enrolled["attempt"] == 1
    assert "enrolled as silver" in enrolled["message"]
    assert "{" not in enrolled["message"]  # the details are fields, not appended to the message
    # A plain logger inside an activity gets the same fields from activity.info().
    welcome = next(line for line in about_partner if line["logger"] == "activities.notifications")
    assert welcome["activity_type"] == ActivityName.DELIVER_NOTIFICATION
    assert welcome["reseller_team_id"] == team
