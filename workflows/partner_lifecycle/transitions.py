"""The partner's moves between standings: at risk, recovery, tier changes, removal, lapse.

Provider requests, reviews, the grace deadline, the candidacy's lapse and reported issues
lead here; the rules module decides, these methods carry the decision out.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from temporalio import workflow

from workflows.partner_lifecycle.effects import PartnerEffects
from workflows.partner_lifecycle.rules import (
    decided_since,
    failed_retention,
    issue_response,
    recovery,
    removal_ends_partnership,
    review_standing,
    tier_change_kind,
)
from workflows.patches import (
    PATCH_EXCLUSIVES_END_ON_REMOVAL,
    PATCH_MESSAGES_TELL_THE_TRUTH,
    PATCH_NO_VERDICT_ON_OLDER_DATA,
    PATCH_REVIEW_IN_ONE_TASK,
    PATCH_UNRATED_NOT_MET,
)

with workflow.unsafe.imports_passed_through():
    from models.metrics import CriterionResult, PartnerMetrics
    from models.notifications import EarlierIssue, IssueNotice, NotificationKind
    from models.partner import (
        MAX_TEXT,
        ActorKind,
        AtRiskFlag,
        GraceChange,
        IssueReport,
        IssueResponse,
        NoteInput,
        NoteKind,
        PartnerStatus,
        ReportedIssue,
        ReviewSignal,
    )
    from models.program import ProgramSettings, Tier
    from models.standing import Standing
    from models.summaries import day


def review_name(review_id: str, reviewed_at: datetime) -> str:
    """A review as a reseller reads it: `review/acme/quarterly/2026-Q3` is "the quarterly review
    of 2026-Q3"; an ID of another shape is never shown, the review's day is."""
    parts = review_id.split("/")
    if len(parts) == 4 and parts[0] == "review" and parts[2] and parts[3]:
        return f"the {parts[2]} review of {parts[3]}"
    return f"the review of {day(reviewed_at)}"


class Transitions(PartnerEffects):
    """What reviews, deadlines and reported issues do to a partner."""

    async def _take_review(self, signal: ReviewSignal) -> None:
        """Take a review's metrics and program, and act on where they leave the partner."""
        s, program, metrics = self.state, signal.program, signal.metrics
        if decided_since(s, metrics) and workflow.patched(PATCH_NO_VERDICT_ON_OLDER_DATA):
            s.last_review_id = signal.review_id
            s.last_review_at = signal.reviewed_at
            self._publish_details()
            return
        s.last_metrics = metrics
        s.program = program
        if workflow.patched(PATCH_REVIEW_IN_ONE_TASK):
            await self._in_one_task(partial(self._apply_review, signal))
        else:
            await self._apply_review(signal)
        s.last_review_id = signal.review_id
        s.last_review_at = signal.reviewed_at
        self._publish_details()

    async def _apply_review(self, signal: ReviewSignal) -> None:
        s, program, metrics = self.state, signal.program, signal.metrics
        decision = review_standing(
            s, metrics, program, unrated_not_met=workflow.patched(PATCH_UNRATED_NOT_MET)
        )
        match decision.standing:
            case Standing.PROMOTION:
                await self._change_tier(
                    decision.tier,
                    "meets every gold criterion",
                    ActorKind.REVIEW,
                    signal.review_id,
                    metrics=metrics,
                )
            case Standing.DEMOTION:
                await self._change_tier(
                    decision.tier,
                    "below the gold standard, above silver",
                    ActorKind.REVIEW,
                    signal.review_id,
                    failed_criteria=decision.failed_criteria,
                    metrics=metrics,
                )
            case Standing.BELOW_STANDARD:
                review = (
                    review_name(signal.review_id, signal.reviewed_at)
                    if workflow.patched(PATCH_MESSAGES_TELL_THE_TRUTH)
                    else f"review {signal.review_id}"
                )
                await self._enter_at_risk(
                    f"{review} found the partner below the {s.tier.value} standard",
                    decision.failed_criteria,
                    program.grace_period_days,
                    ActorKind.REVIEW,
                    signal.review_id,
                )
            case Standing.RECOVERED | Standing.STILL_BELOW:
                await self._recover_if_met(metrics, program, ActorKind.REVIEW, signal.review_id)

    async def _recover_if_met(
        self,
        metrics: PartnerMetrics,
        program: ProgramSettings,
        actor: ActorKind,
        actor_id: str | None,
    ) -> bool:
        """Back to preferred if the partner meets its tier, or silver (demoted from gold)."""
        s = self.state
        decision = recovery(
            s, metrics, program, unrated_not_met=workflow.patched(PATCH_UNRATED_NOT_MET)
        )
        if decision.standing is not Standing.RECOVERED:
            s.failed_criteria = decision.failed_criteria
            return False
        previous_tier, tier = s.tier, decision.tier
        self._clear_at_risk()
        reason = "metrics back to standard" + (
            f"; demoted from {previous_tier.value} to {tier.value}"
            if tier is not previous_tier
            else ""
        )
        await self._transition(PartnerStatus.PREFERRED, tier, reason, actor, actor_id)
        if tier is not previous_tier:
            await self._sync_offer_access(reason)
        await self._notify(
            NotificationKind.RECOVERED,
            self._context(reason=reason, metrics=metrics, previous_tier=previous_tier),
        )
        return True

    async def _flag_at_risk(self, request: AtRiskFlag) -> None:
        context = await self._load_context()
        metrics = await self._metrics(context.program, "the criteria behind the provider's flag")
        grace_days = request.grace_days or context.program.grace_period_days
        await self._enter_at_risk(
            request.reason,
            failed_retention(metrics, context.program, self.state.tier),
            grace_days,
            ActorKind.PROVIDER,
            request.requested_by,
        )

    async def _move_grace_deadline(self, request: GraceChange) -> None:
        s = self.state
        old = s.grace_deadline
        s.grace_deadline = request.deadline
        verb = "extended" if old and request.deadline > old else "shortened"
        await self._transition(
            PartnerStatus.AT_RISK,
            s.tier,
            f"grace period {verb} from {day(old)} to {day(request.deadline)}: {request.reason}",
            ActorKind.PROVIDER,
            request.requested_by,
        )
        await self._notify(
            NotificationKind.GRACE_CHANGED,
            self._context(reason=request.reason, grace_deadline=request.deadline),
        )

    async def _enter_at_risk(
        self,
        reason: str,
        failed_criteria: list[CriterionResult],
        grace_days: int,
        actor: ActorKind,
        actor_id: str | None,
        *,
        issue: IssueNotice | None = None,
    ) -> None:
        s = self.state
        now = workflow.now()
        s.at_risk_since = now
        s.grace_deadline = now + timedelta(days=grace_days)
        s.failed_criteria = failed_criteria
        s.at_risk_reason = reason
        detail = "; ".join(c.describe() for c in failed_criteria)
        await self._transition(
            PartnerStatus.AT_RISK,
            s.tier,
            f"{reason}"
            + (f" ({detail})" if detail else "")
            + f"; grace until {day(s.grace_deadline)}",
            actor,
            actor_id,
        )
        await self._notify(
            NotificationKind.AT_RISK_WARNING,
            self._context(
                reason=reason,
                failed_criteria=failed_criteria,
                grace_deadline=s.grace_deadline,
                **({"issue": issue} if issue else {}),
            ),
        )

    async def _grace_expired(self) -> None:
        """The deadline has come: check the metrics one last time, then recover or remove."""
        context = await self._load_context()
        metrics = await self._metrics(
            context.program, "the last check at the grace deadline: recover or remove"
        )
        self.state.last_metrics = metrics
        if await self._recover_if_met(metrics, context.program, ActorKind.TIMER, "grace-deadline"):
            return
        await self._remove(
            f"grace period ended on {day(self.state.grace_deadline)} without recovery",
            failed_retention(metrics, context.program, self.state.tier),
            ActorKind.TIMER,
            "grace-deadline",
        )

    async def _lapse(self) -> None:
        s = self.state
        days = s.program.candidate_lapse_days if s.program else 0
        await self._transition(
            PartnerStatus.REMOVED,
            Tier.BRONZE,
            f"candidacy lapsed: not approved within {days} days",
            ActorKind.TIMER,
            "candidate-lapse",
        )

    async def _remove(
        self,
        reason: str,
        failed_criteria: list[CriterionResult],
        actor: ActorKind,
        actor_id: str | None,
    ) -> None:
        s = self.state
        partnership_ends = removal_ends_partnership(s)
        previous_tier = s.tier
        self._clear_at_risk()
        s.scheduled_enrollment = None
        await self._transition(PartnerStatus.REMOVED, Tier.BRONZE, reason, actor, actor_id)
        await self._sync_offer_access(reason, revoke_selected=True)
        if partnership_ends and workflow.patched(PATCH_EXCLUSIVES_END_ON_REMOVAL):
            await self._end_exclusives(reason)
        if partnership_ends:
            await self._notify(
                NotificationKind.REMOVED,
                self._context(
                    reason=reason, failed_criteria=failed_criteria, previous_tier=previous_tier
                ),
            )

    async def _change_tier(
        self,
        tier: Tier,
        reason: str,
        actor: ActorKind,
        actor_id: str | None,
        *,
        failed_criteria: list[CriterionResult] | None = None,
        metrics: PartnerMetrics | None = None,
    ) -> None:
        s = self.state
        previous = s.tier
        kind = tier_change_kind(previous, tier)
        await self._transition(
            s.status,
            tier,
            f"{kind.value} from {previous.value} to {tier.value}: {reason}",
            actor,
            actor_id,
        )
        await self._sync_offer_access(reason)
        await self._notify(
            kind,
            self._context(
                reason=reason,
                previous_tier=previous,
                failed_criteria=failed_criteria or [],
                metrics=metrics,
            ),
        )

    async def _respond_to_issue(self, report: IssueReport, program: ProgramSettings) -> None:
        """Note the issue, then a notice or at risk, as far as the issues within the window
        reach up the progressive response."""
        s = self.state
        now = workflow.now()
        earlier, response = issue_response(s, report, program, now)
        at_risk = s.status is PartnerStatus.AT_RISK
        # A partner already at risk was warned formally: a friendly word would belie that.
        if (
            at_risk
            and response is IssueResponse.FRIENDLY_NOTICE
            and workflow.patched(PATCH_MESSAGES_TELL_THE_TRUTH)
        ):
            response = IssueResponse.FORMAL_NOTICE
        heading = f"{report.severity.value} issue reported, {response.value.replace('_', ' ')}: "
        await self._add_note(
            NoteInput(
                kind=NoteKind.ISSUE,
                text=heading + report.reason[: MAX_TEXT - len(heading)],
                requested_by=report.requested_by,
            )
        )
        note = s.notes[-1]
        s.issues = [
            *earlier,
            ReportedIssue(
                sequence=note.sequence,
                at=now,
                reason=report.reason,
                severity=report.severity,
                response=response,
            ),
        ]
        notice = IssueNotice(
            reason=report.reason,
            severity=report.severity,
            reported_at=now,
            earlier=[EarlierIssue(at=issue.at, reason=issue.reason) for issue in earlier],
            window_days=program.issue_window_days,
            escalates_until=now + timedelta(days=program.issue_window_days),
        )
        if response is not IssueResponse.AT_RISK:
            kind = (
                NotificationKind.FRIENDLY_NOTICE
                if response is IssueResponse.FRIENDLY_NOTICE
                else NotificationKind.FORMAL_NOTICE
            )
            deadline = (
                {"grace_deadline": s.grace_deadline}
                if at_risk and workflow.patched(PATCH_MESSAGES_TELL_THE_TRUTH)
                else {}
            )
            await self._notify(
                kind, self._context(issue=notice, **deadline), sequence=note.sequence
            )
            return
        metrics = await self._metrics(program, "the figures behind the reported issues")
        await self._enter_at_risk(
            f"{len(earlier) + 1} issues reported within {program.issue_window_days} days, "
            f"the latest: {report.reason}",
            failed_retention(metrics, program, s.tier),
            program.grace_period_days,
            ActorKind.PROVIDER,
            report.requested_by,
            issue=notice,
        )
