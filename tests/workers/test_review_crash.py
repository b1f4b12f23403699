"""A worker process killed in the middle of a review's fan-out: the next one finishes it."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from clients.partners import PartnerPrograms
from clients.reviews import Reviews
from devstack.demo_data import GOOD
from models.database import Database
from models.partner import PartnerStatus
from models.program import ProgramSettings
from models.review import ReviewCadence, ReviewRequest
from models.schema import ReviewSnapshot
from tests.helpers import Program
from tests.workers.dev_temporal import WorkerServer, dev_server_for_workers
from tests.workers.processes import Command

CANDIDATES = 40


def _signalled(program: Program) -> int:
    with program.db.transaction() as session:
        return int(
            session.scalar(select(func.count()).where(ReviewSnapshot.signalled_at.is_not(None)))
            or 0
        )


def _nominated(program: Program) -> list[str]:
    with program.db.transaction() as session:
        return list(
            session.scalars(
                select(ReviewSnapshot.reseller_team_id).where(
                    ReviewSnapshot.standing == "new_candidate"
                )
            )
        )


@pytest.mark.both_databases  # what a killed worker's open transaction leaves differs by backend
async def test_a_worker_killed_during_the_fan_out_leaves_no_partner_behind_or_twice(
    db, tmp_path, dev_server_config
):
    # The dev server rather than the time-skipping one, which never times out the heartbeat
    # of the killed worker's activity while the test waits.
    async with dev_server_for_workers(dev_server_config, db) as server:
        await _kill_and_resume(server, db, tmp_path)


async def _kill_and_resume(server: WorkerServer, db: Database, tmp_path: Path) -> None:
    program = Program(db, None, ProgramSettings()).create()
    for n in range(CANDIDATES):
        await program.add_reseller(f"team-{n:03d}", GOOD, days=150)
    client, task_queue, config = server.client, server.task_queue, server.environment
    first = Command(["worker"], cwd=tmp_path, env=config)
    first.wait_for("worker polling task queue", timeout=30)
    reviews = Reviews(client, task_queue)
    request = ReviewRequest(
        provider_id=program.provider_id, cadence=ReviewCadence.MONTHLY, batch_size=1
    )
    handle = await reviews.start(request)

    while _signalled(program) < 3:
        await asyncio.sleep(0.005)
    first.stop(signal.SIGKILL)
    killed_after = _signalled(program)
    assert killed_after < len(_nominated(program)), "the fan-out ended before the kill"

    second = Command(["worker"], cwd=tmp_path, env=config)
    try:
        second.wait_for("worker polling task queue", timeout=30)
        outcome = await handle.result()  # after the killed try's heartbeat timed out
        assert outcome is not None
        woken = outcome.assessment.standings["new_candidate"]
        assert woken > killed_after
        assert outcome.fan_out.resumed_after == killed_after
        assert outcome.fan_out.nominated == woken - killed_after
        assert _signalled(program) == woken

        programs = PartnerPrograms(client, task_queue)
        for team in _nominated(program):
            state = await programs.wait_for(
                program.provider_id, team, lambda s: s.nominated, timeout=30
            )
            assert state.status is PartnerStatus.CANDIDATE
            assert len(await program.sent(team, "candidate_notice", timeout=30)) == 1
    finally:
        second.stop()
