"""Messages on their way: delivered apart from the state changes that caused them.

A workflow records each message in the outbox (quick, the database only) and
awaits that; the delivery through the provider's channel, which may be down
for hours, runs as its own activity that the workflow starts and does not
await, so no state change waits on a mail server. A workflow hands the
deliveries still unfinished to its next run on continue-as-new; one that
closes lets them finish for a while, then hands the rest to a
MessageDeliveryWorkflow each, so that neither the run nor a new enrollment of
the partner waits days for a channel that is down.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ActivityError, ApplicationError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

from workflows.common import OUTBOX_DELIVERY_TIMEOUT, OUTBOX_HEARTBEAT_TIMEOUT, run_activity
from workflows.patches import PATCH_DELIVERY_APART, PATCH_HANDED_OVER_ON_CLOSE

with workflow.unsafe.imports_passed_through():
    from activities.notifications import NotificationActivities
    from models.contract import MESSAGE_DELIVERY_WORKFLOW, delivery_workflow_id
    from models.delivery import (
        DeliveryOutcome,
        DeliveryRequest,
        MessageDeliveryInput,
        OutboxBatch,
        OutboxDelivered,
        OutboxStatus,
    )
    from models.notifications import NotificationRequest
    from models.search_attributes import PROVIDER_ID, RESELLER_TEAM_ID
    from models.summaries import notification_summary, one_line

DELIVERY_TIMEOUT = timedelta(seconds=30)
"""One try: connecting and handing the message over (each exchange times out after 10 s)."""
DELIVERY_HEARTBEAT_TIMEOUT = timedelta(seconds=10)
"""A try heartbeats while it waits on the channel: one whose worker died is tried again after
this, not after the whole DELIVERY_TIMEOUT."""
DELIVERY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
)
"""A channel that is down is tried again and again, at most 5 minutes apart, until the
delivery gives up two days after the message was recorded (a bounce is not retried)."""
HAND_OVER_AFTER = timedelta(minutes=5)
"""How long a run about to continue as new, or to close, lets its deliveries finish before it
hands the rest on."""


def event_of(key: str) -> str:
    """The event an idempotency key ends with (`welcome`, `removed`, ...), for summaries."""
    return key.rsplit("/", 1)[-1]


async def deliver(key: str, summary: str) -> DeliveryOutcome:
    """Deliver the recorded message with this key through the provider's channel, retried
    while the channel is down; bounced or failed for good is an outcome, not an error."""
    try:
        receipt = await workflow.execute_activity_method(
            NotificationActivities.deliver_notification,
            DeliveryRequest(idempotency_key=key),
            start_to_close_timeout=DELIVERY_TIMEOUT,
            heartbeat_timeout=DELIVERY_HEARTBEAT_TIMEOUT,
            retry_policy=DELIVERY_RETRY,
            summary=summary,
        )
    except ActivityError as error:
        # Bounced or failed for good: the outbox row says why, and the provider sees it.
        cause = error.cause
        status, reason = OutboxStatus.FAILED, str(cause)
        if isinstance(cause, ApplicationError):
            reason = cause.message
            if cause.details:
                status = OutboxStatus(cause.details[0])
        return DeliveryOutcome(idempotency_key=key, status=status, reason=reason)
    return DeliveryOutcome(idempotency_key=key, status=OutboxStatus(receipt.status))


class Deliveries:
    """The deliveries a workflow run has started and not yet seen finish, by outbox key."""

    def __init__(self) -> None:
        self._pending: list[str] = []
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def pending(self) -> list[str]:
        """Keys still being delivered, oldest first: what the next run must deliver."""
        return list(self._pending)

    def all_done(self) -> bool:
        return not self._pending

    async def send(self, request: NotificationRequest) -> None:
        """Put the message in the outbox and deliver it on the side; runs from before the patch
        record and deliver in one activity that the workflow awaits."""
        told = notification_summary(request)
        if not workflow.patched(PATCH_DELIVERY_APART):
            await run_activity(NotificationActivities.send_notification, request, summary=told)
            return
        await run_activity(
            NotificationActivities.record_notification, request, summary=one_line(f"outbox: {told}")
        )
        self.start_message(request)

    def start_message(self, request: NotificationRequest) -> None:
        """Deliver this message, already in the outbox, without waiting for it; the delivery's
        summary says what it tells."""
        self.start(request.idempotency_key, one_line(f"deliver: {notification_summary(request)}"))

    def start(self, key: str, summary: str) -> None:
        """Deliver the recorded message with this key, without waiting for it."""
        self._pending.append(key)
        task = asyncio.create_task(self._deliver(key, summary))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self, before: str = "continuing as new") -> None:
        """Let the deliveries under way finish, for a while: a run that continues as new with
        deliveries in flight abandons them (the next run starts them again)."""
        if self._pending:
            try:
                await workflow.wait_condition(
                    self.all_done,
                    timeout=HAND_OVER_AFTER,
                    timeout_summary=f"deliveries under way, before {before}",
                )
            except TimeoutError:
                pass

    async def close(self) -> None:
        """Before the run ends: the deliveries under way get a while to finish, and each one
        left goes on in a MessageDeliveryWorkflow of its own, which outlives the run."""
        if not workflow.patched(PATCH_HANDED_OVER_ON_CLOSE):
            await workflow.wait_condition(self.all_done)
            return
        await self.settle("closing")
        for key in self.pending:
            await self._hand_over(key)

    def resume(self, keys: Iterable[str]) -> None:
        """Deliver what an earlier run of this workflow had not finished delivering."""
        for key in keys:
            self.start(key, f"deliver {event_of(key)} (carried over)")

    async def _deliver(self, key: str, summary: str) -> None:
        try:
            outcome = await deliver(key, summary)
            if outcome.status is not OutboxStatus.SENT:
                workflow.logger.warning("message %s was not delivered: %s", key, outcome.reason)
        finally:
            self._pending.remove(key)

    async def _hand_over(self, key: str) -> None:
        info = workflow.info()
        pairs = [
            SearchAttributePair(attribute, value)
            for attribute in (PROVIDER_ID, RESELLER_TEAM_ID)
            if (value := info.typed_search_attributes.get(attribute)) is not None
        ]
        try:
            await workflow.start_child_workflow(
                MESSAGE_DELIVERY_WORKFLOW,
                MessageDeliveryInput(idempotency_key=key),
                id=delivery_workflow_id(key),
                result_type=DeliveryOutcome,
                parent_close_policy=ParentClosePolicy.ABANDON,
                search_attributes=TypedSearchAttributes(pairs),
                static_summary=one_line(
                    f"deliver {event_of(key)} (handed over by {info.workflow_id})"
                ),
            )
        except WorkflowAlreadyStartedError:
            pass  # its delivery already goes on on its own


async def deliver_batches(
    provider_id: str, prefixes: dict[str, str], what: str
) -> list[OutboxDelivered]:
    """Deliver the outbox's messages under each prefix (batch → key prefix), the batches side
    by side, each through the outbox's own delivery (retries, bounces, the two-day limit)."""
    return list(
        await asyncio.gather(
            *(
                workflow.execute_activity_method(
                    NotificationActivities.deliver_outbox,
                    OutboxBatch(provider_id=provider_id, key_prefix=prefix),
                    start_to_close_timeout=OUTBOX_DELIVERY_TIMEOUT,
                    heartbeat_timeout=OUTBOX_HEARTBEAT_TIMEOUT,
                    retry_policy=DELIVERY_RETRY,
                    summary=f"deliver batch {batch} of {what}",
                )
                for batch, prefix in prefixes.items()
            )
        )
    )
