"""What every partnerflow workflow shares: how activities are called and how refusals look."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar, overload

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from models.contract import Refusal

ACTIVITY_TIMEOUT = timedelta(seconds=30)
ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
)

OUTBOX_DELIVERY_TIMEOUT = timedelta(hours=2)
OUTBOX_HEARTBEAT_TIMEOUT = timedelta(minutes=2)
"""Delivering a batch of the outbox heartbeats before each message; one mail server exchange
may take 10 s a step."""

P = TypeVar("P")
R = TypeVar("R")


class InvalidRequest(ApplicationError):
    """A provider request that does not fit the workflow's current state."""

    def __init__(self, message: str, refusal: Refusal = Refusal.CONFLICT) -> None:
        super().__init__(message, type=refusal.value, non_retryable=True)


class InvalidInput(InvalidRequest):
    """A value in the request that is out of range for this workflow (a date, a count)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, Refusal.INPUT)


@overload
async def run_activity(
    activity: Callable[[Any, P], Awaitable[R]],
    arg: P,
    *,
    summary: str,
    timeout: timedelta = ACTIVITY_TIMEOUT,
    heartbeat_timeout: timedelta | None = None,
) -> R: ...


@overload
async def run_activity(
    activity: Callable[[Any, P], R],
    arg: P,
    *,
    summary: str,
    timeout: timedelta = ACTIVITY_TIMEOUT,
    heartbeat_timeout: timedelta | None = None,
) -> R: ...


async def run_activity(
    activity: Callable[[Any, P], Any],
    arg: P,
    *,
    summary: str,
    timeout: timedelta = ACTIVITY_TIMEOUT,
    heartbeat_timeout: timedelta | None = None,
) -> Any:
    """Run an activity method, retried with backoff, with a summary for the UI.

    `activity` is the method itself (`MetricsActivities.compute_partner_metrics`): the
    activity's name and its result type come from it, so mypy checks the argument and the
    result, and a reader can follow the call to the code that runs.
    """
    return await workflow.execute_activity_method(
        activity,
        arg,
        start_to_close_timeout=timeout,
        heartbeat_timeout=heartbeat_timeout,
        retry_policy=ACTIVITY_RETRY,
        summary=summary,
    )
