"""`partnerflow db ...`: migrate the program database, and say where its schema stands."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from alembic.util import CommandError
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from cli.support import console, fail
from migrations.runner import (
    HEADS,
    SchemaNotCurrent,
    SchemaState,
    UpgradeResult,
    new_revision,
    schema_differences,
    schema_status,
    upgrade_database,
)
from models.database import make_engine
from runtime.settings import Settings
from store.database import display_url, make_sqlite_directory

db_app = typer.Typer(
    help="The program database: its schema migrations (Alembic).", no_args_is_help=True
)
T = TypeVar("T")


@contextmanager
def _engine() -> Iterator[Engine]:
    """PARTNERFLOW_DATABASE_URL's engine; a database failure exits 1 with its message."""
    url = Settings().database_url
    make_sqlite_directory(url)
    engine = make_engine(url)
    try:
        yield engine
    except (SQLAlchemyError, CommandError) as error:
        raise fail(f"the program database at {display_url(url)} failed: {error}") from None
    except SchemaNotCurrent as error:
        raise fail(str(error)) from None
    finally:
        engine.dispose()


def _with_engine(call: Callable[[Engine], T]) -> T:
    with _engine() as engine:
        return call(engine)


def _describe_upgrade(result: UpgradeResult) -> str:
    database = result.after.database
    now = ", ".join(result.after.revisions)
    created = ", ".join(result.created_tables)
    match result.before.state:
        case SchemaState.EMPTY:
            tables = len(result.created_tables)
            return f"Created the schema at {database}: {tables} tables, revision {now}."
        case SchemaState.UNVERSIONED:
            added = f"created {created}" if created else "nothing was missing"
            return (
                f"Adopted the database at {database}, made by a partnerflow before migrations: "
                f"its tables and rows kept, {added}; now at revision {now}."
            )
    before = ", ".join(result.before.revisions)
    if before == now:
        return f"The database at {database} is already at revision {now}: nothing to do."
    return f"Upgraded the database at {database} from revision {before} to {now}."


def _fail_on_differences(engine: Engine) -> None:
    differences = schema_differences(engine)
    if differences:
        listed = "\n  ".join(differences)
        database = engine.url.render_as_string(hide_password=True)
        raise fail(
            f"the tables at {database} differ from this partnerflow's "
            f"schema (models/schema.py):\n  {listed}\nSomething changed them outside the "
            "migrations: put them back by hand, or restore a backup."
        )


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[
        str, typer.Argument(help="The revision to migrate to (default: this code's head).")
    ] = HEADS,
) -> None:
    """Create or migrate the schema at PARTNERFLOW_DATABASE_URL to this version's.

    It creates the schema in an empty database, adopts one made before migrations
    (keeping its rows), or applies the revisions it lacks. Safe to run again.
    """

    def upgrade(engine: Engine) -> None:
        result = upgrade_database(engine, revision)
        console.print(_describe_upgrade(result), highlight=False, soft_wrap=True)
        if result.after.state is SchemaState.CURRENT:
            _fail_on_differences(engine)

    _with_engine(upgrade)


@db_app.command("init", hidden=True)
def db_init() -> None:
    """What `db upgrade` is now called."""
    db_upgrade(HEADS)


@db_app.command("current")
def db_current() -> None:
    """The database's schema revision, and this partnerflow's."""
    status = _with_engine(schema_status)
    console.print(f"database      {status.database}", highlight=False, soft_wrap=True)
    console.print(f"revision      {', '.join(status.revisions) or 'none'}", highlight=False)
    console.print(f"this version  {', '.join(status.heads)}", highlight=False)
    console.print(f"state         {status.state.value}", highlight=False)
    if status.problem:
        console.print(status.problem, highlight=False, soft_wrap=True)


@db_app.command("check")
def db_check() -> None:
    """Exit 1 unless the schema is this version's and its tables match the models.

    It says what differs, and what to run.
    """

    def check(engine: Engine) -> None:
        status = schema_status(engine)
        if status.problem:
            raise fail(status.problem)
        _fail_on_differences(engine)
        console.print(
            f"The database at {status.database} is at revision {', '.join(status.revisions)} "
            "and matches this partnerflow's schema.",
            highlight=False,
            soft_wrap=True,
        )

    _with_engine(check)


@db_app.command("revision")
def db_revision(
    message: Annotated[str, typer.Argument(help="What the change is, e.g. 'add offer tags'.")],
) -> None:
    """For developers: write a revision for what models/schema.py changed.

    Run in a checkout: the file goes into migrations/versions/. Review it before committing.
    """
    with tempfile.TemporaryDirectory() as scratch:
        try:
            path = new_revision(message, Path(scratch) / "head.db")
        except (SQLAlchemyError, CommandError) as error:
            raise fail(f"could not write the revision: {error}") from None
    console.print(f"Wrote {path}", highlight=False, soft_wrap=True)
