"""What every `partnerflow` command shares: its consoles, and failures turned into messages."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from sqlalchemy.exc import SQLAlchemyError
from temporalio.client import Client

from api.errors import describe_errors
from workers.api_server import ApiPortTaken
from workers.binaries import MissingBinary
from workers.dev_server import DevServerError
from workers.settings import Settings
from workers.worker import TemporalUnreachable, connect_temporal
from workers.workflow_requests import RequestRejected, WorkflowNotFound

QUERY_TIMEOUT = timedelta(seconds=15)

console = Console()
errors = Console(stderr=True)

T = TypeVar("T")


def fail(message: str) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code=1)


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine, turning the failures a user can fix into a message and exit 1."""
    message: str
    try:
        return asyncio.run(main)
    except (
        TemporalUnreachable,
        DevServerError,
        MissingBinary,
        WorkflowNotFound,
        RequestRejected,
        ApiPortTaken,
    ) as error:
        message = str(error)
    except ValidationError as error:
        message = describe_errors(error.errors())
    except SQLAlchemyError as error:
        message = f"the program database failed: {error}"
    finally:
        # A Temporal client left for the interpreter's final teardown can crash the process
        # (SIGSEGV/SIGABRT in the SDK's bridge, temporalio/sdk-python#300): collect it now.
        gc.collect()
    raise fail(message)


def valid(build: Callable[[], T]) -> T:
    """A request model built from the options, or exit 1 saying which option is wrong."""
    try:
        return build()
    except ValidationError as error:
        raise fail(describe_errors(error.errors())) from None


async def ask(settings: Settings, call: Callable[[Client], Awaitable[T]]) -> T:
    """Call a workflow, saying what to do when no worker answers."""
    client = await connect_temporal(settings)
    try:
        return await asyncio.wait_for(call(client), QUERY_TIMEOUT.total_seconds())
    except TimeoutError:
        raise TemporalUnreachable(
            f"no worker answered within {QUERY_TIMEOUT.seconds} s: is one running? "
            "Start it with `partnerflow worker`, or the whole stack with `make run`."
        ) from None
