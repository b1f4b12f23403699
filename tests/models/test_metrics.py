"""How a partner's metrics measure up against a tier's criteria."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models.metrics import (
    CriterionResult,
    PartnerMetrics,
    criterion_needs,
    evaluate,
    failed,
    qualifying_tier,
    window_bounds,
)
from models.program import GOLD_DEFAULTS, ProgramSettings, Tier, TierCriteria

END = datetime(2025, 6, 1, tzinfo=UTC)

SILVER_ONLY: dict[str, Any] = {
    "orders_per_month": 12.0,
    "acceptance_rate": 0.92,
    "completion_rate": 0.96,
    "average_rating": 4.6,
    "revenue": 9_000.0,
    "tenure_months": 6,
}
GOLD_LEVEL: dict[str, Any] = {
    "orders_per_month": 60.0,
    "acceptance_rate": 0.97,
    "completion_rate": 0.98,
    "average_rating": 4.9,
    "revenue": 40_000.0,
    "tenure_months": 24,
}


def metrics(**values: Any) -> PartnerMetrics:
    base: dict[str, Any] = {
        "provider_id": "acme",
        "reseller_team_id": "alpha",
        "window_start": END - timedelta(days=90),
        "window_end": END,
        "total_orders": 0,
        "orders_per_month": 0.0,
        "accepted_orders": 0,
        "decided_orders": 0,
        "tenure_months": 0,
    }
    return PartnerMetrics(**{**base, **values})


def by_name(results: list[CriterionResult]) -> dict[str, CriterionResult]:
    return {r.name: r for r in results}


def test_every_silver_criterion_is_checked_with_value_and_threshold() -> None:
    criteria = ProgramSettings().silver
    results = by_name(evaluate(metrics(**SILVER_ONLY), criteria))
    # Silver has no revenue minimum, so revenue is not a criterion.
    assert set(results) == {
        "orders_per_month",
        "acceptance_rate",
        "completion_rate",
        "average_rating",
        "tenure_months",
    }
    assert all(r.met for r in results.values())
    assert results["orders_per_month"].required == criteria.min_orders_per_month
    assert results["orders_per_month"].actual == SILVER_ONLY["orders_per_month"]
    assert results["acceptance_rate"].required == criteria.min_acceptance_rate
    assert results["average_rating"].actual == SILVER_ONLY["average_rating"]
    assert results["tenure_months"].required == criteria.min_tenure_months


def test_gold_checks_revenue() -> None:
    results = by_name(evaluate(metrics(**SILVER_ONLY), ProgramSettings().gold))
    assert results["revenue"].required == GOLD_DEFAULTS.min_revenue
    assert results["revenue"].actual == SILVER_ONLY["revenue"]
    assert not results["revenue"].met


def test_failed_lists_exactly_the_criteria_below_threshold() -> None:
    weak = metrics(**{**SILVER_ONLY, "acceptance_rate": 0.85, "average_rating": 4.2})
    missing = failed(evaluate(weak, ProgramSettings().silver))
    assert [r.name for r in missing] == ["acceptance_rate", "average_rating"]
    assert [(r.actual, r.required) for r in missing] == [(0.85, 0.90), (4.2, 4.5)]


def test_threshold_itself_is_met() -> None:
    criteria = ProgramSettings().silver
    exact = metrics(
        orders_per_month=criteria.min_orders_per_month,
        acceptance_rate=criteria.min_acceptance_rate,
        completion_rate=criteria.min_completion_rate,
        average_rating=criteria.min_rating,
        tenure_months=criteria.min_tenure_months,
    )
    assert failed(evaluate(exact, criteria)) == []


def test_missing_rating_is_not_met_by_default() -> None:
    unrated = metrics(**{**SILVER_ONLY, "average_rating": None})
    rating = by_name(evaluate(unrated, ProgramSettings().silver))["average_rating"]
    assert rating.actual is None and rating.no_data and not rating.met
    assert rating.formatted() == ("no ratings yet", "4.5")
    assert rating.describe() == "rating: no ratings yet (needs 4.5)"
    assert qualifying_tier(unrated, ProgramSettings()) is Tier.BRONZE


def test_a_program_may_judge_unrated_resellers_without_the_rating() -> None:
    unrated = metrics(**{**SILVER_ONLY, "average_rating": None})
    program = ProgramSettings(unrated="without_rating")
    rating = by_name(evaluate(unrated, program.silver, unrated="without_rating"))["average_rating"]
    assert rating.no_data and rating.met
    assert qualifying_tier(unrated, program) is Tier.SILVER


def test_a_stored_program_without_the_unrated_setting_still_validates() -> None:
    stored = ProgramSettings().model_dump(mode="json")
    del stored["unrated"]
    assert ProgramSettings.model_validate(stored).unrated == "not_met"


def test_missing_rate_counts_against_a_partner() -> None:
    no_orders = metrics(**{**SILVER_ONLY, "acceptance_rate": None, "completion_rate": None})
    names = [r.name for r in failed(evaluate(no_orders, ProgramSettings().silver))]
    assert names == ["acceptance_rate", "completion_rate"]


def test_tenure_can_be_left_out() -> None:
    new = metrics(**{**SILVER_ONLY, "tenure_months": 1})
    criteria = ProgramSettings().silver
    assert [r.name for r in failed(evaluate(new, criteria))] == ["tenure_months"]
    results = evaluate(new, criteria, include_tenure=False)
    assert "tenure_months" not in by_name(results)
    assert failed(results) == []


def test_zero_threshold_is_not_a_criterion() -> None:
    criteria = TierCriteria(
        min_orders_per_month=5, min_acceptance_rate=0, min_rating=0, min_tenure_months=0
    )
    assert [r.name for r in evaluate(metrics(orders_per_month=1.0), criteria)] == [
        "orders_per_month"
    ]


@pytest.mark.parametrize(
    ("values", "tier"),
    [
        (GOLD_LEVEL, Tier.GOLD),
        (SILVER_ONLY, Tier.SILVER),
        ({**SILVER_ONLY, "completion_rate": 0.5}, Tier.BRONZE),
        ({**GOLD_LEVEL, "revenue": 1_000.0}, Tier.SILVER),
        ({**GOLD_LEVEL, "average_rating": 4.7}, Tier.SILVER),
        ({**GOLD_LEVEL, "tenure_months": 6}, Tier.SILVER),
        ({**GOLD_LEVEL, "tenure_months": 1}, Tier.BRONZE),
    ],
)
def test_qualifying_tier(values: dict[str, Any], tier: Tier) -> None:
    assert qualifying_tier(metrics(**values), ProgramSettings()) is tier


def test_qualifying_tier_without_tenure() -> None:
    new_but_strong = metrics(**{**GOLD_LEVEL, "tenure_months": 0})
    assert qualifying_tier(new_but_strong, ProgramSettings()) is Tier.BRONZE
    assert qualifying_tier(new_but_strong, ProgramSettings(), include_tenure=False) is Tier.GOLD


def test_single_tier_program_tops_out_at_silver() -> None:
    assert qualifying_tier(metrics(**GOLD_LEVEL), ProgramSettings(tiers="single")) is Tier.SILVER


def test_provider_criteria_are_used() -> None:
    strict = ProgramSettings(silver=ProgramSettings().silver.model_copy(update={"min_rating": 4.8}))
    assert qualifying_tier(metrics(**SILVER_ONLY), strict) is Tier.BRONZE


@pytest.mark.parametrize(
    ("result", "text"),
    [
        (
            CriterionResult(
                name="acceptance_rate", label="acceptance", required=0.9, actual=0.85, met=False
            ),
            "acceptance 85.0% < 90.0%",
        ),
        (
            CriterionResult(
                name="completion_rate", label="completion", required=0.95, actual=0.975, met=True
            ),
            "completion 97.5% >= 95.0%",
        ),
        (
            CriterionResult(
                name="completion_rate", label="completion", required=0.95, actual=None, met=False
            ),
            "completion: no orders yet (needs 95.0%)",
        ),
        (
            CriterionResult(
                name="orders_per_month", label="orders/month", required=10, actual=8.0, met=False
            ),
            "orders/month 8 < 10",
        ),
        (
            CriterionResult(
                name="orders_per_month",
                label="orders/month",
                required=10,
                actual=8.6667,
                met=False,
            ),
            "orders/month 8.7 < 10",
        ),
        (
            CriterionResult(
                name="average_rating", label="rating", required=4.5, actual=4.2, met=False
            ),
            "rating 4.2 < 4.5",
        ),
        (
            CriterionResult(
                name="revenue", label="revenue", required=25000, actual=12345.5, met=False
            ),
            "revenue 12,345.50 < 25,000.00",
        ),
        (
            CriterionResult(name="tenure_months", label="tenure", required=3, actual=2, met=False),
            "tenure 2 months < 3 months",
        ),
    ],
)
def test_describe(result: CriterionResult, text: str) -> None:
    assert result.describe() == text


@pytest.mark.parametrize(
    ("name", "label", "actual", "tier"),
    [
        ("average_rating", "rating", 4.46, Tier.SILVER),
        ("acceptance_rate", "acceptance", 0.8996, Tier.SILVER),
        ("orders_per_month", "orders/month", 9.96, Tier.SILVER),
        ("revenue", "revenue", 24_999.999, Tier.GOLD),
    ],
)
def test_describe_never_shows_a_miss_as_equal_to_its_threshold(
    name: str, label: str, actual: float, tier: Tier
) -> None:
    # Rounding for display must not turn a miss into "rating 4.5 < 4.5".
    program = ProgramSettings()
    criteria = program.criteria_for(tier)
    assert criteria is not None
    result = by_name(evaluate(metrics(**{**GOLD_LEVEL, name: actual}), criteria))[name]
    assert not result.met
    shown_actual, shown_required = (
        float(part.rstrip("%").replace(",", ""))
        for part in result.describe().removeprefix(f"{label} ").split(" < ")
    )
    assert shown_actual < shown_required, result.describe()


def test_describe_from_evaluate_shows_percentages() -> None:
    weak = metrics(**{**SILVER_ONLY, "acceptance_rate": 0.8, "completion_rate": 0.5})
    texts = [r.describe() for r in failed(evaluate(weak, ProgramSettings().silver))]
    assert texts == ["acceptance 80.0% < 90.0%", "completion 50.0% < 95.0%"]


def test_window_bounds() -> None:
    assert window_bounds(END, 90) == (END - timedelta(days=90), END)


def test_a_window_shorter_than_the_programs_asks_for_its_share_of_the_revenue() -> None:
    program = ProgramSettings()  # 90-day window
    june = {"window_start": datetime(2025, 6, 1, tzinfo=UTC), "window_end": END + timedelta(30)}
    month = metrics(**{**GOLD_LEVEL, **june, "revenue": GOLD_DEFAULTS.min_revenue / 3 + 1})
    (revenue,) = [
        r
        for r in evaluate(month, program.gold, basis_days=program.metrics_window_days)
        if r.name == "revenue"
    ]
    assert revenue.required == round(GOLD_DEFAULTS.min_revenue / 3, 2)
    assert revenue.met and revenue.label == "revenue (pro rata)"
    assert qualifying_tier(month, program) is Tier.GOLD
    # The same month's revenue against the whole threshold would have missed gold.
    assert not by_name(evaluate(month, program.gold))["revenue"].met

    quarter = metrics(**{**GOLD_LEVEL, "revenue": GOLD_DEFAULTS.min_revenue - 1})
    whole = by_name(evaluate(quarter, program.gold, basis_days=90))["revenue"]
    assert (whole.required, whole.label, whole.met) == (GOLD_DEFAULTS.min_revenue, "revenue", False)
    q3 = quarter.model_copy(update={"window_start": END - timedelta(days=92)})
    longer = by_name(evaluate(q3, program.gold, basis_days=90))["revenue"]
    assert longer.required == round(GOLD_DEFAULTS.min_revenue * 92 / 90, 2)


@pytest.mark.parametrize(
    ("name", "label", "required", "actual", "needs"),
    [
        ("orders_per_month", "orders/month", 10, 7.5, "3 more orders a month (7.5 → 10)"),
        (
            "acceptance_rate",
            "acceptance",
            0.9,
            0.85,
            "accepting 5.0 percentage points more of the orders offered (85.0% → 90.0%)",
        ),
        (
            "completion_rate",
            "completion",
            0.95,
            0.846,
            "completing 10.4 percentage points more of the orders accepted (84.6% → 95.0%)",
        ),
        ("average_rating", "rating", 4.5, 4.2, "a rating 0.3 higher (4.2 → 4.5)"),
        ("average_rating", "rating", 4.5, 4.47, "a rating 0.03 higher (4.47 → 4.50)"),
        ("tenure_months", "tenure", 3, 1.5, "2 more months with the provider"),
    ],
)
def test_what_a_missed_line_takes_says_more_than_the_two_figures(
    name: str, label: str, required: float, actual: float, needs: str
) -> None:
    result = CriterionResult(name=name, label=label, required=required, actual=actual, met=False)
    assert criterion_needs(result, 90) == needs
    assert criterion_needs(result.model_copy(update={"met": True}), 90) is None
