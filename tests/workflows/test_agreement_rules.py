"""The agreement's decisions, as the rules make them: no server, no worker, no database.

A refusal is checked by its message, the part of it a provider sees. Every time is fixed:
the first term runs from 2026-01-15 to 2027-01-15, reviewed quarterly.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models.agreement import (
    AgreementAmendment,
    AgreementKind,
    AgreementRequest,
    AgreementState,
    AgreementStatus,
    AgreementTerms,
    RenewalCriteria,
    Scorecard,
    ScorecardKind,
    score,
)
from models.metrics import PartnerMetrics
from workflows.common import InvalidRequest
from workflows.exclusive_agreement import AgreementDeadline, rules

START = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
TERM_END = datetime(2027, 1, 15, 9, 30, tzinfo=UTC)


def terms(**changes: Any) -> AgreementTerms:
    base: dict[str, Any] = {
        "reseller_team_id": "team-a",
        "kind": AgreementKind.SERVICE,
        "offer_id": "acme-fiber",
        "min_monthly_orders": 10,
        "term_months": 12,
        "cure_period_days": 30,
    }
    return AgreementTerms(**{**base, **changes})


def state(**changes: Any) -> AgreementState:
    base: dict[str, Any] = {
        "provider_id": "acme",
        "agreement_id": "ex-1",
        "agreement_uid": "run-1",
        "reseller_team_id": "team-a",
        "terms": terms(),
        "created_at": START,
        "term_start": START,
        "term_end": TERM_END,
    }
    return AgreementState(**{**base, **changes})


def card(orders_per_month: float, minimum: int = 10) -> Scorecard:
    """A period's scorecard with every standard met but, maybe, the monthly orders."""
    metrics = PartnerMetrics(
        provider_id="acme",
        reseller_team_id="team-a",
        window_start=START,
        window_end=START + timedelta(days=90),
        total_orders=int(orders_per_month * 3),
        orders_per_month=orders_per_month,
        accepted_orders=0,
        decided_orders=0,
        completion_rate=1.0,
        tenure_months=3,
    )
    lines = score(metrics, minimum, terms().standards)
    return Scorecard(
        sequence=1,
        kind=ScorecardKind.PERIOD,
        term_number=1,
        period_number=1,
        period_start=START,
        period_end=START + timedelta(days=90),
        lines=lines,
        met=all(line.met for line in lines),
        metrics=metrics,
    )


def refusal(call: Any, *args: Any) -> str:
    with pytest.raises(InvalidRequest) as raised:
        call(*args)
    return raised.value.message


# ------------------------------------------------------------------ requests


def test_a_request_to_an_agreement_never_created_or_ended_is_refused_with_why():
    assert refusal(rules.check_open, None, None) == "the agreement has not been created"
    assert refusal(rules.check_open, None, "ZIP codes held") == "ZIP codes held"
    ended = state(status=AgreementStatus.TERMINATED, end_reason="partner blocked: fraud")
    assert refusal(rules.check_open, ended, None) == (
        "agreement ex-1 has terminated: partner blocked: fraud"
    )
    s = state()
    assert rules.check_open(s, None) is s


def test_create_again_takes_the_same_partner_and_offer_only():
    s = state()
    rules.check_create(s, None, AgreementRequest(terms=terms()))
    other = AgreementRequest(terms=terms(offer_id="acme-tv"))
    assert refusal(rules.check_create, s, None, other) == (
        "agreement ex-1 already exists for team-a on offer acme-fiber (active); amend it, or "
        "choose another agreement ID"
    )
    assert refusal(rules.check_create, None, "refused before", other) == "refused before"


def test_the_first_term_must_end_before_exclusive_until():
    assert rules.first_term_end(terms(), START) == TERM_END
    short = terms(exclusive_until=datetime(2026, 12, 31, tzinfo=UTC))
    assert refusal(rules.first_term_end, short, START) == (
        "exclusive_until 2026-12-31 falls before the first term ends on 2027-01-15"
    )


def test_an_amendment_builds_on_the_pending_terms_and_must_hold_as_a_whole():
    s = state(pending_terms=terms(min_monthly_orders=12))
    amended = rules.amended_terms(s, AgreementAmendment(cure_period_days=45))
    assert (amended.min_monthly_orders, amended.cure_period_days) == (12, 45)
    assert s.pending_terms is not None and s.pending_terms.cure_period_days == 30

    too_long = AgreementAmendment(cure_period_days=90)
    assert refusal(rules.amended_terms, s, too_long).startswith(
        "the amended terms are not valid: Value error, the cure period (90 days) must end "
        "before the next quarterly review"
    )
    early = AgreementAmendment(exclusive_until=datetime(2026, 6, 1, tzinfo=UTC))
    assert refusal(rules.amended_terms, s, early) == (
        "exclusive_until 2026-06-01 falls before the current term ends on 2027-01-15; "
        "terminate the agreement to end it sooner"
    )


def test_early_renewal_is_refused_in_breach_twice_or_past_exclusive_until():
    rules.check_renew_early(state())
    in_breach = state(
        status=AgreementStatus.IN_BREACH, cure_deadline=datetime(2026, 5, 15, tzinfo=UTC)
    )
    assert refusal(rules.check_renew_early, in_breach) == (
        "agreement ex-1 is in breach until 2026-05-15; renew it once the breach is cured"
    )
    renewed = state(renewal_confirmed_by="ops")
    assert refusal(rules.check_renew_early, renewed) == (
        "agreement ex-1 is already renewed for term 2"
    )
    bounded = state(pending_terms=terms(exclusive_until=datetime(2027, 6, 1, tzinfo=UTC)))
    assert refusal(rules.check_renew_early, bounded) == (
        "another term would run until 2028-01-15, past exclusive_until 2027-06-01"
    )


# ------------------------------------------------------------------ deadlines


def test_the_next_deadline_is_the_review_of_the_period_then_of_the_term():
    due = rules.next_deadline(state())
    assert due == rules.Deadline(
        AgreementDeadline.REVIEW,
        datetime(2026, 4, 15, 9, 30, tzinfo=UTC),
        "period 1 of term 1 of ex-1 ends 2026-04-15: score it",
    )
    last = rules.next_deadline(state(period_number=4))
    assert (last.kind, last.at) == (AgreementDeadline.REVIEW, TERM_END)
    assert last.summary == "term 1 of ex-1 ends 2027-01-15: renew or expire"


def test_in_breach_the_next_deadline_is_the_end_of_the_cure_period():
    cure_end = datetime(2026, 5, 15, 9, 30, tzinfo=UTC)
    due = rules.next_deadline(state(status=AgreementStatus.IN_BREACH, cure_deadline=cure_end))
    assert (due.kind, due.at) == (AgreementDeadline.CURE, cure_end)
    assert due.summary == (
        "cure period of ex-1 ends 2026-05-15: the orders placed during it decide"
    )
    assert [kind.value for kind in AgreementDeadline] == ["review", "cure"]


def test_a_deadline_is_no_longer_due_once_moved_or_the_agreement_ended():
    s = state()
    due = rules.next_deadline(s)
    assert rules.still_due(s, due, due.at)
    assert not rules.still_due(s, due, due.at - timedelta(seconds=1))
    s.period_number = 2
    assert not rules.still_due(s, due, due.at)
    ended = state(status=AgreementStatus.EXPIRED)
    assert not rules.still_due(ended, rules.next_deadline(ended), TERM_END)


# ------------------------------------------------------------------ breach and cure


def test_a_first_breach_mid_term_opens_the_cure_period():
    now = datetime(2026, 4, 15, 9, 30, tzinfo=UTC)
    breach = rules.breach(state(), card(2), now)
    assert breach == rules.Breach(cure_deadline=datetime(2026, 5, 15, 9, 30, tzinfo=UTC))


def test_a_first_breach_in_the_last_period_leaves_it_to_the_renewal_criteria():
    assert rules.breach(state(period_number=4), card(2), TERM_END) == rules.Breach()


def test_a_second_breach_in_the_term_ends_the_agreement():
    breach = rules.breach(state(breaches_in_term=1, period_number=3), card(2), START)
    assert breach.ends_agreement == "second breach in term 1: orders/month 2 < 10"
    assert breach.cure_deadline is None


def test_the_cure_period_ends_the_agreement_only_if_the_orders_still_miss():
    s = state(status=AgreementStatus.IN_BREACH, cure_deadline=datetime(2026, 5, 15, tzinfo=UTC))
    assert rules.cure_failure(s, card(12)) is None
    assert rules.cure_failure(s, card(2)) == (
        "still in breach when the cure period ended on 2026-05-15: orders/month 2 < 10"
    )


# ------------------------------------------------------------------ term end


def test_the_renewal_minimum_is_the_renewal_s_own_where_set():
    assert rules.renewal_minimum(state()) == 10
    pending = terms(renewal=RenewalCriteria(min_monthly_orders=15))
    assert rules.renewal_minimum(state(pending_terms=pending)) == 15


def test_a_term_that_met_the_renewal_criteria_renews():
    assert rules.expiry_reason(state(period_number=4), card(12)) is None


def test_a_term_expires_with_every_reason_the_criteria_give():
    s = state(
        terms=terms(renewal=RenewalCriteria(auto_renew=False)),
        period_number=4,
        breaches_in_term=1,
    )
    assert rules.expiry_reason(s, card(2)) == (
        "term 1 ended on 2027-01-15 without renewal: the agreement does not renew "
        "automatically; the term's orders missed the renewal criteria: orders/month 2 < 10; "
        "1 breach(es) in the term, at most 0 allowed for renewal"
    )


def test_an_early_renewal_stands_in_for_the_criteria_but_not_for_exclusive_until():
    confirmed = state(
        terms=terms(renewal=RenewalCriteria(auto_renew=False)), renewal_confirmed_by="ops"
    )
    assert rules.expiry_reason(confirmed, card(2)) is None
    bounded = state(
        terms=terms(exclusive_until=datetime(2027, 6, 1, tzinfo=UTC)), renewal_confirmed_by="ops"
    )
    assert rules.expiry_reason(bounded, card(12)) == (
        "term 1 ended on 2027-01-15 without renewal: another term would run until 2028-01-15, "
        "past exclusive_until 2027-06-01"
    )
