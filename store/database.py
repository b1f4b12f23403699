"""Opening the program database at this code's schema revision, and naming it safely."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy.engine import make_url

from migrations.runner import require_current_schema, upgrade_database
from models.database import Database

logger = logging.getLogger("partnerflow.database")


def display_url(url: str) -> str:
    """A database URL safe to print: the password masked."""
    return make_url(url).render_as_string(hide_password=True)


def make_sqlite_directory(url: str) -> None:
    """Create the directory an SQLite database file goes in; other URLs need nothing."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def open_database(url: str, *, upgrade: bool = False) -> Database:
    """The program database at this code's schema revision (an SQLite file's directory made).

    Without `upgrade`, a schema that is not current raises SchemaNotCurrent, which says to run
    `partnerflow db upgrade`; with it (the local stack's own SQLite file), it is migrated here.
    """
    make_sqlite_directory(url)
    db = Database.from_url(url)
    try:
        if upgrade:
            migrated = upgrade_database(db.engine)
            if migrated.before.revisions != migrated.after.revisions:
                logger.info(
                    "program database %s migrated from %s to %s",
                    display_url(url),
                    ", ".join(migrated.before.revisions) or migrated.before.state.value,
                    ", ".join(migrated.after.revisions),
                )
        else:
            require_current_schema(db.engine)
    except BaseException:
        db.engine.dispose()
        raise
    return db
