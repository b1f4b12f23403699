"""One announcement, under `announcement/{provider_id}/{announcement_id}`:

1. wait: a durable timer until the announcement's time (none if it is due);
2. record: one message per partner of the audience in the outbox, in one activity that
   resolves the audience in SQL and inserts in bulk, each key at most once;
3. deliver: the outbox's own delivery of those messages (retries, bounces and the two-day
   limit as for every message), in batches side by side;
4. settle: the announcement is marked sent.

Cancelling the workflow while it waits (`DELETE /provider/announcements/{id}` marks the row
cancelled first, then cancels it) ends it with nothing sent; the record step would find the
row cancelled anyway. Its payloads are IDs and counts: the audience and the text stay in the
database.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow

from workflows.common import run_activity
from workflows.deliveries import deliver_batches

with workflow.unsafe.imports_passed_through():
    from activities.announcements import AnnouncementActivities
    from models.announcement import (
        AnnouncementOutcome,
        AnnouncementRef,
        AnnouncementStart,
        AnnouncementStatus,
        announcement_summary,
        batch_prefix,
    )
    from models.contract import ANNOUNCEMENT_WORKFLOW

RECORD_TIMEOUT = timedelta(minutes=30)
RECORD_HEARTBEAT_TIMEOUT = timedelta(seconds=30)
"""Recording heartbeats before each chunk of recipients."""


@workflow.defn(name=ANNOUNCEMENT_WORKFLOW)
class AnnouncementWorkflow:
    @workflow.run
    async def run(self, start: AnnouncementStart) -> AnnouncementOutcome:
        ref = AnnouncementRef(provider_id=start.provider_id, announcement_id=start.announcement_id)
        self._summary = announcement_summary(
            start.provider_id, start.announcement_id, start.send_at
        )
        wait = start.send_at - workflow.now()
        if wait > timedelta(0):
            self._stage("scheduled")
            try:
                await workflow.sleep(wait, summary=f"until {start.send_at:%Y-%m-%d %H:%M} UTC")
            except asyncio.CancelledError:
                return await self._cancelled(ref)
        self._stage("recording a message for each recipient")
        recorded = await run_activity(
            AnnouncementActivities.record_announcement,
            ref,
            summary=f"put announcement {start.announcement_id} in the outbox for each partner "
            "of its audience",
            timeout=RECORD_TIMEOUT,
            heartbeat_timeout=RECORD_HEARTBEAT_TIMEOUT,
        )
        if recorded.status is AnnouncementStatus.CANCELLED:
            return AnnouncementOutcome(status=recorded.status)
        self._stage(f"delivering to {recorded.recipients} partners")
        delivered = await deliver_batches(
            start.provider_id,
            {
                batch: batch_prefix(start.provider_id, start.announcement_id, batch)
                for batch in recorded.batches
            },
            f"announcement {start.announcement_id}",
        )
        settled = await run_activity(
            AnnouncementActivities.settle_announcement,
            ref,
            summary=f"mark announcement {start.announcement_id} sent",
        )
        outcome = AnnouncementOutcome(
            status=settled.status,
            recipients=recorded.recipients,
            sent=sum(batch.sent for batch in delivered),
            refused=sum(batch.refused for batch in delivered),
        )
        workflow.set_current_details(
            f"{self._summary}: **{outcome.status.value}**\n\n{outcome.recipients} recipients: "
            f"{outcome.sent} sent, {outcome.refused} bounced or failed."
        )
        return outcome

    async def _cancelled(self, ref: AnnouncementRef) -> AnnouncementOutcome:
        """Cancelled while it waited: the row says so (if the API has not said it already)."""
        settled = await run_activity(
            AnnouncementActivities.settle_announcement,
            ref,
            summary=f"mark announcement {ref.announcement_id} cancelled",
        )
        self._stage(settled.status.value)
        return AnnouncementOutcome(status=settled.status)

    def _stage(self, what: str) -> None:
        workflow.set_current_details(f"{self._summary}: **{what}**")
