"""Databases as partnerflow left them before migrations existed, to test their adoption."""

from __future__ import annotations

from sqlalchemy import inspect, text

from migrations.runner import upgrade_database
from models.database import Database
from models.schema import Provider

BASELINE = "0001"
"""The revision whose schema is that of the last partnerflow without migrations."""


def made_before_migrations(db: Database, *, lacking: tuple[str, ...] = ()) -> set[str]:
    """The schema `create_all` made before migrations (the baseline's, which the tests show to
    be the same), without Alembic's version table, without the tables `lacking` (dropped in
    that order), and with a provider row. Returns the tables it has."""
    upgrade_database(db.engine, BASELINE)
    with db.engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))
        for table in lacking:
            connection.execute(text(f"DROP TABLE {table}"))
    with db.transaction() as session:
        session.add(Provider(id="acme", name="Acme Fiber", program={}))
    return set(inspect(db.engine).get_table_names())
