"""What every partnerflow workflow shares: how activities are called and how refusals look."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from models.contract import ActivityName

ACTIVITY_TIMEOUT = timedelta(seconds=30)
ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
)

T = TypeVar("T", bound=BaseModel)


class InvalidRequest(ApplicationError):
    """A provider request that does not fit the workflow's current state."""

    def __init__(self, message: str) -> None:
        super().__init__(message, type="InvalidRequest", non_retryable=True)


async def run_activity(
    name: ActivityName,
    arg: BaseModel,
    result_type: type[T] | None,
    *,
    summary: str,
    timeout: timedelta = ACTIVITY_TIMEOUT,
    heartbeat_timeout: timedelta | None = None,
) -> Any:
    """Run an activity by its contract name, retried with backoff, with a summary for the UI."""
    return await workflow.execute_activity(
        name,
        arg,
        result_type=result_type,
        start_to_close_timeout=timeout,
        heartbeat_timeout=heartbeat_timeout,
        retry_policy=ACTIVITY_RETRY,
        summary=summary,
    )
