"""One partner's whole lifecycle with one provider, as a durable entity workflow.

candidate -> preferred (silver or gold) -> at_risk -> preferred again or removed;
blocked from any state. Provider actions are updates that return the new
state, reviews arrive as signals, and timers carry the effective date, the
grace period and the candidate's lapse.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

from workflows.common import ACTIVITY_RETRY, ACTIVITY_TIMEOUT, InvalidRequest, run_activity
from workflows.deliveries import Deliveries

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from activities.agreements import AgreementActivities
    from activities.metrics import MetricsActivities
    from activities.offers import OfferAccessActivities
    from activities.partners import PartnerRecordActivities
    from models.agreement import PartnerBlocked, PartnerLeft
    from models.agreement_records import PartnerExclusives
    from models.contract import (
        GRACE_DEADLINE,
        PARTNER_STATUS,
        PARTNER_TIER,
        PARTNER_WORKFLOW,
        PROVIDER_ID,
        RESELLER_TEAM_ID,
        QueryName,
        SignalName,
        UpdateName,
    )
    from models.metrics import (
        CriterionResult,
        PartnerMetrics,
        failed,
    )
    from models.notifications import (
        EarlierIssue,
        IssueNotice,
        NotificationContext,
        NotificationKind,
        NotificationRequest,
        Recipient,
    )
    from models.offers import OfferAccessChange
    from models.partner import (
        MAX_TEXT,
        ActorKind,
        AtRiskFlag,
        BlockRequest,
        EnrollmentRequest,
        GraceChange,
        IssueReport,
        IssueResponse,
        Nomination,
        Note,
        NoteInput,
        NoteKind,
        PartnerState,
        PartnerStatus,
        PartnerWorkflowInput,
        RemovalRequest,
        ReportedIssue,
        ReviewSignal,
        TierChange,
        Transition,
        UnblockRequest,
    )
    from models.program import (
        GRACE_PERIOD_MAX_DAYS,
        GRACE_PERIOD_MIN_DAYS,
        ProgramSettings,
        Tier,
    )
    from models.records import (
        EnrollmentWrite,
        EnrollmentWritten,
        MetricsRequest,
        NoteRecord,
        PartnerContext,
        PartnerRef,
        TransitionRecord,
    )
    from models.standing import Standing, decide_standing, retention_check
    from models.summaries import (
        by,
        day,
        metrics_summary,
        offer_access_summary,
        one_line,
        partner_details,
        standing,
        transition_summary,
    )

PATCH_FIRST_REQUEST_DECIDES = "first-request-decides"
"""Runs from this patch on let the starting request finish, and end if it was refused."""
PATCH_CONTEXT_LOADED_ONCE = "context-loaded-once"
"""Runs from this patch on enroll with the context their request already loaded."""
PATCH_ENROLL_IN_ONE_TASK = "enroll-in-one-task"
"""Runs from this patch on enroll through one local activity, and welcome after answering."""
PATCH_EXCLUSIVES_END_ON_REMOVAL = "exclusives-end-on-removal"
"""Runs from this patch on end the partner's exclusive agreements when it is removed."""
PATCH_EXCLUSIVES_END_ON_BLOCK = "exclusives-end-on-block"
"""Runs from this patch on end the partner's exclusive agreements on the offers a block covers."""
KEPT_IN_STATE = 200
"""Transitions and notes kept in the workflow state; all of them stay in the database."""

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class _Deadline:
    kind: str
    at: datetime
    summary: str


@workflow.defn(name=PARTNER_WORKFLOW)
class PartnerLifecycleWorkflow:
    @workflow.init
    def __init__(self, input: PartnerWorkflowInput) -> None:
        self._input = input
        now = workflow.now()
        self.state = input.state or PartnerState(
            provider_id=input.provider_id,
            reseller_team_id=input.reseller_team_id,
            partnership_id=workflow.info().run_id,
            created_at=now,
            candidate_since=now,
        )
        self._lock = asyncio.Lock()
        self._changes = 0
        self._outbox: list[tuple[NotificationKind, NotificationContext, int]] = []
        """Messages to send from the run loop, after the request that caused them answered."""
        self._deliveries = Deliveries()

    # ------------------------------------------------------------------ run loop

    @workflow.run
    async def run(self, input: PartnerWorkflowInput) -> PartnerState:
        self._publish()
        self._deliveries.resume(self.state.undelivered)
        self.state.undelivered = []
        if input.state is None and workflow.patched(PATCH_FIRST_REQUEST_DECIDES):
            await workflow.wait_condition(workflow.all_handlers_finished)
            if self._started_for_nothing():
                workflow.set_current_details(
                    "closed: the request that started this workflow was refused"
                )
                return self.state
        if self.state.program is None:
            async with self._lock:
                await self._load_context()
        while not self.state.is_closed:
            if self._outbox:
                await self._send_outbox()
                continue
            if self._history_too_long():
                await workflow.wait_condition(workflow.all_handlers_finished)
                await self._send_outbox()
                await self._deliveries.settle()
                if self.state.is_closed:
                    break
                if workflow.all_handlers_finished() and not self._outbox:
                    self._continue_as_new()
                continue  # a request came in meanwhile: serve it, then try again
            due = self._next_deadline()
            if due is not None and due.at <= workflow.now():
                await self._on_deadline(due)
                continue
            try:
                await workflow.wait_condition(
                    partial(self._woken, self._changes),
                    timeout=(due.at - workflow.now()) if due else None,
                    timeout_summary=due.summary if due else None,
                )
            except TimeoutError:
                assert due is not None
                await self._on_deadline(due)
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._send_outbox()
        await self._deliveries.close()
        return self.state

    def _started_for_nothing(self) -> bool:
        """A refused enrollment started this run: there is no partner, candidate or plan to keep."""
        s = self.state
        return (
            s.status is PartnerStatus.CANDIDATE
            and not s.nominated
            and s.scheduled_enrollment is None
            and not s.transitions
        )

    def _woken(self, changes_seen: int) -> bool:
        return self._changes != changes_seen or self._history_too_long() or bool(self._outbox)

    def _history_too_long(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self._input.max_history_events
        )

    def _continue_as_new(self) -> None:
        self.state.continued_runs += 1
        self.state.undelivered = self._deliveries.pending
        workflow.continue_as_new(
            PartnerWorkflowInput(
                provider_id=self.state.provider_id,
                reseller_team_id=self.state.reseller_team_id,
                state=self.state,
                max_history_events=self._input.max_history_events,
            )
        )

    def _next_deadline(self) -> _Deadline | None:
        s = self.state
        if s.scheduled_enrollment and s.scheduled_enrollment.effective_date:
            at = s.scheduled_enrollment.effective_date
            tier = s.scheduled_enrollment.tier.value
            return _Deadline(
                "effective_date", at, f"enroll {s.reseller_team_id} as {tier} on {day(at)}"
            )
        if s.status is PartnerStatus.AT_RISK and s.grace_deadline:
            return _Deadline(
                "grace",
                s.grace_deadline,
                f"grace period of {s.reseller_team_id} ends {day(s.grace_deadline)}: "
                "a last metric check, then recovery or removal",
            )
        if s.status is PartnerStatus.CANDIDATE and s.candidate_since and s.program:
            at = s.candidate_since + timedelta(days=s.program.candidate_lapse_days)
            return _Deadline(
                "lapse", at, f"candidacy of {s.reseller_team_id} lapses {day(at)} unless approved"
            )
        return None

    async def _on_deadline(self, due: _Deadline) -> None:
        async with self._lock:
            current = self._next_deadline()
            if current is None or current.kind != due.kind or current.at > workflow.now():
                return  # a handler moved or cancelled it while we waited for the lock
            if due.kind == "effective_date":
                request = self.state.scheduled_enrollment
                assert request is not None
                await self._enroll(request, ActorKind.TIMER, "effective date reached")
            elif due.kind == "grace":
                await self._grace_expired()
            else:
                await self._lapse()

    # ------------------------------------------------------------------ queries

    @workflow.query(name=QueryName.GET_STATE)
    def get_state(self) -> PartnerState:
        return self.state

    # ------------------------------------------------------------------ updates

    @workflow.update(name=UpdateName.ENROLL)
    async def enroll(self, request: EnrollmentRequest) -> PartnerState:
        async with self._lock:
            self._check_enroll(request)
            s = self.state
            if s.status.on_preferred_list or s.scheduled_enrollment == request:
                return s  # a repeated request: same partner, no second welcome
            later = request.effective_date is not None and request.effective_date > workflow.now()
            if not later and workflow.patched(PATCH_ENROLL_IN_ONE_TASK):
                await self._enroll_in_one_task(request, ActorKind.PROVIDER, request.requested_by)
                return s
            context = await self._load_context()
            self._check_tier_in_program(request.tier, context.program)
            if request.effective_date and request.effective_date > workflow.now():
                s.scheduled_enrollment = request
                self._changed()
                if request.notes:
                    await self._add_note(
                        NoteInput(text=request.notes, requested_by=request.requested_by)
                    )
                await self._notify(
                    NotificationKind.ENROLLMENT_SCHEDULED,
                    self._context(tier=request.tier, effective_date=request.effective_date),
                    sequence=s.next_sequence(),
                )
                return s
            await self._enroll(request, ActorKind.PROVIDER, request.requested_by, context)
            return s

    @enroll.validator
    def _validate_enroll(self, request: EnrollmentRequest) -> None:
        self._check_enroll(request)

    def _check_enroll(self, request: EnrollmentRequest) -> None:
        s = self.state
        if s.status is PartnerStatus.REMOVED:
            raise InvalidRequest(
                f"{s.reseller_team_id} was just removed; send the enrollment again to start "
                "a new partnership"
            )
        if s.status is PartnerStatus.BLOCKED:
            raise InvalidRequest(f"{s.reseller_team_id} is blocked; unblock it before enrolling")
        if s.status.on_preferred_list and s.tier is not request.tier:
            raise InvalidRequest(
                f"{s.reseller_team_id} is already a {s.tier.value} partner; "
                "change its tier instead of enrolling it again"
            )
        if s.scheduled_enrollment and s.scheduled_enrollment != request:
            raise InvalidRequest(
                f"{s.reseller_team_id} already has an enrollment scheduled for "
                f"{day(s.scheduled_enrollment.effective_date)}"
            )

    @workflow.update(name=UpdateName.FLAG_AT_RISK)
    async def flag_at_risk(self, request: AtRiskFlag) -> PartnerState:
        async with self._lock:
            self._check_flag()
            context = await self._load_context()
            metrics = await self._metrics(
                context.program, "the criteria behind the provider's flag"
            )
            grace_days = request.grace_days or context.program.grace_period_days
            results = self._retention_check(metrics, context.program)
            await self._enter_at_risk(
                request.reason,
                failed(results),
                grace_days,
                ActorKind.PROVIDER,
                request.requested_by,
            )
            return self.state

    @flag_at_risk.validator
    def _validate_flag(self, request: AtRiskFlag) -> None:
        self._check_flag()

    def _check_flag(self) -> None:
        s = self.state
        if s.status is PartnerStatus.AT_RISK:
            raise InvalidRequest(
                f"{s.reseller_team_id} is already at risk until {day(s.grace_deadline)}; "
                "change the grace deadline instead"
            )
        if s.status is not PartnerStatus.PREFERRED:
            raise InvalidRequest(
                f"only a preferred partner can be flagged at risk; {s.reseller_team_id} "
                f"is {s.status.value}"
            )

    @workflow.update(name=UpdateName.CHANGE_GRACE_DEADLINE)
    async def change_grace_deadline(self, request: GraceChange) -> PartnerState:
        async with self._lock:
            self._check_grace_change(request)
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
            return s

    @change_grace_deadline.validator
    def _validate_grace_change(self, request: GraceChange) -> None:
        self._check_grace_change(request)

    def _check_grace_change(self, request: GraceChange) -> None:
        s = self.state
        if s.status is not PartnerStatus.AT_RISK or s.at_risk_since is None:
            raise InvalidRequest(
                f"{s.reseller_team_id} is {s.status.value}, not at risk: it has no grace period"
            )
        earliest = s.at_risk_since + timedelta(days=GRACE_PERIOD_MIN_DAYS)
        latest = s.at_risk_since + timedelta(days=GRACE_PERIOD_MAX_DAYS)
        if not earliest <= request.deadline <= latest:
            raise InvalidRequest(
                f"the grace period must last {GRACE_PERIOD_MIN_DAYS}-{GRACE_PERIOD_MAX_DAYS} days "
                f"from {day(s.at_risk_since)}: the deadline must fall between {day(earliest)} "
                f"and {day(latest)}, got {day(request.deadline)}"
            )
        if request.deadline <= workflow.now():
            raise InvalidRequest(f"the new deadline {day(request.deadline)} is already past")

    @workflow.update(name=UpdateName.CHANGE_TIER)
    async def change_tier(self, request: TierChange) -> PartnerState:
        async with self._lock:
            self._check_tier_change(request)
            context = await self._load_context()
            self._check_tier_in_program(request.tier, context.program)
            await self._change_tier(
                request.tier, request.reason, ActorKind.PROVIDER, request.requested_by
            )
            return self.state

    @change_tier.validator
    def _validate_tier_change(self, request: TierChange) -> None:
        self._check_tier_change(request)

    def _check_tier_change(self, request: TierChange) -> None:
        s = self.state
        if not s.status.on_preferred_list:
            raise InvalidRequest(
                f"{s.reseller_team_id} is {s.status.value}; only partners on the preferred "
                "list have a tier to change"
            )
        if s.tier is request.tier:
            raise InvalidRequest(f"{s.reseller_team_id} is already {request.tier.value}")

    @workflow.update(name=UpdateName.BLOCK)
    async def block(self, request: BlockRequest) -> PartnerState:
        async with self._lock:
            self._check_block(request)
            s = self.state
            was_partner = s.status.on_preferred_list
            offer_ids = sorted(set(request.offer_ids))
            if offer_ids:
                s.blocked_offer_ids = sorted(set(s.blocked_offer_ids) | set(offer_ids))
                await self._transition(
                    s.status,
                    s.tier,
                    f"blocked from offers {', '.join(offer_ids)}: {request.reason}",
                    ActorKind.PROVIDER,
                    request.requested_by,
                )
            else:
                s.status_before_block = s.status
                await self._transition(
                    PartnerStatus.BLOCKED,
                    s.tier,
                    f"blocked from all offers: {request.reason}",
                    ActorKind.PROVIDER,
                    request.requested_by,
                )
            await self._sync_offer_access(request.reason)
            if was_partner and workflow.patched(PATCH_EXCLUSIVES_END_ON_BLOCK):
                await self._end_blocked_exclusives(request.reason, offer_ids)
            await self._notify(
                NotificationKind.BLOCKED,
                self._context(reason=request.reason, offer_ids=offer_ids),
            )
            return s

    @block.validator
    def _validate_block(self, request: BlockRequest) -> None:
        self._check_block(request)

    def _check_block(self, request: BlockRequest) -> None:
        s = self.state
        if s.status in (PartnerStatus.BLOCKED, PartnerStatus.REMOVED):
            raise InvalidRequest(f"{s.reseller_team_id} is already {s.status.value}")
        if request.offer_ids and set(request.offer_ids) <= set(s.blocked_offer_ids):
            raise InvalidRequest(f"{s.reseller_team_id} is already blocked from those offers")

    @workflow.update(name=UpdateName.UNBLOCK)
    async def unblock(self, request: UnblockRequest) -> PartnerState:
        async with self._lock:
            self._check_unblock()
            s = self.state
            to_status = s.status_before_block or s.status
            s.status_before_block = None
            s.blocked_offer_ids = []
            await self._transition(
                to_status,
                s.tier,
                f"unblocked: {request.reason}",
                ActorKind.PROVIDER,
                request.requested_by,
            )
            await self._sync_offer_access(request.reason)
            await self._notify(
                NotificationKind.UNBLOCKED,
                self._context(reason=request.reason),
            )
            return s

    @unblock.validator
    def _validate_unblock(self, request: UnblockRequest) -> None:
        self._check_unblock()

    def _check_unblock(self) -> None:
        s = self.state
        if s.status is not PartnerStatus.BLOCKED and not s.blocked_offer_ids:
            raise InvalidRequest(f"{s.reseller_team_id} is not blocked")

    @workflow.update(name=UpdateName.REMOVE)
    async def remove(self, request: RemovalRequest) -> PartnerState:
        async with self._lock:
            self._check_remove()
            await self._remove(request.reason, [], ActorKind.PROVIDER, request.requested_by)
            return self.state

    @remove.validator
    def _validate_remove(self, request: RemovalRequest) -> None:
        self._check_remove()

    def _check_remove(self) -> None:
        if self.state.status is PartnerStatus.REMOVED:
            raise InvalidRequest(f"{self.state.reseller_team_id} is already removed")

    @workflow.update(name=UpdateName.ADD_NOTE)
    async def add_note(self, request: NoteInput) -> PartnerState:
        async with self._lock:
            await self._add_note(request)
            return self.state

    @workflow.update(name=UpdateName.REPORT_ISSUE)
    async def report_issue(self, report: IssueReport) -> PartnerState:
        """The progressive response: a friendly notice, a formal one for a repeat within the
        program's issue window, then at risk (a serious issue counts twice)."""
        async with self._lock:
            self._check_report()
            context = await self._load_context()
            await self._respond_to_issue(report, context.program)
            return self.state

    @report_issue.validator
    def _validate_report(self, report: IssueReport) -> None:
        self._check_report()

    def _check_report(self) -> None:
        s = self.state
        if not s.status.on_preferred_list:
            raise InvalidRequest(
                f"only a partner on the preferred list can be sent notices; {s.reseller_team_id} "
                f"is {s.status.value}"
            )

    async def _respond_to_issue(self, report: IssueReport, program: ProgramSettings) -> None:
        s = self.state
        now = workflow.now()
        window = timedelta(days=program.issue_window_days)
        earlier = [issue for issue in s.issues if issue.at > now - window]
        level = sum(issue.severity.steps for issue in earlier) + report.severity.steps
        response = IssueResponse.for_level(level)
        if response is IssueResponse.AT_RISK and s.status is PartnerStatus.AT_RISK:
            response = IssueResponse.FORMAL_NOTICE  # already on the way to removal
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
            escalates_until=now + window,
        )
        if response is not IssueResponse.AT_RISK:
            kind = (
                NotificationKind.FRIENDLY_NOTICE
                if response is IssueResponse.FRIENDLY_NOTICE
                else NotificationKind.FORMAL_NOTICE
            )
            await self._notify(kind, self._context(issue=notice), sequence=note.sequence)
            return
        metrics = await self._metrics(program, "the figures behind the reported issues")
        await self._enter_at_risk(
            f"{len(earlier) + 1} issues reported within {program.issue_window_days} days, "
            f"the latest: {report.reason}",
            failed(self._retention_check(metrics, program)),
            program.grace_period_days,
            ActorKind.PROVIDER,
            report.requested_by,
            issue=notice,
        )

    # ------------------------------------------------------------------ signals

    @workflow.signal(name=SignalName.REVIEW)
    async def review(self, signal: ReviewSignal) -> None:
        async with self._lock:
            s = self.state
            if s.last_review_id == signal.review_id:
                return  # the same review delivered twice
            s.last_metrics = signal.metrics
            s.program = signal.program
            await self._apply_review(signal)
            s.last_review_id = signal.review_id
            s.last_review_at = signal.reviewed_at
            self._publish_details()

    @workflow.signal(name=SignalName.NOMINATE)
    async def nominate(self, nomination: Nomination) -> None:
        async with self._lock:
            s = self.state
            if s.status is not PartnerStatus.CANDIDATE or s.nominated:
                return
            context = await self._load_context()
            s.nominated = True
            s.candidate_since = workflow.now()
            if nomination.metrics:
                s.last_metrics = nomination.metrics
            await self._transition(
                PartnerStatus.CANDIDATE,
                Tier.BRONZE,
                f"nominated: {nomination.reason}",
                ActorKind.REVIEW,
                nomination.review_id,
                initial=True,
            )
            if context.program.auto_enroll:
                await self._enroll(
                    EnrollmentRequest(tier=nomination.tier, requested_by="auto-enroll"),
                    ActorKind.REVIEW,
                    nomination.review_id,
                    context,
                )
            else:
                await self._notify(
                    NotificationKind.CANDIDATE_NOTICE,
                    self._context(
                        tier=nomination.tier, reason=nomination.reason, metrics=nomination.metrics
                    ),
                    to_provider=True,
                )

    # ------------------------------------------------------------------ transitions

    async def _apply_review(self, signal: ReviewSignal) -> None:
        s, program, metrics = self.state, signal.program, signal.metrics
        decision = decide_standing(s.status, s.tier, metrics, program)
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
                await self._enter_at_risk(
                    f"review {signal.review_id} found the partner below the {s.tier.value} "
                    "standard",
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
        decision = decide_standing(PartnerStatus.AT_RISK, s.tier, metrics, program)
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

    async def _enroll(
        self,
        request: EnrollmentRequest,
        actor: ActorKind,
        actor_id: str | None,
        context: PartnerContext | None = None,
    ) -> None:
        """Put the partner on the list; `context` is what the caller has just loaded, if any."""
        if workflow.patched(PATCH_ENROLL_IN_ONE_TASK):
            await self._enroll_in_one_task(request, actor, actor_id)
            return
        s = self.state
        if context is None or not workflow.patched(PATCH_CONTEXT_LOADED_ONCE):
            context = await self._load_context()
        metrics = await self._metrics(context.program, "the figures of the welcome")
        s.scheduled_enrollment = None
        s.enrolled_at = workflow.now()
        s.last_metrics = metrics
        self._clear_at_risk()
        reason = f"enrolled as {request.tier.value} by {request.requested_by}"
        await self._transition(PartnerStatus.PREFERRED, request.tier, reason, actor, actor_id)
        sequence = s.transitions[-1].sequence
        await self._sync_offer_access(reason)
        if request.notes:
            await self._add_note(NoteInput(text=request.notes, requested_by=request.requested_by))
        await self._notify(
            NotificationKind.WELCOME, self._context(metrics=metrics), sequence=sequence
        )

    async def _enroll_in_one_task(
        self, request: EnrollmentRequest, actor: ActorKind, actor_id: str | None
    ) -> None:
        """Enroll in the workflow task that took the request: one local activity reads the
        program and the metrics and writes the transition, the access and the note; the state
        changes only once it succeeded, and the welcome leaves from the run loop."""
        s = self.state
        now = workflow.now()
        workflow_id = workflow.info().workflow_id
        reason = f"enrolled as {request.tier.value} by {request.requested_by}"
        transition = Transition(
            sequence=s.sequence + 1,
            at=now,
            from_status=s.status,
            to_status=PartnerStatus.PREFERRED,
            from_tier=s.tier,
            to_tier=request.tier,
            reason=reason,
            actor=actor,
            actor_id=actor_id,
        )
        note = (
            Note(
                sequence=transition.sequence + 1,
                at=now,
                kind=NoteKind.OTHER,
                text=request.notes,
                author=request.requested_by,
            )
            if request.notes
            else None
        )
        ref = {"provider_id": s.provider_id, "reseller_team_id": s.reseller_team_id}
        write = EnrollmentWrite(
            **ref,
            tier=request.tier,
            as_of=now,
            transition=TransitionRecord(
                **ref,
                idempotency_key=s.idempotency_key(workflow_id, "transition", transition.sequence),
                workflow_id=workflow_id,
                partnership_id=s.partnership_id,
                transition=transition,
                status=PartnerStatus.PREFERRED,
                tier=request.tier,
                enrolled_at=now,
                grace_deadline=None,
            ),
            access=OfferAccessChange(
                **ref, tier=request.tier, blocked_offer_ids=s.blocked_offer_ids, reason=reason
            ),
            note=NoteRecord(
                **ref,
                idempotency_key=s.idempotency_key(workflow_id, "note", note.sequence),
                note=note,
            )
            if note
            else None,
        )
        try:
            written: EnrollmentWritten = await workflow.execute_local_activity_method(
                PartnerRecordActivities.enroll_partner,
                write,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=ACTIVITY_RETRY,
                summary=one_line(
                    f"enroll {s.reseller_team_id}: {standing(s.status, s.tier)} -> "
                    f"{standing(PartnerStatus.PREFERRED, request.tier)} by "
                    f"{by(actor, actor_id)}: list row, metrics, transition, preferred offers"
                ),
            )
        except ActivityError as error:
            if isinstance(error.cause, ApplicationError) and error.cause.non_retryable:
                raise InvalidRequest(error.cause.message) from error
            raise
        s.sequence = note.sequence if note else transition.sequence
        s.program = written.context.program
        s.scheduled_enrollment = None
        s.enrolled_at = now
        s.last_metrics = written.metrics
        self._clear_at_risk()
        s.status, s.tier = PartnerStatus.PREFERRED, request.tier
        s.transitions = [*s.transitions, transition][-KEPT_IN_STATE:]
        if note:
            s.notes = [*s.notes, note][-KEPT_IN_STATE:]
        self._changed()
        self._outbox.append(
            (NotificationKind.WELCOME, self._context(metrics=written.metrics), transition.sequence)
        )

    async def _send_outbox(self) -> None:
        async with self._lock:
            while self._outbox:
                kind, context, sequence = self._outbox.pop(0)
                await self._notify(kind, context, sequence=sequence)

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
            failed(self._retention_check(metrics, context.program)),
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
        was_partner = s.status.on_preferred_list or s.status_before_block in (
            PartnerStatus.PREFERRED,
            PartnerStatus.AT_RISK,
        )
        previous_tier = s.tier
        self._clear_at_risk()
        s.scheduled_enrollment = None
        await self._transition(PartnerStatus.REMOVED, Tier.BRONZE, reason, actor, actor_id)
        await self._sync_offer_access(reason, revoke_selected=True)
        if was_partner and workflow.patched(PATCH_EXCLUSIVES_END_ON_REMOVAL):
            await self._end_exclusives(reason)
        if was_partner:
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
        kind = NotificationKind.PROMOTED if tier.rank > previous.rank else NotificationKind.DEMOTED
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

    def _clear_at_risk(self) -> None:
        s = self.state
        s.at_risk_since = None
        s.grace_deadline = None
        s.failed_criteria = []
        s.at_risk_reason = None

    async def _transition(
        self,
        to_status: PartnerStatus,
        to_tier: Tier,
        reason: str,
        actor: ActorKind,
        actor_id: str | None,
        *,
        initial: bool = False,
    ) -> Transition:
        """Change the state, make it visible (search attributes, details) and record it."""
        s = self.state
        transition = Transition(
            sequence=s.next_sequence(),
            at=workflow.now(),
            from_status=None if initial else s.status,
            to_status=to_status,
            from_tier=s.tier,
            to_tier=to_tier,
            reason=reason,
            actor=actor,
            actor_id=actor_id,
        )
        s.status = to_status
        s.tier = to_tier
        s.transitions = [*s.transitions, transition][-KEPT_IN_STATE:]
        self._changed()
        await run_activity(
            PartnerRecordActivities.record_transition,
            TransitionRecord(
                provider_id=s.provider_id,
                reseller_team_id=s.reseller_team_id,
                idempotency_key=s.idempotency_key(
                    workflow.info().workflow_id, "transition", transition.sequence
                ),
                workflow_id=workflow.info().workflow_id,
                partnership_id=s.partnership_id,
                transition=transition,
                status=s.status,
                tier=s.tier,
                enrolled_at=s.enrolled_at,
                grace_deadline=s.grace_deadline,
            ),
            summary=transition_summary(s.reseller_team_id, transition),
        )
        return transition

    def _changed(self) -> None:
        self._changes += 1
        self._publish()

    def _publish(self) -> None:
        """Search attributes and current details, so operators see the state in the UI."""
        s = self.state
        workflow.upsert_search_attributes(
            [
                PROVIDER_ID.value_set(s.provider_id),
                RESELLER_TEAM_ID.value_set(s.reseller_team_id),
                PARTNER_STATUS.value_set(s.status.value),
                PARTNER_TIER.value_set(s.tier.value),
                GRACE_DEADLINE.value_set(s.grace_deadline)
                if s.grace_deadline
                else GRACE_DEADLINE.value_unset(),
            ]
        )
        self._publish_details()

    def _publish_details(self) -> None:
        workflow.set_current_details(partner_details(self.state))

    # ------------------------------------------------------------------ checks

    def _retention_check(
        self, metrics: PartnerMetrics, program: ProgramSettings
    ) -> list[CriterionResult]:
        return retention_check(metrics, program, self.state.tier)

    def _check_tier_in_program(self, tier: Tier, program: ProgramSettings) -> None:
        if tier not in program.partner_tiers:
            raise InvalidRequest(
                f"this program has a single tier: {tier.value} is not available, use silver"
            )

    # ------------------------------------------------------------------ side effects

    async def _load_context(self) -> PartnerContext:
        s = self.state
        context: PartnerContext = await run_activity(
            PartnerRecordActivities.load_partner_context,
            PartnerRef(provider_id=s.provider_id, reseller_team_id=s.reseller_team_id),
            summary=f"read the program of {s.provider_id} and the reseller {s.reseller_team_id}",
        )
        s.program = context.program
        return context

    async def _metrics(self, program: ProgramSettings, purpose: str) -> PartnerMetrics:
        s = self.state
        request = MetricsRequest(
            provider_id=s.provider_id,
            reseller_team_id=s.reseller_team_id,
            as_of=workflow.now(),
            window_days=program.metrics_window_days,
        )
        metrics: PartnerMetrics = await run_activity(
            MetricsActivities.compute_partner_metrics,
            request,
            summary=metrics_summary(
                s.reseller_team_id, request.window_days, request.as_of, purpose
            ),
        )
        return metrics

    async def _sync_offer_access(self, reason: str, *, revoke_selected: bool = False) -> None:
        s = self.state
        tier = s.tier if s.status.on_preferred_list else None
        grant_or_revoke = (
            OfferAccessActivities.grant_preferred_offers
            if tier
            else OfferAccessActivities.revoke_offer_access
        )
        change = OfferAccessChange(
            provider_id=s.provider_id,
            reseller_team_id=s.reseller_team_id,
            tier=tier,
            revoke_selected=revoke_selected,
            blocked_offer_ids=s.blocked_offer_ids,
            block_all=s.status is PartnerStatus.BLOCKED,
            reason=reason,
        )
        await run_activity(grant_or_revoke, change, summary=offer_access_summary(change))

    async def _end_exclusives(self, reason: str) -> None:
        """Tell each of the partner's agreements in force that the partner has left."""
        exclusives = await self._find_exclusives("to end them")
        for workflow_id in exclusives.workflow_ids:
            await self._signal_agreement(
                workflow_id, SignalName.PARTNER_LEFT, PartnerLeft(reason=reason)
            )

    async def _end_blocked_exclusives(self, reason: str, offer_ids: list[str]) -> None:
        """End the partner's agreements on the offers it is now blocked from (all, if none).

        An exclusive makes its offer `selected` for this partner alone, so once the partner
        may not see the offer nobody can. A regional exclusive is served through an offer of
        its own too: a block of that offer ends it like a service exclusive (blocks are by
        offer, not by ZIP code), while a block of other offers leaves either kind alone.
        """
        scope = f"offers {', '.join(offer_ids)}" if offer_ids else "all offers"
        exclusives = await self._find_exclusives(f"to end those on {scope}")
        signal = PartnerBlocked(reason=reason, offer_ids=offer_ids)
        for held in exclusives.agreements:
            if signal.covers(held.offer_id):
                await self._signal_agreement(held.workflow_id, SignalName.PARTNER_BLOCKED, signal)

    async def _find_exclusives(self, purpose: str) -> PartnerExclusives:
        s = self.state
        exclusives: PartnerExclusives = await run_activity(
            AgreementActivities.find_partner_exclusives,
            PartnerRef(provider_id=s.provider_id, reseller_team_id=s.reseller_team_id),
            summary=f"find the exclusive agreements {s.reseller_team_id} holds, {purpose}",
        )
        return exclusives

    async def _signal_agreement(self, workflow_id: str, name: SignalName, arg: BaseModel) -> None:
        try:
            await workflow.get_external_workflow_handle(workflow_id).signal(name, arg)
        except FailureError as error:
            # Already closed: it ended on its own. Its next review would catch it anyway.
            workflow.logger.warning("could not tell %s: %s", workflow_id, error)

    def _context(self, **fields: Any) -> NotificationContext:
        fields.setdefault("tier", self.state.tier)
        return NotificationContext(**fields)

    async def _notify(
        self,
        kind: NotificationKind,
        context: NotificationContext,
        *,
        sequence: int | None = None,
        to_provider: bool = False,
    ) -> None:
        """Send a message keyed by the event it reports: by default the latest transition."""
        s = self.state
        if sequence is None:
            sequence = s.transitions[-1].sequence
        request = NotificationRequest(
            idempotency_key=s.idempotency_key(workflow.info().workflow_id, kind.value, sequence),
            provider_id=s.provider_id,
            reseller_team_id=s.reseller_team_id,
            kind=kind,
            recipient=Recipient.PROVIDER if to_provider else Recipient.PARTNER,
            context=context,
        )
        await self._deliveries.send(request)

    async def _add_note(self, request: NoteInput) -> None:
        s = self.state
        note = Note(
            sequence=s.next_sequence(),
            at=workflow.now(),
            kind=request.kind,
            text=request.text,
            author=request.requested_by,
        )
        s.notes = [*s.notes, note][-KEPT_IN_STATE:]
        await run_activity(
            PartnerRecordActivities.record_note,
            NoteRecord(
                provider_id=s.provider_id,
                reseller_team_id=s.reseller_team_id,
                idempotency_key=s.idempotency_key(
                    workflow.info().workflow_id, "note", note.sequence
                ),
                note=note,
            ),
            summary=one_line(f"{request.kind.value} note on {s.reseller_team_id}: {request.text}"),
        )
