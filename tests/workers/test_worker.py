"""The worker process: serves partner workflows, and stops cleanly on a signal."""

from __future__ import annotations

import asyncio
import signal
import uuid

import pytest
from pydantic import ValidationError

from clients.connection import TemporalUnreachable, connect_temporal
from clients.partners import PartnerPrograms
from devstack.demo_data import GOOD
from models.contract import MAX_CACHED_WORKFLOWS
from models.database import Database
from models.partner import EnrollmentRequest, PartnerStatus
from models.program import ProgramSettings
from runtime.settings import Settings
from store.database import open_database
from tests.helpers import Program
from tests.workers.processes import Command, free_port
from workers.worker import run_worker

pytestmark = pytest.mark.both_databases  # the worker opening and upgrading the database


def _settings(env, database_url: str) -> Settings:
    return Settings(
        PARTNERFLOW_DATABASE_URL=database_url,
        TEMPORAL_ADDRESS=env.client.service_client.config.target_host,
        PARTNERFLOW_TASK_QUEUE=f"partner-program-{uuid.uuid4().hex[:8]}",
    )


async def test_the_worker_serves_partners_until_stopped(env, tmp_path):
    url = f"sqlite:///{tmp_path / 'nested' / 'dir' / 'partnerflow.db'}"
    settings = _settings(env, url)
    db = open_database(url, upgrade=True)
    try:
        program = Program(db, env, ProgramSettings()).create()
        team = await program.add_reseller("team-a", GOOD)
        stop = asyncio.Event()
        worker = asyncio.create_task(run_worker(settings, stop))
        state = await PartnerPrograms(env.client, settings.task_queue).enroll(
            program.provider_id, team, EnrollmentRequest()
        )
        assert state.status is PartnerStatus.PREFERRED
        assert program.preferred_offer in program.visible_offers(team)
        stop.set()
        await asyncio.wait_for(worker, timeout=30)
    finally:
        db.engine.dispose()


def test_the_worker_process_stops_cleanly_on_sigterm(env, tmp_path):
    settings = _settings(env, f"sqlite:///{tmp_path / 'partnerflow.db'}")
    open_database(settings.database_url, upgrade=True).engine.dispose()
    worker = Command(
        ["worker"],
        cwd=tmp_path,
        env={
            "PARTNERFLOW_DATABASE_URL": settings.database_url,
            "TEMPORAL_ADDRESS": settings.temporal_address,
            "PARTNERFLOW_TASK_QUEUE": settings.task_queue,
            "PARTNERFLOW_MAX_CACHED_WORKFLOWS": "250",
        },
    )
    worker.wait_for("worker polling task queue", timeout=30)
    assert "keeping up to 250 workflows in memory" in worker.output
    assert worker.stop(signal.SIGTERM) == 0, worker.output
    assert "worker stopped" in worker.output
    assert (tmp_path / "partnerflow.db").exists()


def test_the_workflow_cache_is_a_setting_that_refuses_a_negative_size():
    assert Settings().max_cached_workflows == MAX_CACHED_WORKFLOWS
    with pytest.raises(ValidationError, match="PARTNERFLOW_MAX_CACHED_WORKFLOWS"):
        Settings(PARTNERFLOW_MAX_CACHED_WORKFLOWS=-1)


async def test_an_unreachable_temporal_says_what_to_do():
    settings = Settings(TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}")
    with pytest.raises(TemporalUnreachable, match="make run"):
        await connect_temporal(settings)


def test_open_database_with_upgrade_is_idempotent(tmp_path):
    url = f"sqlite:///{tmp_path / 'a' / 'partnerflow.db'}"
    for _ in range(2):
        db: Database = open_database(url, upgrade=True)
        db.engine.dispose()
    assert (tmp_path / "a" / "partnerflow.db").exists()
