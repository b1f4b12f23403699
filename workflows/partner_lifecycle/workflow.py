"""The partner's entity workflow: its run loop, and the requests and signals it takes.

Each handler takes the lock, asks the rules whether the request fits the state, and hands
the work to the enrollment, transition and blocking helpers it inherits.
"""

from __future__ import annotations

import asyncio
from functools import partial

from temporalio import workflow

from workflows.deliveries import Deliveries
from workflows.partner_lifecycle.blocking import Blocking
from workflows.partner_lifecycle.enrollment import Enrollment
from workflows.partner_lifecycle.rules import (
    Deadline,
    DeadlineKind,
    check_block,
    check_enroll,
    check_flag,
    check_grace_change,
    check_remove,
    check_report,
    check_tier_change,
    check_tier_in_program,
    check_unblock,
    enrolls_later,
    is_due,
    is_repeated_enrollment,
    next_deadline,
    started_for_nothing,
    takes_nomination,
)
from workflows.partner_lifecycle.transitions import Transitions
from workflows.patches import (
    PATCH_ENROLL_IN_ONE_TASK,
    PATCH_FIRST_REQUEST_DECIDES,
)

with workflow.unsafe.imports_passed_through():
    from models.contract import PARTNER_WORKFLOW, QueryName, SignalName, UpdateName
    from models.partner import (
        ActorKind,
        AtRiskFlag,
        BlockRequest,
        EnrollmentRequest,
        GraceChange,
        IssueReport,
        Nomination,
        NoteInput,
        PartnerState,
        PartnerWorkflowInput,
        RemovalRequest,
        ReviewSignal,
        TierChange,
        UnblockRequest,
    )


@workflow.defn(name=PARTNER_WORKFLOW)
class PartnerLifecycleWorkflow(Enrollment, Transitions, Blocking):
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
        self._outbox = []
        """Messages to send from the run loop, after the request that caused them answered."""
        self._deliveries = Deliveries()
        self._writes = None

    # ------------------------------------------------------------------ run loop

    @workflow.run
    async def run(self, input: PartnerWorkflowInput) -> PartnerState:
        self._publish()
        self._deliveries.resume(self.state.undelivered)
        self.state.undelivered = []
        if input.state is None and workflow.patched(PATCH_FIRST_REQUEST_DECIDES):
            await workflow.wait_condition(workflow.all_handlers_finished)
            if started_for_nothing(self.state):
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
            due = next_deadline(self.state)
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

    async def _on_deadline(self, due: Deadline) -> None:
        async with self._lock:
            if not is_due(self.state, due.kind, workflow.now()):
                return  # a handler moved or cancelled it while we waited for the lock
            match due.kind:
                case DeadlineKind.EFFECTIVE_DATE:
                    request = self.state.scheduled_enrollment
                    assert request is not None
                    await self._enroll(request, ActorKind.TIMER, "effective date reached")
                case DeadlineKind.GRACE:
                    await self._grace_expired()
                case DeadlineKind.LAPSE:
                    await self._lapse()

    # ------------------------------------------------------------------ queries

    @workflow.query(name=QueryName.GET_STATE)
    def get_state(self) -> PartnerState:
        return self.state

    # ------------------------------------------------------------------ updates

    @workflow.update(name=UpdateName.ENROLL)
    async def enroll(self, request: EnrollmentRequest) -> PartnerState:
        async with self._lock:
            check_enroll(self.state, request)
            if is_repeated_enrollment(self.state, request):
                return self.state  # same partner, no second welcome
            later = enrolls_later(request, workflow.now())
            if not later and workflow.patched(PATCH_ENROLL_IN_ONE_TASK):
                await self._enroll_in_one_task(request, ActorKind.PROVIDER, request.requested_by)
                return self.state
            context = await self._load_context()
            check_tier_in_program(request.tier, context.program)
            if enrolls_later(request, workflow.now()):  # the clock moved while it loaded
                await self._schedule_enrollment(request)
            else:
                await self._enroll(request, ActorKind.PROVIDER, request.requested_by, context)
            return self.state

    @enroll.validator
    def _validate_enroll(self, request: EnrollmentRequest) -> None:
        check_enroll(self.state, request)

    @workflow.update(name=UpdateName.FLAG_AT_RISK)
    async def flag_at_risk(self, request: AtRiskFlag) -> PartnerState:
        async with self._lock:
            check_flag(self.state)
            await self._flag_at_risk(request)
            return self.state

    @flag_at_risk.validator
    def _validate_flag(self, request: AtRiskFlag) -> None:
        check_flag(self.state)

    @workflow.update(name=UpdateName.CHANGE_GRACE_DEADLINE)
    async def change_grace_deadline(self, request: GraceChange) -> PartnerState:
        async with self._lock:
            check_grace_change(self.state, request, workflow.now())
            await self._move_grace_deadline(request)
            return self.state

    @change_grace_deadline.validator
    def _validate_grace_change(self, request: GraceChange) -> None:
        check_grace_change(self.state, request, workflow.now())

    @workflow.update(name=UpdateName.CHANGE_TIER)
    async def change_tier(self, request: TierChange) -> PartnerState:
        async with self._lock:
            check_tier_change(self.state, request)
            context = await self._load_context()
            check_tier_in_program(request.tier, context.program)
            await self._change_tier(
                request.tier, request.reason, ActorKind.PROVIDER, request.requested_by
            )
            return self.state

    @change_tier.validator
    def _validate_tier_change(self, request: TierChange) -> None:
        check_tier_change(self.state, request)

    @workflow.update(name=UpdateName.BLOCK)
    async def block(self, request: BlockRequest) -> PartnerState:
        async with self._lock:
            check_block(self.state, request)
            await self._block(request)
            return self.state

    @block.validator
    def _validate_block(self, request: BlockRequest) -> None:
        check_block(self.state, request)

    @workflow.update(name=UpdateName.UNBLOCK)
    async def unblock(self, request: UnblockRequest) -> PartnerState:
        async with self._lock:
            check_unblock(self.state)
            await self._unblock(request)
            return self.state

    @unblock.validator
    def _validate_unblock(self, request: UnblockRequest) -> None:
        check_unblock(self.state)

    @workflow.update(name=UpdateName.REMOVE)
    async def remove(self, request: RemovalRequest) -> PartnerState:
        async with self._lock:
            check_remove(self.state)
            await self._remove(request.reason, [], ActorKind.PROVIDER, request.requested_by)
            return self.state

    @remove.validator
    def _validate_remove(self, request: RemovalRequest) -> None:
        check_remove(self.state)

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
            check_report(self.state)
            context = await self._load_context()
            await self._respond_to_issue(report, context.program)
            return self.state

    @report_issue.validator
    def _validate_report(self, report: IssueReport) -> None:
        check_report(self.state)

    # ------------------------------------------------------------------ signals

    @workflow.signal(name=SignalName.REVIEW)
    async def review(self, signal: ReviewSignal) -> None:
        async with self._lock:
            if self.state.last_review_id == signal.review_id:
                return  # the same review delivered twice
            await self._take_review(signal)

    @workflow.signal(name=SignalName.NOMINATE)
    async def nominate(self, nomination: Nomination) -> None:
        async with self._lock:
            if takes_nomination(self.state):
                await self._nominate(nomination)
