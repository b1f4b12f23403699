"""Program reviews from outside: run one now, and the Temporal Schedules that run them on time."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleHandle,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
)
from temporalio.common import (
    Priority,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from clients.requests import RequestRejected, rejection_message
from models.contract import REVIEW_WORKFLOW, TASK_QUEUE
from models.review import (
    ReviewCadence,
    ReviewOutcome,
    ReviewRequest,
    resolve_period,
    review_details,
    review_id,
    review_summary,
)
from models.search_attributes import PROVIDER_ID

CRON = {
    # 02:00 UTC on the first day of each month, of each quarter: the period has just ended.
    ReviewCadence.MONTHLY: "0 2 1 * *",
    ReviewCadence.QUARTERLY: "0 3 1 1,4,7,10 *",
}
CATCHUP_WINDOW = timedelta(days=7)
"""A review missed while the cluster was down still runs if it comes back within a week."""

REVIEW_PRIORITY = Priority(priority_key=1)
"""Ahead of the default 3: a review's own tasks, which its child and activities inherit, do not
queue behind the work of the thousands of partners its fan-out has just woken."""


def _keeping_state(wanted: Schedule, found: ScheduleUpdateInput) -> ScheduleUpdate:
    """`wanted`, paused or not and with the note as the Schedule in place has them."""
    return ScheduleUpdate(schedule=replace(wanted, state=found.description.schedule.state))


class ReviewRejected(RequestRejected):
    """The review could not run; the message says why."""


def schedule_id(provider_id: str, cadence: ReviewCadence) -> str:
    return f"review-schedule/{provider_id}/{cadence.value}"


class Reviews:
    """Start program reviews and keep each provider's review Schedules in place."""

    def __init__(self, client: Client, task_queue: str = TASK_QUEUE) -> None:
        self.client = client
        self.task_queue = task_queue

    async def start(
        self, request: ReviewRequest, now: datetime | None = None
    ) -> WorkflowHandle[Any, ReviewOutcome | None]:
        """Start the review of `request`'s period (by default the last one ended).

        A period already reviewed, or under review, is not started again: the
        handle is that review's.
        """
        try:
            period = resolve_period(request, now or datetime.now(UTC))
        except ValueError as error:
            raise ReviewRejected(str(error)) from error
        rid = review_id(request.provider_id, period)
        try:
            return await self.client.start_workflow(
                REVIEW_WORKFLOW,
                request.model_copy(update={"period": period.label}),
                result_type=ReviewOutcome | None,  # type: ignore[arg-type]
                id=rid,
                task_queue=self.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                search_attributes=TypedSearchAttributes(
                    [SearchAttributePair(PROVIDER_ID, request.provider_id)]
                ),
                static_summary=review_summary(request.provider_id, period),
                priority=REVIEW_PRIORITY,
                static_details=review_details(request.provider_id, period),
            )
        except WorkflowAlreadyStartedError:
            return self.client.get_workflow_handle(
                rid,
                result_type=ReviewOutcome | None,  # type: ignore[arg-type]
            )

    async def status(self, workflow_id: str) -> WorkflowExecutionStatus | None:
        """Whether the review's workflow runs, completed or stopped; None if it never started."""
        try:
            return (await self.client.get_workflow_handle(workflow_id).describe()).status
        except RPCError as error:
            if error.status is RPCStatusCode.NOT_FOUND:
                return None
            raise

    async def run(self, request: ReviewRequest, now: datetime | None = None) -> ReviewOutcome:
        """Run the review to its end and return what it did."""
        handle = await self.start(request, now)
        try:
            outcome = await handle.result()
        except WorkflowFailureError as error:
            raise ReviewRejected(rejection_message(error)) from error
        assert outcome is not None  # only a Schedule's run returns None
        return outcome

    async def ensure_schedules(self, provider_id: str) -> list[str]:
        """Create the provider's monthly and quarterly review Schedules where missing.

        Existing ones get this version's calendar, action and policy, and keep their
        state, paused or not, with its note: an operator may have paused them in the
        Temporal UI. Returns the IDs of those created.
        """
        created = []
        for cadence in ReviewCadence:
            wanted = self._schedule(provider_id, cadence)
            try:
                await self.client.create_schedule(schedule_id(provider_id, cadence), wanted)
            except ScheduleAlreadyRunningError:
                await self.schedule(provider_id, cadence).update(partial(_keeping_state, wanted))
                continue
            created.append(schedule_id(provider_id, cadence))
        return created

    def schedule(self, provider_id: str, cadence: ReviewCadence) -> ScheduleHandle:
        return self.client.get_schedule_handle(schedule_id(provider_id, cadence))

    def _schedule(self, provider_id: str, cadence: ReviewCadence) -> Schedule:
        return Schedule(
            action=ScheduleActionStartWorkflow(
                REVIEW_WORKFLOW,
                ReviewRequest(provider_id=provider_id, cadence=cadence),
                # The server appends the scheduled time; that run starts the period's
                # review under review/{provider}/{cadence}/{period}.
                id=f"review/{provider_id}/{cadence.value}",
                task_queue=self.task_queue,
                typed_search_attributes=TypedSearchAttributes(
                    [SearchAttributePair(PROVIDER_ID, provider_id)]
                ),
                static_summary=f"Start the {cadence.value} review of provider {provider_id}",
                priority=REVIEW_PRIORITY,
                static_details=f"Run by the Schedule {schedule_id(provider_id, cadence)}: works "
                f"out the {cadence.value} period that has just ended and reviews it as the child "
                f"review/{provider_id}/{cadence.value}/{{period}}, once per period. Pause the "
                "Schedule on the UI's Schedules page.",
            ),
            spec=ScheduleSpec(cron_expressions=[CRON[cadence]]),
            policy=SchedulePolicy(catchup_window=CATCHUP_WINDOW),
            state=ScheduleState(
                note=f"{cadence.value.capitalize()} program review of provider {provider_id}"
            ),
        )
