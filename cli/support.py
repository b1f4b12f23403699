"""What every `partnerflow` command shares: its consoles, and failures turned into messages."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from models.wire import describe_errors
from runtime.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
    from temporalio.client import Client

    from models.database import Database

QUERY_TIMEOUT = timedelta(seconds=15)

console = Console()
errors = Console(stderr=True)

T = TypeVar("T")


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


class ListedKey(Protocol):
    """A provider's or a reseller's key, as `keys list` and `resellers keys` print it."""

    @property
    def id(self) -> int: ...
    @property
    def prefix(self) -> str: ...
    @property
    def label(self) -> str | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def last_used_at(self) -> datetime | None: ...
    @property
    def revoked_at(self) -> datetime | None: ...


def print_keys(title: str, keys: Sequence[ListedKey]) -> None:
    """The keys as a table (never the keys themselves), and how many are active."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in ("id", "prefix", "label", "created", "last used", "revoked"):
        table.add_column(column)
    for key in keys:
        table.add_row(
            str(key.id),
            key.prefix,
            key.label or "-",
            when(key.created_at),
            when(key.last_used_at),
            when(key.revoked_at),
        )
    console.print(table)
    active = sum(1 for key in keys if key.revoked_at is None)
    console.print(f"{len(keys)} key(s), {active} active")


def fail(message: str) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code=1)


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine, turning the failures a user can fix into a message and exit 1."""
    try:
        return asyncio.run(main)
    except Exception as error:
        message = user_message(error)
        if message is None:
            raise
    finally:
        # A Temporal client left for the interpreter's final teardown can crash the process
        # (SIGSEGV/SIGABRT in the SDK's bridge, temporalio/sdk-python#300): collect it now.
        gc.collect()
    raise fail(message)


def user_message(error: Exception) -> str | None:
    """What to tell the user of a failure they can fix, or None for a bug.

    The failures' modules are imported here, once one has happened, so that a command
    loads only what it uses.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from clients.connection import TemporalUnreachable
    from clients.requests import RequestRejected, WorkflowNotFound
    from devstack.binaries import MissingBinary
    from devstack.dev_server import DevServerError
    from migrations.runner import SchemaNotCurrent
    from runtime.ports import ApiPortTaken
    from runtime.telemetry import MetricsUnavailable
    from store.secret_box import SecretKeyError

    told = (
        TemporalUnreachable,
        DevServerError,
        MissingBinary,
        WorkflowNotFound,
        RequestRejected,
        ApiPortTaken,
        SchemaNotCurrent,
        MetricsUnavailable,
        SecretKeyError,
    )
    if isinstance(error, told):
        return str(error)
    if isinstance(error, ValidationError):
        return describe_errors(error.errors())
    if isinstance(error, SQLAlchemyError):
        return f"the program database failed: {error}"
    return None


@contextmanager
def program_db() -> Iterator[Database]:
    """PARTNERFLOW_DATABASE_URL, opened for transactions of the command's own; a refusal or a
    database failure exits 1 with its message."""
    from sqlalchemy.exc import SQLAlchemyError

    from migrations.runner import SchemaNotCurrent
    from services.errors import ConflictError, InputError, NotFoundError
    from store.database import display_url, open_database
    from store.secret_box import SecretKeyError

    url = Settings().database_url
    try:
        db = open_database(url)
    except SchemaNotCurrent as error:
        raise fail(str(error)) from None
    except SQLAlchemyError as error:
        raise fail(f"the program database at {display_url(url)} failed: {error}") from None
    try:
        yield db
    except (InputError, NotFoundError, ConflictError, SecretKeyError) as error:
        raise fail(str(error)) from None
    except SQLAlchemyError as error:
        raise fail(f"the program database at {display_url(url)} failed: {error}") from None
    finally:
        db.engine.dispose()


@contextmanager
def program_database() -> Iterator[Session]:
    """One transaction on PARTNERFLOW_DATABASE_URL; a refusal or a database failure exits 1
    with its message."""
    with program_db() as db, db.transaction() as session:
        yield session


def valid(build: Callable[[], T]) -> T:
    """A request model built from the options, or exit 1 saying which option is wrong."""
    try:
        return build()
    except ValidationError as error:
        raise fail(describe_errors(error.errors())) from None


async def ask(settings: Settings, call: Callable[[Client], Awaitable[T]]) -> T:
    """Call a workflow, saying what to do when no worker answers."""
    from clients.connection import TemporalUnreachable, connect_temporal

    client = await connect_temporal(settings)
    try:
        return await asyncio.wait_for(call(client), QUERY_TIMEOUT.total_seconds())
    except TimeoutError:
        raise TemporalUnreachable(
            f"no worker answered within {QUERY_TIMEOUT.seconds} s: is one running? "
            "Start it with `partnerflow worker`, or the whole stack with `make run`."
        ) from None
