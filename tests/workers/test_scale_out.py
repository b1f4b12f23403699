"""Two worker processes on one task queue share a program review's work between them."""

from __future__ import annotations

import asyncio
import re
import signal
from collections import Counter
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from clients.partners import PartnerPrograms
from clients.reviews import Reviews
from devstack.demo_data import OrderProfile
from devstack.dev_server import DevConfig
from models.contract import partner_workflow_id
from models.database import Database
from models.partner import PartnerStatus
from models.program import ProgramSettings
from models.review import ReviewCadence, ReviewRequest
from tests.helpers import Program
from tests.workers.dev_temporal import dev_server_for_workers
from tests.workers.processes import Command

pytestmark = pytest.mark.both_databases  # two workers writing at once: locking differs by backend

CANDIDATES = 16
# Well clear of every bronze-to-silver criterion, so that each reseller is a new candidate
# whatever the random orders; short of gold's 50 orders a month.
CLEAR = OrderProfile(orders_per_month=24, acceptance=1.0, completion=1.0, rating=4.9)
WORKERS = 2
IDENTITY = re.compile(r"worker polling task queue .* as (\S+), database")


async def _who_did_what(client: Client, workflow_ids: list[str]) -> Counter[str]:
    """How many workflow tasks and activity tasks each worker identity ran, over the histories."""
    done: Counter[str] = Counter()
    for workflow_id in workflow_ids:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                done[event.workflow_task_completed_event_attributes.identity] += 1
            elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                done[event.activity_task_started_event_attributes.identity] += 1
    return done


async def test_two_worker_processes_split_a_review(
    db: Database, tmp_path: Path, dev_server_config: DevConfig
):
    async with dev_server_for_workers(dev_server_config, db) as server:
        program = Program(db, None, ProgramSettings()).create()
        for n in range(CANDIDATES):
            await program.add_reseller(f"team-{n:03d}", CLEAR, days=150)
        task_queue = server.task_queue
        workers = [
            Command(["worker"], cwd=tmp_path, env=server.environment) for _ in range(WORKERS)
        ]
        try:
            identities = []
            for worker in workers:
                worker.wait_for("worker polling task queue", timeout=60)
                found = IDENTITY.search(worker.output)
                assert found, worker.output
                identities.append(found.group(1))
            assert len(set(identities)) == WORKERS

            handle = await Reviews(server.client, task_queue).start(
                ReviewRequest(provider_id=program.provider_id, cadence=ReviewCadence.MONTHLY)
            )
            outcome = await asyncio.wait_for(handle.result(), timeout=120)
            assert outcome is not None
            assert outcome.assessment.standings["new_candidate"] == CANDIDATES
            assert outcome.fan_out.nominated == CANDIDATES

            teams = [f"team-{n:03d}" for n in range(CANDIDATES)]
            programs = PartnerPrograms(server.client, task_queue)
            for team in teams:
                state = await programs.wait_for(
                    program.provider_id, team, lambda s: s.nominated, timeout=60
                )
                assert state.status is PartnerStatus.CANDIDATE
                assert len(await program.sent(team, "candidate_notice", timeout=60)) == 1

            partners = [partner_workflow_id(program.provider_id, team) for team in teams]
            done = await _who_did_what(server.client, [handle.id, *partners])
        finally:
            for worker in workers:
                assert worker.stop(signal.SIGTERM) == 0, worker.output

    assert set(done) == set(identities), done
    assert all(done[identity] > 0 for identity in identities), done
