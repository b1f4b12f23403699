"""What Alembic runs for every command: partnerflow's metadata, on the caller's connection.

`migrations.runner` passes the connection in `config.attributes["connection"]`;
run any other way (say, Alembic's own CLI with a config of its own), the
database is PARTNERFLOW_DATABASE_URL's.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection, text

from migrations.runner import context_options, found_before_migrating
from models.database import make_engine
from runtime.settings import DEFAULT_DATABASE_URL

MIGRATION_LOCK = 7_120_815_022
"""A PostgreSQL advisory lock key: two `partnerflow db upgrade` at once take turns."""


def run_on(connection: Connection) -> None:
    context.configure(connection=connection, **context_options(connection))
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.config.attributes["found"] = found_before_migrating(connection)
        context.run_migrations()


def run() -> None:
    if context.is_offline_mode():
        raise SystemExit("partnerflow's migrations run against a database, not offline (--sql)")
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    engine = make_engine(os.environ.get("PARTNERFLOW_DATABASE_URL", DEFAULT_DATABASE_URL))
    try:
        with engine.connect() as connection:
            run_on(connection)
    finally:
        engine.dispose()


run()
