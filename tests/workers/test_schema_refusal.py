"""The worker and the API refuse a database whose schema is not theirs, saying what to run;
the local stack migrates its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from migrations.runner import SchemaState, schema_status
from models.database import Database
from store.database import open_database
from tests.migrations.old_databases import made_before_migrations
from tests.workers.processes import Command, free_port

pytestmark = pytest.mark.both_databases  # the schema checks, which read each backend's catalog

EXIT_TIMEOUT = 30
COMMANDS = {
    "worker": ["worker"],
    "api": ["api", "--port", "0"],
}


def _refusal(command: list[str], database_url: str, cwd: Path) -> str:
    """What the process printed; it must exit 1 on its own, before reaching Temporal."""
    process = Command(
        command,
        cwd=cwd,
        env={
            "PARTNERFLOW_DATABASE_URL": database_url,
            "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        },
    )
    code = process.process.wait(EXIT_TIMEOUT)
    process.stop()
    assert code == 1, process.output
    return " ".join(process.output.split())


@pytest.fixture
def sqlite_url(empty_db: Database) -> str:
    if empty_db.engine.dialect.name != "sqlite":
        pytest.skip("the processes read the same message on PostgreSQL (tests/migrations)")
    return empty_db.engine.url.render_as_string(hide_password=False)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_database_without_schema_is_refused(name, sqlite_url, tmp_path):
    output = _refusal(COMMANDS[name], sqlite_url, tmp_path)
    assert "has no schema yet: run `partnerflow db upgrade`" in output
    assert "Traceback" not in output


def test_a_database_migrated_by_a_newer_partnerflow_is_refused(empty_db, sqlite_url, tmp_path):
    open_database(sqlite_url, upgrade=True).engine.dispose()
    with empty_db.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'ffff0000'"))
    output = _refusal(["worker"], sqlite_url, tmp_path)
    assert "is at schema revision ffff0000, which this partnerflow" in output
    assert "a newer partnerflow has migrated it" in output


def test_the_local_stack_adopts_its_old_database(empty_db, sqlite_url):
    made_before_migrations(empty_db)  # .partnerflow/partnerflow.db from partnerflow 0.1
    open_database(sqlite_url, upgrade=True).engine.dispose()
    assert schema_status(empty_db.engine).state is SchemaState.CURRENT
