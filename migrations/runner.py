"""Bringing a program database up to date, and telling where one stands against this code.

Every process that opens the database asks `require_current_schema` first:
a database behind the code, ahead of it, or made before migrations existed is
refused with a message that says what to run. `partnerflow db upgrade` (and
`partnerflow dev`, for its own SQLite file) calls `upgrade_database`.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from pydantic import BaseModel
from sqlalchemy import Connection, Engine, inspect

from models.database import make_engine
from models.schema import Base
from models.sql_types import UTCDateTime

SCRIPT_LOCATION = Path(__file__).resolve().parent
UPGRADE_COMMAND = "partnerflow db upgrade"
HEADS = "heads"


class SchemaState(StrEnum):
    CURRENT = "current"
    EMPTY = "empty"
    """No partnerflow table at all: a new database."""
    UNVERSIONED = "unversioned"
    """partnerflow's tables without Alembic's version table: made by `create_all` before
    migrations existed (partnerflow 0.1's `db init`, `partnerflow dev`, the worker)."""
    BEHIND = "behind"
    UNKNOWN = "unknown"
    """At a revision this code does not have: migrated by a newer partnerflow."""


class SchemaNotCurrent(Exception):
    """The database's schema is not the one this code runs on; the message says what to do."""


class SchemaStatus(BaseModel):
    """Where one database stands against the migrations shipped with this code."""

    database: str
    state: SchemaState
    revisions: list[str]
    heads: list[str]

    @property
    def problem(self) -> str | None:
        """What is wrong and what to run, or None when the schema is current."""
        at = ", ".join(self.revisions)
        needed = ", ".join(self.heads)
        match self.state:
            case SchemaState.CURRENT:
                return None
            case SchemaState.EMPTY:
                return (
                    f"the program database at {self.database} has no schema yet: "
                    f"run `{UPGRADE_COMMAND}` (with the same PARTNERFLOW_DATABASE_URL) to create it"
                )
            case SchemaState.UNVERSIONED:
                return (
                    f"the program database at {self.database} was created by an earlier "
                    "partnerflow, before schema migrations: run "
                    f"`{UPGRADE_COMMAND}` (with the same PARTNERFLOW_DATABASE_URL), which keeps "
                    "its data, adds what it lacks and records its revision"
                )
            case SchemaState.BEHIND:
                return (
                    f"the program database at {self.database} is at schema revision {at}, and "
                    f"this partnerflow needs {needed}: run `{UPGRADE_COMMAND}` (with the same "
                    "PARTNERFLOW_DATABASE_URL), then start this again"
                )
            case SchemaState.UNKNOWN:
                return (
                    f"the program database at {self.database} is at schema revision {at}, which "
                    f"this partnerflow (at {needed}) does not know: a newer partnerflow has "
                    "migrated it. Run that newer version against it; this one cannot"
                )


class UpgradeResult(BaseModel):
    before: SchemaStatus
    after: SchemaStatus
    created_tables: list[str]


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Revisions spell UTCDateTime as the column it makes, so that they never import the models."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def context_options(connection: Connection) -> dict[str, Any]:
    """How Alembic compares and renders, the same for migrating, checking and new revisions."""
    return {
        "target_metadata": Base.metadata,
        # SQLite alters a table by copying it: batch mode does that for every op.alter_*.
        "render_as_batch": connection.dialect.name == "sqlite",
        "compare_type": True,
        "render_item": render_item,
    }


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration built in code: no alembic.ini, wherever the package is installed."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def code_heads() -> list[str]:
    """The head revision(s) of the migrations this code ships."""
    return sorted(ScriptDirectory.from_config(alembic_config()).get_heads())


def _display(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _partnerflow_tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) & set(Base.metadata.tables)


def found_before_migrating(connection: Connection) -> tuple[list[str], set[str]]:
    """The database's recorded revision(s), and partnerflow's tables in it."""
    revisions = sorted(MigrationContext.configure(connection).get_current_heads())
    return revisions, _partnerflow_tables(connection)


def _status(engine: Engine, revisions: list[str], tables: set[str]) -> SchemaStatus:
    scripts = ScriptDirectory.from_config(alembic_config())
    heads = sorted(scripts.get_heads())
    known = {script.revision for script in scripts.walk_revisions()}
    if not revisions:
        state = SchemaState.UNVERSIONED if tables else SchemaState.EMPTY
    elif revisions == heads:
        state = SchemaState.CURRENT
    elif all(revision in known for revision in revisions):
        state = SchemaState.BEHIND
    else:
        state = SchemaState.UNKNOWN
    return SchemaStatus(database=_display(engine), state=state, revisions=revisions, heads=heads)


def schema_status(engine: Engine) -> SchemaStatus:
    """Compare the database's recorded revision(s) with this code's head(s)."""
    with engine.connect() as connection:
        revisions, tables = found_before_migrating(connection)
    return _status(engine, revisions, tables)


def require_current_schema(engine: Engine) -> None:
    """Raise SchemaNotCurrent, saying what to run, unless the schema is at this code's head."""
    problem = schema_status(engine).problem
    if problem is not None:
        raise SchemaNotCurrent(problem)


def upgrade_database(engine: Engine, revision: str = HEADS) -> UpgradeResult:
    """Migrate to `revision` (the head by default); a database made before migrations is adopted.

    Adoption needs nothing special: the baseline revision creates only the tables and
    indexes that are missing, so an old database keeps its rows and gains what it lacks.
    """
    found = schema_status(engine)
    if found.state is SchemaState.UNKNOWN:
        raise SchemaNotCurrent(found.problem)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite's batch mode copies and drops tables: foreign keys are checked afterwards.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
        config = alembic_config(connection)
        with connection.begin():
            command.upgrade(config, revision)
        # What env.py found once it held the migration lock: another upgrade may have run first.
        revisions_before, tables_before = config.attributes["found"]
        before = _status(engine, revisions_before, tables_before)
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
            if broken:
                raise SchemaNotCurrent(
                    f"the migration left rows with broken foreign keys: {broken}"
                )
        created = sorted(_partnerflow_tables(connection) - tables_before)
    return UpgradeResult(before=before, after=schema_status(engine), created_tables=created)


def _describe(diff: Any) -> str:
    """One line for one of compare_metadata's differences."""
    if isinstance(diff, list):  # column modifications come grouped
        return "; ".join(_describe(item) for item in diff)
    kind, *rest = diff
    match kind:
        case "add_table" | "remove_table":
            return f"{kind} {rest[0].name}"
        case "add_column" | "remove_column":
            return f"{kind} {rest[1]}.{rest[2].name}"
        case "add_index" | "remove_index" | "add_constraint" | "remove_constraint":
            item = rest[0]
            return f"{kind} {item.name} on {item.table.name}"
        case "add_fk" | "remove_fk":
            fk = rest[0]
            return f"{kind} {fk.parent.name} ({', '.join(c.name for c in fk.columns)})"
        case _:
            if kind.startswith("modify_"):
                table, column = rest[1], rest[2]
                return f"{kind} {table}.{column}: {rest[-2]!r} -> {rest[-1]!r}"
            return " ".join(str(part) for part in diff)


def schema_differences(engine: Engine) -> list[str]:
    """How the database's tables differ from models/schema.py's, as autogenerate sees it."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts=context_options(connection))
        return [_describe(diff) for diff in compare_metadata(context, Base.metadata)]


def new_revision(message: str, scratch: Path) -> Path:
    """Autogenerate a revision from models/schema.py against a scratch SQLite database at head.

    For developers, in a checkout: the file is written into migrations/versions/.
    """
    engine = make_engine(f"sqlite:///{scratch}")
    try:
        upgrade_database(engine)
        with engine.connect() as connection:
            config = alembic_config(connection)
            number = len(list(ScriptDirectory.from_config(config).walk_revisions())) + 1
            script = command.revision(
                config, message=message, autogenerate=True, rev_id=f"{number:04d}"
            )
    finally:
        engine.dispose()
    if script is None or isinstance(script, list):
        raise RuntimeError("Alembic wrote no single revision")
    return Path(script.path)
