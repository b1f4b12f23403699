"""Exclusive-agreement terms: what a provider may agree to, how the calendar of a term is
reckoned, how a period's orders are scored, and what an amendment may change.

Pure models: no database and no workflow. A refusal is checked by its message,
since the message is all a provider sees of why its terms were refused.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError
from temporalio.contrib.pydantic import pydantic_data_converter

from models.agreement import (
    AgreementAmendment,
    AgreementKind,
    AgreementState,
    AgreementTerms,
    PerformanceStandards,
    ReviewPeriod,
    add_months,
    score,
)
from models.metrics import CriterionResult, PartnerMetrics

TERM_START = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
WINDOW_END = datetime(2026, 4, 15, tzinfo=UTC)


def terms(**changes: Any) -> AgreementTerms:
    """Valid service terms (quarterly reviews, 12-month term) with `changes` in place."""
    base: dict[str, Any] = {
        "reseller_team_id": "team-a",
        "kind": "service",
        "offer_id": "acme-fiber",
        "min_monthly_orders": 20,
    }
    return AgreementTerms.model_validate({**base, **changes})


def regional(*zip_codes: str, **changes: Any) -> AgreementTerms:
    return terms(kind="regional", zip_codes=list(zip_codes), **changes)


# Terms ------------------------------------------------------------------------------------


def test_service_terms_build_with_the_documented_defaults() -> None:
    service = terms()
    assert service.kind is AgreementKind.SERVICE
    assert service.zip_codes == []
    assert (service.term_months, service.review_period) == (12, ReviewPeriod.QUARTERLY)
    assert service.cure_period_days == 30
    assert service.standards == PerformanceStandards(min_completion_rate=0.95)
    assert service.renewal.auto_renew is True


def test_regional_zip_codes_are_stripped_deduplicated_and_sorted() -> None:
    region = regional(" 10003", "10001 ", "10003", "\t10002\n", "10001")
    assert region.kind is AgreementKind.REGIONAL
    assert region.zip_codes == ["10001", "10002", "10003"]


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"term_months": 3}, id="one-quarter-term"),
        pytest.param({"term_months": 24, "review_period": "annually"}, id="two-year-term"),
        pytest.param({"cure_period_days": 83}, id="longest-quarterly-cure"),
        pytest.param({"cure_period_days": 90, "review_period": "annually"}, id="annual-cure"),
        pytest.param({"min_monthly_orders": 0}, id="no-volume-commitment"),
    ],
)
def test_valid_terms_at_the_limits(changes: dict[str, Any]) -> None:
    built = terms(**changes)
    assert {name: getattr(built, name) for name in changes} == changes


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param(
            {"review_period": "annually", "term_months": 6},
            r"the review period \(annually, 12 months\) is longer than the term \(6 months\)",
            id="period-longer-than-term",
        ),
        pytest.param(
            {"term_months": 10},
            "a term of 10 months is not a whole number of quarterly review periods",
            id="term-not-whole-periods",
        ),
        pytest.param(
            {"min_monthly_orders": -1},
            r"(?s)min_monthly_orders\n.*greater than or equal to 0",
            id="negative-min-orders",
        ),
        pytest.param(
            {"kind": "regional"},
            "a regional exclusive needs the ZIP codes of its region",
            id="regional-without-zips",
        ),
        pytest.param(
            {"zip_codes": ["10001"]},
            "a service exclusive covers the whole offer: leave zipCodes empty",
            id="service-with-zips",
        ),
        pytest.param(
            {"kind": "regional", "zip_codes": ["10001", "1234"]},
            r"ZIP codes must have five digits: 1234 \[",
            id="four-digit-zip",
        ),
        pytest.param(
            {"kind": "regional", "zip_codes": ["ABCDE", "10001", "123456"]},
            "ZIP codes must have five digits: 123456, ABCDE",
            id="non-numeric-and-six-digit-zip",
        ),
        pytest.param(
            {"cure_period_days": 84},
            r"the cure period \(84 days\) must end before the next quarterly review: "
            "at most 83 days",
            id="cure-period-reaches-next-review",
        ),
        pytest.param(
            {"cure_period_days": 90},
            r"the cure period \(90 days\) must end before the next quarterly review",
            id="cure-period-90-days-quarterly",
        ),
        pytest.param(
            {"standards": {"min_completion_rate": 1.5}},
            r"(?s)standards\.min_completion_rate\n.*less than or equal to 1",
            id="completion-rate-above-one",
        ),
        pytest.param(
            {"standards": {"min_rating": 0.5}},
            r"(?s)standards\.min_rating\n.*greater than or equal to 1",
            id="rating-below-scale",
        ),
        pytest.param(
            {"reseller_team_id": "team/a"},
            r"(?s)reseller_team_id\n.*should match pattern",
            id="team-id-with-slash",
        ),
        pytest.param(
            {"exclusive_forever": True},
            r"(?s)exclusive_forever\n.*Extra inputs are not permitted",
            id="unknown-field",
        ),
    ],
)
def test_bad_terms_are_refused_with_the_reason(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        terms(**changes)


# The calendar of a term -------------------------------------------------------------------


EASTERN = timezone(timedelta(hours=-5), "EST")


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        pytest.param(
            datetime(2026, 1, 31, 10, 30, tzinfo=UTC),
            1,
            datetime(2026, 2, 28, 10, 30, tzinfo=UTC),
            id="to-a-shorter-month",
        ),
        pytest.param(
            datetime(2028, 1, 31, 10, 30, tzinfo=UTC),
            1,
            datetime(2028, 2, 29, 10, 30, tzinfo=UTC),
            id="leap-february",
        ),
        pytest.param(
            datetime(2026, 3, 15, 8, 45, 12, tzinfo=EASTERN),
            12,
            datetime(2027, 3, 15, 8, 45, 12, tzinfo=EASTERN),
            id="a-year-keeps-day-time-and-zone",
        ),
        pytest.param(
            datetime(2026, 11, 30, tzinfo=UTC),
            3,
            datetime(2027, 2, 28, tzinfo=UTC),
            id="across-the-year-to-february",
        ),
        pytest.param(
            datetime(2026, 12, 15, tzinfo=UTC),
            1,
            datetime(2027, 1, 15, tzinfo=UTC),
            id="december-to-january",
        ),
        pytest.param(
            datetime(2026, 5, 31, 23, 59, tzinfo=UTC),
            0,
            datetime(2026, 5, 31, 23, 59, tzinfo=UTC),
            id="zero-months",
        ),
    ],
)
def test_add_months(start: datetime, months: int, expected: datetime) -> None:
    result = add_months(start, months)
    assert result == expected
    # Equal instants are not enough: the wall-clock time and its zone must be kept.
    assert (result.replace(tzinfo=None), result.tzinfo) == (
        expected.replace(tzinfo=None),
        start.tzinfo,
    )


def agreement_state(agreement_terms: AgreementTerms, period_number: int = 1) -> AgreementState:
    return AgreementState(
        provider_id="acme",
        agreement_id="ag-1",
        agreement_uid="uid-1",
        reseller_team_id=agreement_terms.reseller_team_id,
        terms=agreement_terms,
        created_at=TERM_START,
        term_start=TERM_START,
        term_end=add_months(TERM_START, agreement_terms.term_months),
        period_number=period_number,
    )


@pytest.mark.parametrize(
    ("period_number", "start", "review"),
    [
        (1, TERM_START, TERM_START.replace(month=4)),
        (2, TERM_START.replace(month=4), TERM_START.replace(month=7)),
        (4, TERM_START.replace(month=10), TERM_START.replace(year=2027, month=1)),
    ],
)
def test_quarterly_periods_of_a_year_term(
    period_number: int, start: datetime, review: datetime
) -> None:
    state = agreement_state(terms(), period_number)
    assert state.periods_in_term == 4
    assert (state.period_start, state.next_review_at) == (start, review)
    assert state.term_end == TERM_START.replace(year=2027)


def test_annual_periods_of_a_two_year_term() -> None:
    state = agreement_state(terms(term_months=24, review_period="annually"), period_number=2)
    assert state.periods_in_term == 2
    assert state.period_start == TERM_START.replace(year=2027)
    assert state.next_review_at == state.term_end == TERM_START.replace(year=2028)


# Scoring ----------------------------------------------------------------------------------


def metrics(**changes: Any) -> PartnerMetrics:
    """Ninety days of 30 orders (10 a month), 27 accepted of 30 decided, 25 fulfilled."""
    base: dict[str, Any] = {
        "provider_id": "acme",
        "reseller_team_id": "team-a",
        "window_start": WINDOW_END - timedelta(days=90),
        "window_end": WINDOW_END,
        "total_orders": 30,
        "orders_per_month": 10.0,
        "accepted_orders": 27,
        "decided_orders": 30,
        "acceptance_rate": 0.9,
        "completion_rate": 25 / 27,
        "cancellation_rate": 0.05,
        "average_rating": 4.6,
        "rated_orders": 12,
        "tenure_months": 8,
    }
    return PartnerMetrics.model_validate({**base, **changes})


NO_ORDERS = {
    "total_orders": 0,
    "orders_per_month": 0.0,
    "accepted_orders": 0,
    "decided_orders": 0,
    "acceptance_rate": None,
    "completion_rate": None,
    "cancellation_rate": None,
    "average_rating": None,
    "rated_orders": 0,
}


def lines_by_name(
    partner: PartnerMetrics, min_monthly_orders: int = 10, **standards: float | None
) -> dict[str, CriterionResult]:
    lines = score(partner, min_monthly_orders, PerformanceStandards(**standards))
    return {line.name: line for line in lines}


@pytest.mark.parametrize(
    ("min_monthly_orders", "met", "described"),
    [(10, True, "orders/month 10 >= 10"), (11, False, "orders/month 10 < 11")],
)
def test_orders_per_month_line(min_monthly_orders: int, met: bool, described: str) -> None:
    line = lines_by_name(metrics(), min_monthly_orders)["orders_per_month"]
    assert (line.required, line.actual, line.met, line.at_most) == (
        min_monthly_orders,
        10.0,
        met,
        False,
    )
    assert line.describe() == described


def test_a_missing_rate_is_a_miss_and_a_missing_rating_is_not() -> None:
    lines = lines_by_name(metrics(**NO_ORDERS), min_rating=4.5, min_acceptance_rate=0.9)
    assert {name: (line.actual, line.met) for name, line in lines.items()} == {
        "orders_per_month": (0.0, False),
        "completion_rate": (None, False),
        "acceptance_rate": (None, False),
        "average_rating": (None, True),
    }


@pytest.mark.parametrize(
    ("actual", "met", "described"),
    [
        (0.05, True, "cancellation 5.0% <= 10.0%"),
        (0.10, True, "cancellation 10.0% <= 10.0%"),
        (0.20, False, "cancellation 20.0% > 10.0%"),
    ],
)
def test_cancellation_rate_is_a_ceiling(actual: float, met: bool, described: str) -> None:
    line = lines_by_name(metrics(cancellation_rate=actual), max_cancellation_rate=0.1)[
        "cancellation_rate"
    ]
    assert (line.at_most, line.required, line.met) == (True, 0.1, met)
    assert line.describe() == described


def test_every_standard_set_gives_a_line_in_order() -> None:
    lines = score(
        metrics(),
        10,
        PerformanceStandards(
            min_completion_rate=0.95,
            min_acceptance_rate=0.85,
            min_rating=4.5,
            max_cancellation_rate=0.1,
        ),
    )
    assert [(line.name, line.met) for line in lines] == [
        ("orders_per_month", True),
        ("completion_rate", False),  # 25/27 = 92.6%
        ("acceptance_rate", True),
        ("average_rating", True),
        ("cancellation_rate", True),
    ]


def test_unset_standards_and_no_volume_commitment_give_no_lines() -> None:
    assert lines_by_name(metrics(), 10, min_completion_rate=None).keys() == {"orders_per_month"}
    assert lines_by_name(metrics(), 0).keys() == {"completion_rate"}
    assert score(metrics(), 0, PerformanceStandards(min_completion_rate=None)) == []


# Amendments -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [pytest.param({}, id="nothing"), pytest.param({"reason": "x"}, id="only-a-reason")],
)
def test_an_amendment_must_change_something(fields: dict[str, Any]) -> None:
    with pytest.raises(
        ValidationError,
        match="an amendment changes at least one of: minMonthlyOrders, standards, renewal, "
        "curePeriodDays, exclusiveUntil",
    ):
        AgreementAmendment.model_validate(fields)


@pytest.mark.parametrize("name", ["min_monthly_orders", "standards", "renewal", "cure_period_days"])
def test_an_amendment_of_none_changes_nothing_and_is_refused(name: str) -> None:
    with pytest.raises(ValidationError, match="an amendment changes at least one of"):
        AgreementAmendment.model_validate({name: None})


def test_an_amendment_survives_the_trip_to_the_workflow() -> None:
    """The workflow receives the amendment through the data converter, every field set."""
    amendment = AgreementAmendment(min_monthly_orders=30, reason="volume", request_id="r-1")
    converter = pydantic_data_converter.payload_converter
    [received] = converter.from_payloads(converter.to_payloads([amendment]), [AgreementAmendment])
    assert received == amendment
    assert received.changes == {"min_monthly_orders": 30}
    assert terms().amended(received) == terms().amended(amendment)


def test_amended_changes_only_the_amended_field() -> None:
    original = terms(standards={"min_rating": 4.5}, cure_period_days=45)
    amendment = AgreementAmendment(min_monthly_orders=30, reason="volume", requested_by="ops")
    amended = original.amended(amendment)
    assert amended == original.model_copy(update={"min_monthly_orders": 30})
    assert original.min_monthly_orders == 20


def test_amended_replaces_a_nested_term_as_a_whole() -> None:
    original = terms(standards={"min_rating": 4.5})
    amended = original.amended(
        AgreementAmendment(standards=PerformanceStandards(min_acceptance_rate=0.9))
    )
    assert amended.standards == PerformanceStandards(min_acceptance_rate=0.9)
    assert amended.standards.min_rating is None


def test_an_amendment_that_breaks_the_terms_is_refused() -> None:
    # 89 days is a valid cure period on its own, but not before the next quarterly review.
    amendment = AgreementAmendment(cure_period_days=89)
    with pytest.raises(ValidationError, match=r"the cure period \(89 days\) must end before"):
        terms().amended(amendment)
    assert terms(review_period="annually").amended(amendment).cure_period_days == 89
