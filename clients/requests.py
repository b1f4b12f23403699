"""How a request to a workflow fails in a way a person can read, whichever workflow it is."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from temporalio.client import WorkflowFailureError, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from models.contract import Refusal

R = TypeVar("R")
S = TypeVar("S")


class RequestRejected(Exception):
    """A workflow refused a request; the message says why."""


class InputRejected(RequestRejected):
    """A workflow refused a value in the request as out of range; the message says which."""


_AS_INPUT: dict[type[RequestRejected], type[RequestRejected]] = {}


def _as_input(rejected: type[RequestRejected]) -> type[RequestRejected]:
    """`rejected` that is also an InputRejected: callers catching either still catch it."""
    if rejected not in _AS_INPUT:
        doc = {"__doc__": rejected.__doc__}
        _AS_INPUT[rejected] = type(rejected.__name__, (InputRejected, rejected), doc)
    return _AS_INPUT[rejected]


class WorkflowNotFound(LookupError):
    """No workflow runs under the ID the request named."""


def _refusal(error: WorkflowUpdateFailedError | WorkflowFailureError) -> ApplicationError | None:
    cause: BaseException | None = error.cause
    while cause is not None and not isinstance(cause, ApplicationError):
        cause = cause.__cause__
    return cause


def rejection_message(error: WorkflowUpdateFailedError | WorkflowFailureError) -> str:
    """The refusal the workflow gave, not the wrapper Temporal puts around it."""
    cause = _refusal(error)
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
        cause = _refusal(error)
        if cause is not None and cause.type == Refusal.INPUT:
            raise _as_input(rejected)(cause.message) from error
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
