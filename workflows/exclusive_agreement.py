"""One exclusive agreement, from its grant through each review period and renewal to its end.

The `create` update grants the exclusive (or refuses the terms, and the run
ends). Each review period a durable timer scores the partner's orders under
the agreement; a breach opens a cure period, and a second breach in the term,
or one not cured in time, ends the exclusive. At term end the renewal criteria
renew it (continue-as-new under the same ID) or let it expire.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.common import InvalidRequest, run_activity
from workflows.deliveries import Deliveries

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from activities.agreements import AgreementActivities
    from models.agreement import (
        KEPT_IN_STATE,
        AgreementAmendment,
        AgreementEvent,
        AgreementEventKind,
        AgreementRequest,
        AgreementState,
        AgreementStatus,
        AgreementTerms,
        AgreementWorkflowInput,
        EarlyRenewal,
        PartnerBlocked,
        PartnerLeft,
        Scorecard,
        ScorecardKind,
        TerminationRequest,
        add_months,
        score,
    )
    from models.agreement_records import (
        AgreementEventRecord,
        AgreementMetricsRequest,
        AgreementRef,
        ExclusiveGrant,
        ExclusiveRelease,
        GrantResult,
        PartnerListing,
        ScorecardRecord,
    )
    from models.contract import (
        AGREEMENT_STATUS,
        AGREEMENT_WORKFLOW,
        PROVIDER_ID,
        RESELLER_TEAM_ID,
        QueryName,
        SignalName,
        UpdateName,
    )
    from models.metrics import PartnerMetrics, failed
    from models.notifications import (
        AgreementNotice,
        NotificationContext,
        NotificationKind,
        NotificationRequest,
        Recipient,
    )
    from models.partner import ActorKind
    from models.program import Tier
    from models.records import PartnerRef
    from models.summaries import day, one_line

PATCH_PROVIDER_TOLD_OF_END = "provider-told-of-end"
"""Runs from this patch on tell the provider too when an agreement ends without its action."""
UNCLAIMED_AFTER = timedelta(days=1)
"""A run started without its `create` update ends after this long."""


@dataclass(frozen=True)
class _Deadline:
    kind: str
    at: datetime
    summary: str


def _refusal(error: ActivityError) -> str | None:
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.type == "AgreementRefused":
        return cause.message
    return None


def _missed(card: Scorecard) -> str:
    return "; ".join(line.describe() for line in failed(card.lines))


def _scope(terms: AgreementTerms) -> str:
    """`regional exclusive on 9 ZIP codes`, `service exclusive`."""
    zips = f" on {len(terms.zip_codes)} ZIP codes" if terms.zip_codes else ""
    return f"{terms.kind.value} exclusive{zips}"


@workflow.defn(name=AGREEMENT_WORKFLOW)
class ExclusiveAgreementWorkflow:
    @workflow.init
    def __init__(self, input: AgreementWorkflowInput) -> None:
        self._input = input
        self._state = input.state
        self._refused: str | None = None
        self._lock = asyncio.Lock()
        self._changes = 0
        self._renewed = False
        self._deliveries = Deliveries()

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
        self._publish()
        self._deliveries.resume(self.state.undelivered)
        self.state.undelivered = []
        while not self.state.status.is_closed and not self._renewed:
            due = self._next_deadline()
            if due.at <= workflow.now():
                await self._on_deadline(due)
                continue
            try:
                await workflow.wait_condition(
                    partial(self._woken, self._changes),
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
        return self._changes != changes_seen

    def _next_deadline(self) -> _Deadline:
        s = self.state
        if s.status is AgreementStatus.IN_BREACH and s.cure_deadline is not None:
            return _Deadline(
                "cure",
                s.cure_deadline,
                f"cure period of {s.agreement_id} ends {day(s.cure_deadline)}: "
                "the orders placed during it decide",
            )
        at = s.next_review_at
        if s.period_number >= s.periods_in_term:
            what = f"term {s.term_number} of {s.agreement_id} ends {day(at)}: renew or expire"
        else:
            what = (
                f"period {s.period_number} of term {s.term_number} of {s.agreement_id} ends "
                f"{day(at)}: score it"
            )
        return _Deadline("review", at, what)

    async def _on_deadline(self, due: _Deadline) -> None:
        async with self._lock:
            current = self._next_deadline()
            if self.state.status.is_closed or current != due or due.at > workflow.now():
                return  # a handler ended the agreement or moved the deadline meanwhile
            if due.kind == "cure":
                await self._cure_check()
            else:
                await self._period_review()

    # ------------------------------------------------------------------ queries

    @workflow.query(name=QueryName.GET_STATE)
    def get_state(self) -> AgreementState | None:
        return self._state

    # ------------------------------------------------------------------ updates

    @workflow.update(name=UpdateName.CREATE)
    async def create(self, request: AgreementRequest) -> AgreementState:
        async with self._lock:
            self._check_create(request)
            if self._state is not None:
                return self._state  # the same agreement asked for again
            terms = request.terms
            now = workflow.now()
            term_end = add_months(now, terms.term_months)
            if terms.exclusive_until is not None and terms.exclusive_until < term_end:
                raise self._refuse(
                    f"exclusive_until {day(terms.exclusive_until)} falls before the first term "
                    f"ends on {day(term_end)}"
                )
            info = workflow.info()
            uid = info.run_id
            try:
                granted: GrantResult = await run_activity(
                    AgreementActivities.grant_exclusive,
                    ExclusiveGrant(
                        provider_id=self._input.provider_id,
                        agreement_id=self._input.agreement_id,
                        agreement_uid=uid,
                        workflow_id=info.workflow_id,
                        terms=terms,
                        starts_at=now,
                        term_end=term_end,
                    ),
                    summary=one_line(
                        f"make offer {terms.offer_id} selected for {terms.reseller_team_id} "
                        f"alone: {_scope(terms)} until {day(term_end)}"
                    ),
                )
            except ActivityError as error:
                message = _refusal(error)
                if message is None:
                    raise
                raise self._refuse(message) from error
            self._state = AgreementState(
                provider_id=self._input.provider_id,
                agreement_id=self._input.agreement_id,
                agreement_uid=uid,
                reseller_team_id=terms.reseller_team_id,
                terms=terms,
                created_at=now,
                term_start=now,
                term_end=term_end,
                previous_offer=granted.previous_offer,
            )
            await self._event(
                AgreementEventKind.CREATED,
                f"{terms.kind.value} exclusive on offer {terms.offer_id} granted to "
                f"{terms.reseller_team_id} until {day(term_end)} (was "
                f"{granted.previous_offer.visibility.value})",
                ActorKind.PROVIDER,
                request.requested_by,
            )
            await self._notify(NotificationKind.EXCLUSIVE_GRANTED)
            return self._state

    @create.validator
    def _validate_create(self, request: AgreementRequest) -> None:
        self._check_create(request)

    def _check_create(self, request: AgreementRequest) -> None:
        if self._refused is not None:
            raise InvalidRequest(self._refused)
        s = self._state
        if s is None:
            return
        if (request.terms.reseller_team_id, request.terms.offer_id) != (
            s.reseller_team_id,
            s.terms.offer_id,
        ):
            raise InvalidRequest(
                f"agreement {s.agreement_id} already exists for {s.reseller_team_id} on offer "
                f"{s.terms.offer_id} ({s.status.value}); amend it, or choose another agreement ID"
            )

    def _refuse(self, message: str) -> InvalidRequest:
        """The terms cannot be granted: this run ends without an agreement."""
        self._refused = message
        workflow.upsert_search_attributes([AGREEMENT_STATUS.value_set(AgreementStatus.REFUSED)])
        workflow.set_current_details(f"**refused**\n\n{message}")
        return InvalidRequest(message)

    @workflow.update(name=UpdateName.AMEND)
    async def amend(self, amendment: AgreementAmendment) -> AgreementState:
        async with self._lock:
            terms = self._amended_terms(amendment)
            s = self.state
            s.pending_terms = terms
            changed = sorted(amendment.changes)
            await self._event(
                AgreementEventKind.AMENDED,
                f"terms amended ({', '.join(changed)}), in force from "
                f"{day(s.next_review_at)}" + (f": {amendment.reason}" if amendment.reason else ""),
                ActorKind.PROVIDER,
                amendment.requested_by,
            )
            await self._notify(NotificationKind.EXCLUSIVE_AMENDED, reason=amendment.reason)
            return s

    @amend.validator
    def _validate_amend(self, amendment: AgreementAmendment) -> None:
        self._amended_terms(amendment)

    def _amended_terms(self, amendment: AgreementAmendment) -> AgreementTerms:
        s = self._check_open()
        try:
            terms = (s.pending_terms or s.terms).amended(amendment)
        except ValidationError as error:
            problems = "; ".join(e["msg"] for e in error.errors())
            raise InvalidRequest(f"the amended terms are not valid: {problems}") from error
        if terms.exclusive_until is not None and terms.exclusive_until < s.term_end:
            raise InvalidRequest(
                f"exclusive_until {day(terms.exclusive_until)} falls before the current term "
                f"ends on {day(s.term_end)}; terminate the agreement to end it sooner"
            )
        return terms

    @workflow.update(name=UpdateName.TERMINATE)
    async def terminate(self, request: TerminationRequest) -> AgreementState:
        async with self._lock:
            self._check_open()
            await self._end(
                AgreementStatus.TERMINATED,
                f"terminated early by {request.requested_by}: {request.reason}",
                ActorKind.PROVIDER,
                request.requested_by,
            )
            return self.state

    @terminate.validator
    def _validate_terminate(self, request: TerminationRequest) -> None:
        self._check_open()

    @workflow.update(name=UpdateName.RENEW_EARLY)
    async def renew_early(self, request: EarlyRenewal) -> AgreementState:
        async with self._lock:
            self._check_renew_early()
            s = self.state
            s.renewal_confirmed_by = request.requested_by
            next_end = self._next_term_end()
            await self._event(
                AgreementEventKind.RENEWAL_CONFIRMED,
                f"renewed early by {request.requested_by}: term {s.term_number + 1} runs from "
                f"{day(s.term_end)} to {day(next_end)}"
                + (f" ({request.reason})" if request.reason else ""),
                ActorKind.PROVIDER,
                request.requested_by,
            )
            await self._notify(
                NotificationKind.EXCLUSIVE_RENEWED,
                reason=request.reason,
                term_number=s.term_number + 1,
                term_end=next_end,
            )
            return s

    @renew_early.validator
    def _validate_renew_early(self, request: EarlyRenewal) -> None:
        self._check_renew_early()

    def _check_renew_early(self) -> None:
        s = self._check_open()
        if s.status is AgreementStatus.IN_BREACH:
            raise InvalidRequest(
                f"agreement {s.agreement_id} is in breach until {day(s.cure_deadline)}; "
                "renew it once the breach is cured"
            )
        if s.renewal_confirmed_by is not None:
            raise InvalidRequest(
                f"agreement {s.agreement_id} is already renewed for term {s.term_number + 1}"
            )
        blocked = self._past_exclusive_until()
        if blocked:
            raise InvalidRequest(blocked)

    def _check_open(self) -> AgreementState:
        if self._state is None:
            raise InvalidRequest(self._refused or "the agreement has not been created")
        if self._state.status.is_closed:
            raise InvalidRequest(
                f"agreement {self._state.agreement_id} has {self._state.status.value}: "
                f"{self._state.end_reason}"
            )
        return self._state

    # ------------------------------------------------------------------ signals

    @workflow.signal(name=SignalName.PARTNER_LEFT)
    async def partner_left(self, signal: PartnerLeft) -> None:
        async with self._lock:
            if self._state is None or self._state.status.is_closed:
                return
            await self._end(
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
            if self._state is None or self._state.status.is_closed:
                return
            if not signal.covers(self._state.terms.offer_id):
                return
            await self._end(
                AgreementStatus.TERMINATED,
                f"partner blocked: {signal.reason}",
                ActorKind.PARTNER_LIFECYCLE,
                None,
            )

    # ------------------------------------------------------------------ reviews

    async def _period_review(self) -> None:
        """Score the period that has just ended; at term end, renew or expire."""
        s = self.state
        if not await self._partner_still_listed():
            return
        last = s.period_number >= s.periods_in_term
        card = await self._scorecard(
            ScorecardKind.PERIOD, s.period_start, s.next_review_at, s.terms.min_monthly_orders
        )
        if card.met:
            await self._event(
                AgreementEventKind.REVIEWED,
                f"period {card.period_number} of term {s.term_number} met every term",
                ActorKind.TIMER,
                "review-period",
            )
            await self._notify(NotificationKind.EXCLUSIVE_REVIEW, scorecard=card)
        else:
            s.breaches_in_term += 1
            if s.breaches_in_term > 1:
                await self._end(
                    AgreementStatus.TERMINATED,
                    f"second breach in term {s.term_number}: {_missed(card)}",
                    ActorKind.TIMER,
                    "review-period",
                    card,
                )
                return
            if not last:
                s.status = AgreementStatus.IN_BREACH
                s.breach_at = workflow.now()
                s.cure_deadline = s.breach_at + timedelta(days=s.terms.cure_period_days)
            await self._event(
                AgreementEventKind.BREACH,
                f"breach in period {card.period_number} of term {s.term_number}: "
                f"{_missed(card)}"
                + (
                    f"; cure period until {day(s.cure_deadline)}"
                    if not last
                    else "; the term ends now, so the renewal criteria decide"
                ),
                ActorKind.TIMER,
                "review-period",
            )
            await self._notify(NotificationKind.EXCLUSIVE_BREACH, scorecard=card)
        if last:
            await self._term_end()
            return
        s.period_number += 1
        await self._amendments_in_force()

    async def _cure_check(self) -> None:
        """The cure period is over: the orders placed during it decide."""
        s = self.state
        assert s.breach_at is not None and s.cure_deadline is not None
        card = await self._scorecard(
            ScorecardKind.CURE, s.breach_at, s.cure_deadline, s.terms.min_monthly_orders
        )
        if not card.met:
            await self._end(
                AgreementStatus.TERMINATED,
                f"still in breach when the cure period ended on {day(s.cure_deadline)}: "
                f"{_missed(card)}",
                ActorKind.TIMER,
                "cure-period",
                card,
            )
            return
        s.status = AgreementStatus.ACTIVE
        s.breach_at = None
        s.cure_deadline = None
        await self._event(
            AgreementEventKind.CURED,
            "breach cured within the cure period",
            ActorKind.TIMER,
            "cure-period",
        )
        await self._notify(NotificationKind.EXCLUSIVE_CURED, scorecard=card)

    async def _term_end(self) -> None:
        s = self.state
        next_terms = s.pending_terms or s.terms
        renewal = next_terms.renewal
        minimum = (
            renewal.min_monthly_orders
            if renewal.min_monthly_orders is not None
            else s.terms.min_monthly_orders
        )
        card = await self._scorecard(ScorecardKind.TERM, s.term_start, s.term_end, minimum)
        confirmed = s.renewal_confirmed_by
        reasons = []
        blocked = self._past_exclusive_until()
        if blocked:
            reasons.append(blocked)
        elif confirmed is None:
            if not renewal.auto_renew:
                reasons.append("the agreement does not renew automatically")
            if not card.met:
                reasons.append(f"the term's orders missed the renewal criteria: {_missed(card)}")
            if s.breaches_in_term > renewal.max_breaches:
                reasons.append(
                    f"{s.breaches_in_term} breach(es) in the term, at most "
                    f"{renewal.max_breaches} allowed for renewal"
                )
        if reasons:
            await self._end(
                AgreementStatus.EXPIRED,
                f"term {s.term_number} ended on {day(s.term_end)} without renewal: "
                + "; ".join(reasons),
                ActorKind.TIMER,
                "term-end",
                card,
            )
            return
        ended_term, next_end = s.term_number, self._next_term_end()
        s.term_number += 1
        s.term_start, s.term_end = s.term_end, next_end
        s.period_number = 1
        s.breaches_in_term = 0
        s.status = AgreementStatus.ACTIVE
        s.breach_at = s.cure_deadline = None
        s.renewal_confirmed_by = None
        s.terms, s.pending_terms = next_terms, None
        why = f"confirmed early by {confirmed}" if confirmed else "met the renewal criteria"
        await self._event(
            AgreementEventKind.RENEWED,
            f"term {ended_term} {why}; term {s.term_number} runs until {day(s.term_end)}",
            ActorKind.TIMER,
            "term-end",
        )
        if confirmed is None:
            await self._notify(NotificationKind.EXCLUSIVE_RENEWED, reason=why, scorecard=card)
        self._renewed = True

    async def _amendments_in_force(self) -> None:
        s = self.state
        if s.pending_terms is None:
            return
        s.terms, s.pending_terms = s.pending_terms, None
        await self._event(
            AgreementEventKind.AMENDMENT_IN_FORCE,
            f"amended terms in force from period {s.period_number} of term {s.term_number}",
            ActorKind.TIMER,
            "review-period",
        )

    def _next_term_end(self) -> datetime:
        s = self.state
        return add_months(s.term_end, (s.pending_terms or s.terms).term_months)

    def _past_exclusive_until(self) -> str | None:
        s = self.state
        until = (s.pending_terms or s.terms).exclusive_until
        next_end = self._next_term_end()
        if until is not None and next_end > until:
            return (
                f"another term would run until {day(next_end)}, past exclusive_until {day(until)}"
            )
        return None

    async def _partner_still_listed(self) -> bool:
        s = self.state
        listing: PartnerListing = await run_activity(
            AgreementActivities.check_partner_listing,
            PartnerRef(provider_id=s.provider_id, reseller_team_id=s.reseller_team_id),
            summary=f"check that {s.reseller_team_id} is still on {s.provider_id}'s preferred "
            f"list, before scoring period {s.period_number} of term {s.term_number}",
        )
        if listing.on_preferred_list:
            return True
        await self._end(
            AgreementStatus.TERMINATED,
            f"{s.reseller_team_id} is no longer on the preferred list "
            f"({listing.status or 'not enrolled'})",
            ActorKind.TIMER,
            "review-period",
        )
        return False

    # ------------------------------------------------------------------ the end

    async def _end(
        self,
        status: AgreementStatus,
        reason: str,
        actor: ActorKind,
        actor_id: str | None,
        card: Scorecard | None = None,
    ) -> None:
        """Give the offer back its previous visibility, then close and tell the partner."""
        s = self.state
        previous = s.previous_offer.visibility.value if s.previous_offer else "as it was"
        await run_activity(
            AgreementActivities.end_exclusive,
            ExclusiveRelease(
                **self._ref().model_dump(), status=status, reason=reason, at=workflow.now()
            ),
            summary=one_line(
                f"end {s.agreement_id} ({status.value}): offer {s.terms.offer_id} back to "
                f"{previous}; {reason}"
            ),
        )
        s.status = status
        s.ended_at = workflow.now()
        s.end_reason = reason
        s.cure_deadline = None
        kind = (
            AgreementEventKind.EXPIRED
            if status is AgreementStatus.EXPIRED
            else AgreementEventKind.TERMINATED
        )
        await self._event(kind, reason, actor, actor_id)
        await self._notify(
            NotificationKind.EXCLUSIVE_EXPIRED
            if status is AgreementStatus.EXPIRED
            else NotificationKind.EXCLUSIVE_TERMINATED,
            reason=reason,
            scorecard=card,
        )
        if actor is not ActorKind.PROVIDER and workflow.patched(PATCH_PROVIDER_TOLD_OF_END):
            await self._notify(
                NotificationKind.EXCLUSIVE_ENDED_NOTICE,
                reason=reason,
                scorecard=card,
                ended_as=status,
                recipient=Recipient.PROVIDER,
            )

    # ------------------------------------------------------------------ side effects

    def _ref(self) -> AgreementRef:
        s = self.state
        return AgreementRef(
            provider_id=s.provider_id, agreement_id=s.agreement_id, agreement_uid=s.agreement_uid
        )

    async def _scorecard(
        self, kind: ScorecardKind, start: datetime, end: datetime, min_monthly_orders: int
    ) -> Scorecard:
        """Score the partner's orders under the agreement in [start, end), and store it."""
        s = self.state
        metrics: PartnerMetrics = await run_activity(
            AgreementActivities.compute_agreement_metrics,
            AgreementMetricsRequest(
                provider_id=s.provider_id,
                reseller_team_id=s.reseller_team_id,
                offer_id=s.terms.offer_id,
                zip_codes=s.terms.zip_codes,
                window_start=start,
                window_end=end,
            ),
            summary=one_line(
                f"count {s.reseller_team_id}'s orders under {s.agreement_id} "
                f"({_scope(s.terms)}), {day(start)} to {day(end)}, for its {kind.value} scorecard"
            ),
        )
        lines = score(metrics, min_monthly_orders, s.terms.standards)
        card = Scorecard(
            sequence=s.next_sequence(),
            kind=kind,
            term_number=s.term_number,
            period_number=0 if kind is ScorecardKind.TERM else s.period_number,
            period_start=start,
            period_end=end,
            lines=lines,
            met=all(line.met for line in lines),
            metrics=metrics,
        )
        s.scorecards = [*s.scorecards, card][-KEPT_IN_STATE:]
        await run_activity(
            AgreementActivities.record_scorecard,
            ScorecardRecord(
                **self._ref().model_dump(),
                reseller_team_id=s.reseller_team_id,
                idempotency_key=s.idempotency_key(
                    workflow.info().workflow_id, "scorecard", card.sequence
                ),
                scorecard=card,
            ),
            summary=one_line(
                f"{kind.value} scorecard of {s.agreement_id}, {day(start)} to {day(end)}: "
                + ("met every term" if card.met else f"missed {_missed(card)}")
            ),
        )
        return card

    async def _event(
        self, kind: AgreementEventKind, summary: str, actor: ActorKind, actor_id: str | None
    ) -> None:
        """Record what happened, in the state, the database and the UI."""
        s = self.state
        event = AgreementEvent(
            sequence=s.next_sequence(),
            at=workflow.now(),
            kind=kind,
            status=s.status,
            summary=summary,
            actor=actor,
            actor_id=actor_id,
        )
        s.events = [*s.events, event][-KEPT_IN_STATE:]
        self._changes += 1
        self._publish()
        await run_activity(
            AgreementActivities.record_agreement_event,
            AgreementEventRecord(
                **self._ref().model_dump(),
                idempotency_key=s.idempotency_key(
                    workflow.info().workflow_id, "event", event.sequence
                ),
                event=event,
                terms=s.terms,
                term_number=s.term_number,
                term_end=s.term_end,
                breaches_in_term=s.breaches_in_term,
            ),
            summary=one_line(f"{s.agreement_id}: {kind.value} ({s.status.value}): {summary}"),
        )

    async def _notify(
        self, kind: NotificationKind, recipient: Recipient = Recipient.PARTNER, **notice: Any
    ) -> None:
        """Tell the partner (or the provider), keyed by the latest event so a retry never sends
        twice."""
        s = self.state
        reason = notice.pop("reason", None)
        fields: dict[str, Any] = {
            "agreement_id": s.agreement_id,
            "kind": s.terms.kind,
            "offer_id": s.terms.offer_id,
            "zip_codes": s.terms.zip_codes,
            "term_number": s.term_number,
            "term_end": s.term_end,
            "cure_deadline": s.cure_deadline,
        }
        fields.update(notice)
        request = NotificationRequest(
            idempotency_key=s.idempotency_key(
                workflow.info().workflow_id, kind.value, s.events[-1].sequence
            ),
            provider_id=s.provider_id,
            reseller_team_id=s.reseller_team_id,
            kind=kind,
            recipient=recipient,
            context=NotificationContext(
                tier=Tier.SILVER, reason=reason, agreement=AgreementNotice(**fields)
            ),
        )
        await self._deliveries.send(request)

    def _publish(self) -> None:
        s = self.state
        workflow.upsert_search_attributes(
            [
                PROVIDER_ID.value_set(s.provider_id),
                RESELLER_TEAM_ID.value_set(s.reseller_team_id),
                AGREEMENT_STATUS.value_set(s.status.value),
            ]
        )
        lines = [
            f"Exclusive {s.agreement_id} of provider {s.provider_id}: **{s.status.value}**, "
            f"{s.terms.kind.value}, {s.reseller_team_id} on offer {s.terms.offer_id}",
            f"term {s.term_number}: {day(s.term_start)} to {day(s.term_end)}, "
            f"period {s.period_number} of {s.periods_in_term}",
        ]
        if s.status.is_closed:
            lines.append(f"ended {day(s.ended_at)}: {s.end_reason}")
        else:
            lines.append(f"next review: {day(s.next_review_at)}")
        if s.cure_deadline:
            lines.append(f"cure period ends: {day(s.cure_deadline)}")
        if s.pending_terms:
            lines.append(f"amended terms apply from {day(s.next_review_at)}")
        if s.renewal_confirmed_by:
            lines.append(f"renewed early by {s.renewal_confirmed_by}")
        if s.scorecards:
            card = s.scorecards[-1]
            lines.append(
                f"last review: {card.kind.value} scorecard {day(card.period_start)} to "
                f"{day(card.period_end)}, " + ("met" if card.met else f"missed {_missed(card)}")
            )
        else:
            lines.append("last review: none yet")
        workflow.set_current_details("\n\n".join(lines))
