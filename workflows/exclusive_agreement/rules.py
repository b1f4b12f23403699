"""What the agreement decides, as pure functions of its state, a request, a scorecard and `now`.

Each returns its decision or raises the refusal (`InvalidRequest`) the provider sees. None
touches `workflow`: the workflow and its reviews carry out what these decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeGuard

from temporalio import workflow

from workflows.common import InvalidRequest

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from models.agreement import (
        AgreementAmendment,
        AgreementRequest,
        AgreementState,
        AgreementStatus,
        AgreementTerms,
        Scorecard,
        add_months,
    )
    from models.metrics import failed
    from models.summaries import day


class AgreementDeadline(StrEnum):
    """What the agreement's durable timer waits for."""

    REVIEW = "review"
    """The review period (the last one: the term) ends and is scored."""
    CURE = "cure"
    """The cure period of a breach ends; the orders placed during it decide."""


@dataclass(frozen=True)
class Deadline:
    kind: AgreementDeadline
    at: datetime
    summary: str


@dataclass(frozen=True)
class Breach:
    """What a missed review period leads to."""

    ends_agreement: str | None = None
    """The reason the agreement ends: the second breach in the term."""
    cure_deadline: datetime | None = None
    """When the cure period it opens ends; None where the term ends with the period."""


def missed(card: Scorecard) -> str:
    """The terms a scorecard missed, as a reason or a summary reads them."""
    return "; ".join(line.describe() for line in failed(card.lines))


def is_open(state: AgreementState | None) -> TypeGuard[AgreementState]:
    """The agreement exists and has not ended."""
    return state is not None and not state.status.is_closed


def check_open(state: AgreementState | None, refused: str | None) -> AgreementState:
    """The agreement, which a request may change only while it has not ended."""
    if state is None:
        raise InvalidRequest(refused or "the agreement has not been created")
    if state.status.is_closed:
        raise InvalidRequest(
            f"agreement {state.agreement_id} has {state.status.value}: {state.end_reason}"
        )
    return state


def check_create(
    state: AgreementState | None, refused: str | None, request: AgreementRequest
) -> None:
    """A run refused once stays refused; one that holds an agreement takes only the same
    partner and offer again (answered with the agreement as it is)."""
    if refused is not None:
        raise InvalidRequest(refused)
    if state is None:
        return
    if (request.terms.reseller_team_id, request.terms.offer_id) != (
        state.reseller_team_id,
        state.terms.offer_id,
    ):
        raise InvalidRequest(
            f"agreement {state.agreement_id} already exists for {state.reseller_team_id} on "
            f"offer {state.terms.offer_id} ({state.status.value}); amend it, or choose another "
            "agreement ID"
        )


def first_term_end(terms: AgreementTerms, now: datetime) -> datetime:
    """When the first term of an agreement granted `now` ends."""
    term_end = add_months(now, terms.term_months)
    if terms.exclusive_until is not None and terms.exclusive_until < term_end:
        raise InvalidRequest(
            f"exclusive_until {day(terms.exclusive_until)} falls before the first term "
            f"ends on {day(term_end)}"
        )
    return term_end


def amended_terms(state: AgreementState, amendment: AgreementAmendment) -> AgreementTerms:
    """The terms in force from the next review period once the amendment applies."""
    try:
        terms = (state.pending_terms or state.terms).amended(amendment)
    except ValidationError as error:
        problems = "; ".join(e["msg"] for e in error.errors())
        raise InvalidRequest(f"the amended terms are not valid: {problems}") from error
    if terms.exclusive_until is not None and terms.exclusive_until < state.term_end:
        raise InvalidRequest(
            f"exclusive_until {day(terms.exclusive_until)} falls before the current term "
            f"ends on {day(state.term_end)}; terminate the agreement to end it sooner"
        )
    return terms


def check_renew_early(state: AgreementState) -> None:
    """An open agreement renews early unless in breach, renewed already, or at its end date."""
    if state.status is AgreementStatus.IN_BREACH:
        raise InvalidRequest(
            f"agreement {state.agreement_id} is in breach until {day(state.cure_deadline)}; "
            "renew it once the breach is cured"
        )
    if state.renewal_confirmed_by is not None:
        raise InvalidRequest(
            f"agreement {state.agreement_id} is already renewed for term {state.term_number + 1}"
        )
    blocked = past_exclusive_until(state)
    if blocked:
        raise InvalidRequest(blocked)


def next_term_end(state: AgreementState) -> datetime:
    """When another term, under the terms it would run on, would end."""
    return add_months(state.term_end, (state.pending_terms or state.terms).term_months)


def past_exclusive_until(state: AgreementState) -> str | None:
    """Why another term may not run: it would pass `exclusive_until`."""
    until = (state.pending_terms or state.terms).exclusive_until
    next_end = next_term_end(state)
    if until is not None and next_end > until:
        return f"another term would run until {day(next_end)}, past exclusive_until {day(until)}"
    return None


def is_last_period(state: AgreementState) -> bool:
    return state.period_number >= state.periods_in_term


def next_deadline(state: AgreementState) -> Deadline:
    """The end of the cure period while in breach, else the end of the review period."""
    s = state
    if s.status is AgreementStatus.IN_BREACH and s.cure_deadline is not None:
        return Deadline(
            AgreementDeadline.CURE,
            s.cure_deadline,
            f"cure period of {s.agreement_id} ends {day(s.cure_deadline)}: "
            "the orders placed during it decide",
        )
    at = s.next_review_at
    if is_last_period(s):
        what = f"term {s.term_number} of {s.agreement_id} ends {day(at)}: renew or expire"
    else:
        what = (
            f"period {s.period_number} of term {s.term_number} of {s.agreement_id} ends "
            f"{day(at)}: score it"
        )
    return Deadline(AgreementDeadline.REVIEW, at, what)


def still_due(state: AgreementState, due: Deadline, now: datetime) -> bool:
    """False where a handler ended the agreement or moved the deadline while the timer ran."""
    return not state.status.is_closed and next_deadline(state) == due and due.at <= now


def breach(state: AgreementState, card: Scorecard, now: datetime) -> Breach:
    """A missed review period, as the term's breaches stand before it counts."""
    if state.breaches_in_term >= 1:
        return Breach(ends_agreement=f"second breach in term {state.term_number}: {missed(card)}")
    if is_last_period(state):
        return Breach()
    return Breach(cure_deadline=now + timedelta(days=state.terms.cure_period_days))


def cure_failure(state: AgreementState, card: Scorecard) -> str | None:
    """Why the agreement ends at the end of its cure period: still in breach."""
    if card.met:
        return None
    return (
        f"still in breach when the cure period ended on {day(state.cure_deadline)}: {missed(card)}"
    )


def renewal_minimum(state: AgreementState) -> int:
    """The monthly orders the term's scorecard must reach for a renewal."""
    minimum = (state.pending_terms or state.terms).renewal.min_monthly_orders
    return minimum if minimum is not None else state.terms.min_monthly_orders


def expiry_reason(state: AgreementState, term_card: Scorecard) -> str | None:
    """Why the term ends without renewal; None where another term follows.

    `exclusive_until` always decides; an early renewal stands in for the renewal criteria.
    """
    s = state
    renewal = (s.pending_terms or s.terms).renewal
    reasons = []
    blocked = past_exclusive_until(s)
    if blocked:
        reasons.append(blocked)
    elif s.renewal_confirmed_by is None:
        if not renewal.auto_renew:
            reasons.append("the agreement does not renew automatically")
        if not term_card.met:
            reasons.append(f"the term's orders missed the renewal criteria: {missed(term_card)}")
        if s.breaches_in_term > renewal.max_breaches:
            reasons.append(
                f"{s.breaches_in_term} breach(es) in the term, at most "
                f"{renewal.max_breaches} allowed for renewal"
            )
    if not reasons:
        return None
    return f"term {s.term_number} ended on {day(s.term_end)} without renewal: " + "; ".join(reasons)
