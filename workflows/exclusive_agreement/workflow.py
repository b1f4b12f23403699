"""The workflow of one exclusive agreement: its run loop, and the requests and signals it takes.

Each handler takes the lock, asks the rules, and leaves the commands to the effects and the
reviews, so that what an agreement decides can be read apart from how it is carried out.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from functools import partial

from temporalio import workflow

from workflows.common import InvalidRequest
from workflows.deliveries import Deliveries
from workflows.exclusive_agreement import reviews, rules
from workflows.exclusive_agreement.effects import AgreementEffects
from workflows.exclusive_agreement.rules import AgreementDeadline, Deadline

with workflow.unsafe.imports_passed_through():
    from models.agreement import (
        AgreementAmendment,
        AgreementEventKind,
        AgreementRequest,
        AgreementState,
        AgreementStatus,
        AgreementWorkflowInput,
        EarlyRenewal,
        PartnerBlocked,
        PartnerLeft,
        TerminationRequest,
    )
    from models.contract import AGREEMENT_WORKFLOW, QueryName, SignalName, UpdateName
    from models.notifications import NotificationKind
    from models.partner import ActorKind
    from models.search_attributes import AGREEMENT_STATUS
    from models.summaries import day

UNCLAIMED_AFTER = timedelta(days=1)
"""A run started without its `create` update ends after this long."""


@workflow.defn(name=AGREEMENT_WORKFLOW)
class ExclusiveAgreementWorkflow:
    @workflow.init
    def __init__(self, input: AgreementWorkflowInput) -> None:
        self._input = input
        self._state = input.state
        self._refused: str | None = None
        self._lock = asyncio.Lock()
        self._renewed = False
        self._deliveries = Deliveries()
        self._effects = AgreementEffects(self._deliveries)

    @property
    def state(self) -> AgreementState:
        assert self._state is not None, "the agreement has not been created"
        return self._state

    # ------------------------------------------------------------------ run loop

    @workflow.run
    async def run(self, input: AgreementWorkflowInput) -> AgreementState | None:
        if self._state is None:
            try:
                await workflow.wait_condition(
                    lambda: self._state is not None or self._refused is not None,
                    timeout=UNCLAIMED_AFTER,
                    timeout_summary=f"wait a day at most for the terms of {input.agreement_id}",
                )
            except TimeoutError:
                workflow.set_current_details("closed: no terms arrived")
                return None
            await workflow.wait_condition(workflow.all_handlers_finished)
            if self._state is None:
                return None
        self._effects.publish(self.state)
        self._deliveries.resume(self.state.undelivered)
        self.state.undelivered = []
        while not self.state.status.is_closed and not self._renewed:
            due = rules.next_deadline(self.state)
            if due.at <= workflow.now():
                await self._on_deadline(due)
                continue
            try:
                await workflow.wait_condition(
                    partial(self._woken, self._effects.changes),
                    timeout=due.at - workflow.now(),
                    timeout_summary=due.summary,
                )
            except TimeoutError:
                await self._on_deadline(due)
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self._renewed and not self.state.status.is_closed:
            await self._deliveries.settle()
            await workflow.wait_condition(workflow.all_handlers_finished)
        if self._renewed and not self.state.status.is_closed:
            self.state.undelivered = self._deliveries.pending
            workflow.continue_as_new(
                AgreementWorkflowInput(
                    provider_id=self.state.provider_id,
                    agreement_id=self.state.agreement_id,
                    state=self.state,
                )
            )
        await self._deliveries.close()
        return self.state

    def _woken(self, changes_seen: int) -> bool:
        return self._effects.changes != changes_seen

    async def _on_deadline(self, due: Deadline) -> None:
        async with self._lock:
            if not rules.still_due(self.state, due, workflow.now()):
                return
            if due.kind is AgreementDeadline.CURE:
                await reviews.check_cure(self.state, self._effects)
            elif await reviews.review_period(self.state, self._effects):
                self._renewed = True

    # ------------------------------------------------------------------ queries

    @workflow.query(name=QueryName.GET_STATE)
    def get_state(self) -> AgreementState | None:
        return self._state

    # ------------------------------------------------------------------ updates

    @workflow.update(name=UpdateName.CREATE)
    async def create(self, request: AgreementRequest) -> AgreementState:
        async with self._lock:
            rules.check_create(self._state, self._refused, request)
            if self._state is not None:
                return self._state  # the same agreement asked for again
            terms, now = request.terms, workflow.now()
            try:
                term_end = rules.first_term_end(terms, now)
                granted = await self._effects.grant(self._input, terms, now, term_end)
            except InvalidRequest as refusal:
                self._refuse(refusal.message)
                raise
            s = self._state = AgreementState(
                provider_id=self._input.provider_id,
                agreement_id=self._input.agreement_id,
                agreement_uid=workflow.info().run_id,
                reseller_team_id=terms.reseller_team_id,
                terms=terms,
                created_at=now,
                term_start=now,
                term_end=term_end,
                previous_offer=granted.previous_offer,
            )
            await self._effects.event(
                s,
                AgreementEventKind.CREATED,
                f"{terms.kind.value} exclusive on offer {terms.offer_id} granted to "
                f"{terms.reseller_team_id} until {day(term_end)} (was "
                f"{granted.previous_offer.visibility.value})",
                ActorKind.PROVIDER,
                request.requested_by,
            )
            await self._effects.notify(s, NotificationKind.EXCLUSIVE_GRANTED)
            return s

    @create.validator
    def _validate_create(self, request: AgreementRequest) -> None:
        rules.check_create(self._state, self._refused, request)

    def _refuse(self, message: str) -> None:
        """The terms cannot be granted: this run ends without an agreement."""
        self._refused = message
        workflow.upsert_search_attributes([AGREEMENT_STATUS.value_set(AgreementStatus.REFUSED)])
        workflow.set_current_details(f"**refused**\n\n{message}")

    @workflow.update(name=UpdateName.AMEND)
    async def amend(self, amendment: AgreementAmendment) -> AgreementState:
        async with self._lock:
            s = self._open()
            s.pending_terms = rules.amended_terms(s, amendment)
            await self._effects.event(
                s,
                AgreementEventKind.AMENDED,
                f"terms amended ({', '.join(sorted(amendment.changes))}), in force from "
                f"{day(s.next_review_at)}" + (f": {amendment.reason}" if amendment.reason else ""),
                ActorKind.PROVIDER,
                amendment.requested_by,
            )
            await self._effects.notify(
                s, NotificationKind.EXCLUSIVE_AMENDED, reason=amendment.reason
            )
            return s

    @amend.validator
    def _validate_amend(self, amendment: AgreementAmendment) -> None:
        rules.amended_terms(self._open(), amendment)

    @workflow.update(name=UpdateName.TERMINATE)
    async def terminate(self, request: TerminationRequest) -> AgreementState:
        async with self._lock:
            s = self._open()
            await self._effects.end(
                s,
                AgreementStatus.TERMINATED,
                f"terminated early by {request.requested_by}: {request.reason}",
                ActorKind.PROVIDER,
                request.requested_by,
            )
            return s

    @terminate.validator
    def _validate_terminate(self, request: TerminationRequest) -> None:
        self._open()

    @workflow.update(name=UpdateName.RENEW_EARLY)
    async def renew_early(self, request: EarlyRenewal) -> AgreementState:
        async with self._lock:
            s = self._open()
            rules.check_renew_early(s)
            s.renewal_confirmed_by = request.requested_by
            next_end = rules.next_term_end(s)
            await self._effects.event(
                s,
                AgreementEventKind.RENEWAL_CONFIRMED,
                f"renewed early by {request.requested_by}: term {s.term_number + 1} runs from "
                f"{day(s.term_end)} to {day(next_end)}"
                + (f" ({request.reason})" if request.reason else ""),
                ActorKind.PROVIDER,
                request.requested_by,
            )
            await self._effects.notify(
                s,
                NotificationKind.EXCLUSIVE_RENEWED,
                reason=request.reason,
                term_number=s.term_number + 1,
                term_end=next_end,
            )
            return s

    @renew_early.validator
    def _validate_renew_early(self, request: EarlyRenewal) -> None:
        rules.check_renew_early(self._open())

    def _open(self) -> AgreementState:
        return rules.check_open(self._state, self._refused)

    # ------------------------------------------------------------------ signals

    @workflow.signal(name=SignalName.PARTNER_LEFT)
    async def partner_left(self, signal: PartnerLeft) -> None:
        async with self._lock:
            if rules.is_open(self._state):
                await self._effects.end(
                    self._state,
                    AgreementStatus.TERMINATED,
                    f"the partner left the preferred list: {signal.reason}",
                    ActorKind.PARTNER_LIFECYCLE,
                    None,
                )

    @workflow.signal(name=SignalName.PARTNER_BLOCKED)
    async def partner_blocked(self, signal: PartnerBlocked) -> None:
        """The partner's lifecycle blocked it from this offer (or from all): the offer gets its
        previous visibility back, as nobody could see it while `selected` for a blocked partner.
        A later unblock does not bring the exclusive back; the provider grants a new one."""
        async with self._lock:
            if rules.is_open(self._state) and signal.covers(self._state.terms.offer_id):
                await self._effects.end(
                    self._state,
                    AgreementStatus.TERMINATED,
                    f"partner blocked: {signal.reason}",
                    ActorKind.PARTNER_LIFECYCLE,
                    None,
                )
