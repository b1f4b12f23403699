"""One program review of one provider for one month or quarter.

A Temporal Schedule starts this workflow under the Schedule's own ID, with no
period: that run works out the period that has just ended and runs the review
as a child under `review/{provider_id}/{cadence}/{period}`, so each period is
reviewed once however often the Schedule fires for it. A review started with
its period (the child, the API, the CLI) runs the stages itself:

1. open: record the review and the program version it applies;
2. assess: one SQL aggregation over every reseller's orders in the window,
   a decision per reseller, the snapshots stored;
3. wake: a signal to each partner whose standing changed (signal-with-start
   for new candidates), in heartbeated batches;
4. scorecards (quarterly): every listed partner's scorecard;
5. report: the program report, stored with the review.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.workflow import ActivityHandle, ParentClosePolicy

from workflows.common import run_activity
from workflows.deliveries import DELIVERY_RETRY
from workflows.patches import PATCH_DELIVERY_APART, PATCH_PAST_PERIOD_AUDIT

with workflow.unsafe.imports_passed_through():
    from activities.notifications import NotificationActivities
    from activities.review_fanout import ReviewFanOutActivities
    from activities.reviews import ReviewActivities
    from models.contract import REVIEW_WORKFLOW
    from models.delivery import OutboxBatch, OutboxDelivered
    from models.review import (
        Assessment,
        FanOut,
        OpenReview,
        ProgramReport,
        ReviewCadence,
        ReviewClosing,
        ReviewOutcome,
        ReviewPeriod,
        ReviewPlan,
        ReviewRequest,
        ScorecardsSent,
        resolve_period,
        review_details,
        review_id,
        review_summary,
        scorecard_key_prefix,
        window_text,
    )
    from models.search_attributes import PROVIDER_ID
    from models.standing import WAKING

SCHEDULED_START = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
ASSESS_TIMEOUT = timedelta(minutes=30)
FAN_OUT_TIMEOUT = timedelta(hours=2)
HEARTBEAT_TIMEOUT = timedelta(seconds=10)
"""A fan-out heartbeats as each partner is woken: a worker that died is noticed within this."""
DELIVERY_HEARTBEAT_TIMEOUT = timedelta(minutes=2)
"""Delivering scorecards heartbeats before each one; a slow mail server may take a while over
one, each of its exchanges timing out after 10 s."""


@workflow.defn(name=REVIEW_WORKFLOW)
class ProgramReviewWorkflow:
    @workflow.run
    async def run(self, request: ReviewRequest) -> ReviewOutcome | None:
        try:
            period = resolve_period(request, self._fired_at())
            rid = review_id(request.provider_id, period)
        except ValueError as error:
            raise ApplicationError(str(error), type="InvalidReview", non_retryable=True) from None
        if request.period is None:  # a Schedule's start
            return await self._run_as_child(request, period, rid)
        return await self._review(request, period)

    def _fired_at(self) -> datetime:
        """When the Schedule meant this run to start (not when it did), else now."""
        scheduled = workflow.info().typed_search_attributes.get(SCHEDULED_START)
        return scheduled or workflow.now()

    async def _run_as_child(
        self, request: ReviewRequest, period: ReviewPeriod, rid: str
    ) -> ReviewOutcome | None:
        workflow.set_current_details(
            f"{review_summary(request.provider_id, period)}: reviewed as the child {rid}"
        )
        try:
            return await workflow.execute_child_workflow(
                ProgramReviewWorkflow.run,
                request.model_copy(update={"period": period.label}),
                id=rid,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                parent_close_policy=ParentClosePolicy.ABANDON,
                static_summary=review_summary(request.provider_id, period),
                static_details=review_details(request.provider_id, period),
                search_attributes=TypedSearchAttributes(
                    [SearchAttributePair(PROVIDER_ID, request.provider_id)]
                ),
            )
        except WorkflowAlreadyStartedError:
            workflow.set_current_details(f"{rid} had already been started: nothing to do")
            return None

    async def _review(self, request: ReviewRequest, period: ReviewPeriod) -> ReviewOutcome:
        provider = request.provider_id
        self._stage(provider, period, "opening")
        plan: ReviewPlan = await run_activity(
            ReviewActivities.open_review,
            OpenReview(
                provider_id=provider,
                period=period,
                batch_size=request.batch_size,
                started_at=workflow.now(),
            ),
            summary=f"open the {period.label} review of {provider}: record it and the "
            "program version it applies",
        )
        self._stage(
            provider, period, f"assessing resellers under program version {plan.program_version}"
        )
        assessment: Assessment = await run_activity(
            ReviewActivities.assess_resellers,
            plan,
            summary=f"assess every reseller of {provider} over "
            f"{window_text(plan.window_start, plan.window_end)} in one aggregation, "
            f"under program version {plan.program_version}",
            timeout=ASSESS_TIMEOUT,
        )
        scorecards: ScorecardsSent | None = None
        delivery: ActivityHandle[OutboxDelivered] | None = None
        # Plans recorded before the audit existed have `acts` true: their runs take the
        # acting branch without consulting the patch.
        if not plan.acts and workflow.patched(PATCH_PAST_PERIOD_AUDIT):
            self._stage(
                provider,
                period,
                f"{assessment.resellers} resellers assessed; a past-period "
                "audit: nobody woken, no scorecards",
            )
            fan_out = FanOut(signalled=0, nominated=0, batches=0, seconds=0.0)
        else:
            fan_out, scorecards, delivery = await self._act(plan, assessment)
        self._stage(provider, period, "writing the program report")
        report_started = workflow.now()
        report: ProgramReport = await run_activity(
            ReviewActivities.write_program_report,
            ReviewClosing(plan=plan, fan_out=fan_out),
            summary=f"write the {period.label} program report of {provider}: enrollment, "
            "retention, graduations, volume, quality and revenue by tier",
            timeout=ASSESS_TIMEOUT,
        )
        report_seconds = (workflow.now() - report_started).total_seconds()
        delivered: OutboxDelivered | None = None
        if delivery is not None:
            self._stage(provider, period, "report written; delivering the scorecards")
            delivered = await delivery
        workflow.set_current_details(
            f"{review_summary(provider, period)}: **done**\n\n"
            f"{assessment.resellers} resellers assessed, "
            f"{fan_out.signalled} partners signalled, {fan_out.nominated} candidates nominated; "
            "enrolled: "
            + (", ".join(f"{n} {tier}" for tier, n in report.enrollment_by_tier.items()) or "none")
            + f"; {report.partners_at_risk} at risk."
        )
        return ReviewOutcome(
            review_id=plan.review_id,
            assessment=assessment,
            fan_out=fan_out,
            scorecards=scorecards,
            scorecards_delivered=delivered,
            report=report,
            report_seconds=report_seconds,
        )

    async def _act(
        self, plan: ReviewPlan, assessment: Assessment
    ) -> tuple[FanOut, ScorecardsSent | None, ActivityHandle[OutboxDelivered] | None]:
        """Wake the partners whose standing changed and, quarterly, record the scorecards."""
        provider, period = plan.provider_id, plan.period
        scorecards: ScorecardsSent | None = None
        delivery: ActivityHandle[OutboxDelivered] | None = None
        changed = sum(n for s, n in assessment.standings.items() if s in WAKING)
        self._stage(
            provider, period, f"{assessment.resellers} resellers assessed; waking {changed}"
        )
        waking = ", ".join(
            f"{assessment.standings[s]} {s.value}" for s in WAKING if assessment.standings.get(s)
        )
        fan_out: FanOut = await run_activity(
            ReviewFanOutActivities.wake_partners,
            plan,
            summary=f"wake the {changed} partners of {provider} whose standing changed"
            + (f" ({waking})" if waking else ""),
            timeout=FAN_OUT_TIMEOUT,
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
        )
        if period.cadence is ReviewCadence.QUARTERLY:
            if workflow.patched(PATCH_DELIVERY_APART):
                self._stage(provider, period, "recording scorecards")
                scorecards = await run_activity(
                    ReviewActivities.record_scorecards,
                    plan,
                    summary=f"put every partner of {provider} its {period.label} scorecard "
                    "in the outbox",
                    timeout=FAN_OUT_TIMEOUT,
                    heartbeat_timeout=HEARTBEAT_TIMEOUT,
                )
                delivery = self._deliver_scorecards(plan)
            else:
                self._stage(provider, period, "sending scorecards")
                scorecards = await run_activity(
                    ReviewActivities.send_scorecards,
                    plan,
                    summary=f"send each listed partner of {provider} its {period.label} scorecard",
                    timeout=FAN_OUT_TIMEOUT,
                    heartbeat_timeout=HEARTBEAT_TIMEOUT,
                )
        return fan_out, scorecards, delivery

    def _deliver_scorecards(self, plan: ReviewPlan) -> ActivityHandle[OutboxDelivered]:
        """Deliver the recorded scorecards while the report is written; a partner whose
        channel is down is retried without holding up the others."""
        return workflow.start_activity_method(
            NotificationActivities.deliver_outbox,
            OutboxBatch(
                provider_id=plan.provider_id, key_prefix=scorecard_key_prefix(plan.review_id)
            ),
            start_to_close_timeout=FAN_OUT_TIMEOUT,
            heartbeat_timeout=DELIVERY_HEARTBEAT_TIMEOUT,
            retry_policy=DELIVERY_RETRY,
            summary=f"deliver the {plan.period.label} scorecards of {plan.provider_id}",
        )

    def _stage(self, provider: str, period: ReviewPeriod, what: str) -> None:
        workflow.set_current_details(f"{review_summary(provider, period)}: **{what}**")
