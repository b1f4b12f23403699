"""How a request to a workflow fails in a way a person can read, whichever workflow it is."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from temporalio.client import WorkflowFailureError, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

R = TypeVar("R")
S = TypeVar("S")


class RequestRejected(Exception):
    """A workflow refused a request; the message says why."""


class WorkflowNotFound(LookupError):
    """No workflow runs under the ID the request named."""


def rejection_message(error: WorkflowUpdateFailedError | WorkflowFailureError) -> str:
    """The refusal the workflow gave, not the wrapper Temporal puts around it."""
    cause: BaseException | None = error.cause
    while cause is not None and not isinstance(cause, ApplicationError):
        cause = cause.__cause__
    return cause.message if cause is not None else str(error)


async def call_workflow(
    handle: WorkflowHandle[Any, Any],
    call: Callable[[WorkflowHandle[Any, Any]], Awaitable[R]],
    *,
    rejected: type[RequestRejected],
    not_found: Callable[[], WorkflowNotFound],
) -> R:
    try:
        return await call(handle)
    except WorkflowUpdateFailedError as error:
        raise rejected(rejection_message(error)) from error
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            raise not_found() from error
        raise


async def poll_until(
    fetch: Callable[[], Awaitable[S]],
    condition: Callable[[S], bool],
    *,
    timeout: float,
    interval: float = 0.05,
    describe: Callable[[S], str] = repr,
) -> S:
    """Fetch until `condition` holds: a signal has no reply to wait on.

    Raises TimeoutError, describing the last value seen, when `timeout` seconds pass first.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await fetch()
        if condition(value):
            return value
        if loop.time() > deadline:
            raise TimeoutError(f"{describe(value)} after {timeout:g} s")
        await asyncio.sleep(interval)
