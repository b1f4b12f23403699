"""One month's newsletter of one provider.

The provider's Schedule (`newsletter-schedule/{provider}`, at 09:00 UTC on the 1st) starts
this workflow with no month: that run works out the month just ended from when it was due and
sends it as the child `newsletter/{provider}/{month}`, so a month goes out once however often
the Schedule fires for it. A run started with its month (the child, or by hand):

1. record: one newsletter per partner on the provider's list in the outbox, written for it
   (new offers at its price, its month against the one before, a tip), each key at most once;
   nothing if the provider has opted out;
2. deliver: the outbox's own delivery, in batches side by side;
3. settle: the month is marked sent.

Its payloads are IDs and counts: what each partner reads stays in the database.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

from workflows.announcement import RECORD_HEARTBEAT_TIMEOUT, RECORD_TIMEOUT
from workflows.common import run_activity
from workflows.deliveries import deliver_batches

with workflow.unsafe.imports_passed_through():
    from activities.newsletters import NewsletterActivities
    from models.contract import NEWSLETTER_WORKFLOW, newsletter_workflow_id
    from models.newsletter import (
        NewsletterOutcome,
        NewsletterRef,
        NewsletterRequest,
        NewsletterStatus,
        month_before,
        newsletter_batch_prefix,
        newsletter_summary,
    )
    from models.search_attributes import PROVIDER_ID

SCHEDULED_START = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")


@workflow.defn(name=NEWSLETTER_WORKFLOW)
class NewsletterWorkflow:
    @workflow.run
    async def run(self, request: NewsletterRequest) -> NewsletterOutcome | None:
        if request.month is None:
            return await self._run_as_child(request.provider_id, month_before(self._fired_at()))
        return await self._send(NewsletterRef(provider_id=request.provider_id, month=request.month))

    def _fired_at(self) -> datetime:
        """When the Schedule meant this run to start (not when it did), else now."""
        scheduled = workflow.info().typed_search_attributes.get(SCHEDULED_START)
        return scheduled or workflow.now()

    async def _run_as_child(self, provider_id: str, month: str) -> NewsletterOutcome | None:
        child = newsletter_workflow_id(provider_id, month)
        workflow.set_current_details(
            f"{newsletter_summary(provider_id, month)}: sent as the child {child}"
        )
        try:
            return await workflow.execute_child_workflow(
                NewsletterWorkflow.run,
                NewsletterRequest(provider_id=provider_id, month=month),
                id=child,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                parent_close_policy=ParentClosePolicy.ABANDON,
                static_summary=newsletter_summary(provider_id, month),
                search_attributes=TypedSearchAttributes(
                    [SearchAttributePair(PROVIDER_ID, provider_id)]
                ),
            )
        except WorkflowAlreadyStartedError:
            workflow.set_current_details(f"{child} had already been started: nothing to do")
            return None

    async def _send(self, ref: NewsletterRef) -> NewsletterOutcome:
        summary = newsletter_summary(ref.provider_id, ref.month)
        workflow.set_current_details(f"{summary}: **recording a newsletter for each partner**")
        recorded = await run_activity(
            NewsletterActivities.record_newsletter,
            ref,
            summary=f"put the {ref.month} newsletter in the outbox for each partner on the list",
            timeout=RECORD_TIMEOUT,
            heartbeat_timeout=RECORD_HEARTBEAT_TIMEOUT,
        )
        if recorded.status is NewsletterStatus.SKIPPED:
            workflow.set_current_details(f"{summary}: **skipped**: the provider has opted out")
            return NewsletterOutcome(month=ref.month, status=recorded.status)
        workflow.set_current_details(f"{summary}: **delivering to {recorded.recipients} partners**")
        delivered = await deliver_batches(
            ref.provider_id,
            {
                batch: newsletter_batch_prefix(ref.provider_id, ref.month, batch)
                for batch in recorded.batches
            },
            f"the {ref.month} newsletter",
        )
        status = await run_activity(
            NewsletterActivities.settle_newsletter,
            ref,
            summary=f"mark the {ref.month} newsletter sent",
        )
        outcome = NewsletterOutcome(
            month=ref.month,
            status=status,
            recipients=recorded.recipients,
            sent=sum(batch.sent for batch in delivered),
            refused=sum(batch.refused for batch in delivered),
        )
        workflow.set_current_details(
            f"{summary}: **{outcome.status.value}**\n\n{outcome.recipients} partners: "
            f"{outcome.sent} sent, {outcome.refused} bounced or failed."
        )
        return outcome
