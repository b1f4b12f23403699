"""A reseller's performance over a window, and how it measures up against a tier."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from pydantic import AwareDatetime, Field

from models.program import Frozen, ProgramSettings, Tier, TierCriteria, UnratedRule
from models.wire import ApiModel


class PartnerMetrics(Frozen):
    """The documents' partner metrics over the orders created in one window.

    Rates are fractions (0.95 is 95%); a rate is None where its denominator is
    zero, and the rating is None where no customer rated an order.
    """

    provider_id: str
    reseller_team_id: str
    window_start: AwareDatetime
    window_end: AwareDatetime
    total_orders: int = Field(ge=0)
    orders_per_month: float = Field(ge=0)
    accepted_orders: int = Field(ge=0)
    decided_orders: int = Field(ge=0)
    acceptance_rate: float | None = None
    completion_rate: float | None = None
    cancellation_rate: float | None = None
    average_rating: float | None = None
    rated_orders: int = 0
    average_order_value: float | None = None
    revenue: float = 0
    month_over_month_growth: float | None = Field(
        default=None, description="Orders in the last 30 days against the 30 before, as a fraction."
    )
    tenure_months: int = Field(ge=0)


class MetricsView(ApiModel):
    """A partner's metrics as the API and the portal show them."""

    window_start: datetime
    window_end: datetime
    total_orders: int
    orders_per_month: float
    acceptance_rate: float | None
    completion_rate: float | None
    cancellation_rate: float | None
    average_rating: float | None
    rated_orders: int
    average_order_value: float | None
    revenue: float
    month_over_month_growth: float | None
    tenure_months: int


class CriterionResult(Frozen):
    """One criterion of a tier: what is required, what the partner has, and whether it is met."""

    name: str
    label: str
    required: float
    actual: float | None
    met: bool
    at_most: bool = Field(default=False, description="The required value is a ceiling.")

    @property
    def no_data(self) -> bool:
        """Nothing to measure yet (no ratings, no decided orders): never read as a number."""
        return self.actual is None

    def formatted(self) -> tuple[str, str]:
        """The actual and the required value as a person reads them ("85.0%", "90.0%")."""
        digits = _digits(self.name, self.actual, self.required, self.met)
        return _format(self.name, self.actual, digits), _format(self.name, self.required, digits)

    def describe(self) -> str:
        actual, required = self.formatted()
        if self.no_data:
            needed = "at most" if self.at_most else "needs"
            return f"{self.label}: {actual} ({needed} {required})"
        if self.at_most:
            return f"{self.label} {actual} {'<=' if self.met else '>'} {required}"
        return f"{self.label} {actual} {'>=' if self.met else '<'} {required}"


def _digits(name: str, actual: float | None, required: float, met: bool) -> int:
    """Enough decimals that a miss never reads as "4.5 < 4.5"."""
    digits = 2 if name == "revenue" else 1
    if met or actual is None:
        return digits
    scale = 100 if name.endswith("_rate") else 1
    while digits < 6 and round(actual * scale, digits) == round(required * scale, digits):
        digits += 1
    return digits


NO_DATA = {"average_rating": "no ratings yet"}
"""What a person reads where a metric has nothing to measure yet."""


def _format(name: str, value: float | None, digits: int = 1) -> str:
    if value is None:
        return NO_DATA.get(name, "no orders yet")
    if name.endswith("_rate"):
        return f"{value * 100:.{digits}f}%"
    if name == "revenue":
        return f"{value:,.{max(digits, 2)}f}"
    if name == "tenure_months":
        return f"{int(value)} months"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.{digits}f}"
    return f"{value:g}"


def evaluate(
    metrics: PartnerMetrics,
    criteria: TierCriteria,
    *,
    include_tenure: bool = True,
    unrated: UnratedRule = "not_met",
    basis_days: int | None = None,
) -> list[CriterionResult]:
    """Each criterion of a tier against the metrics.

    `minRevenue` is stated over the program's metrics window of `basis_days`: over a window of
    another length (a review's calendar month or quarter) it asks for its share by days.

    Tenure only gates promotion: it never falls, so a partner that a provider
    enrolled early is not put at risk for being new. Missing data is not a pass:
    a missing rate (no orders to measure) is not met, nor is a missing rating (no
    customer rated an order yet) unless the program judges unrated resellers
    `without_rating`, where the rating is listed, as no data, but does not count.
    """
    checks: list[tuple[str, str, float, float | None, bool]] = [
        (
            "orders_per_month",
            "orders/month",
            criteria.min_orders_per_month,
            metrics.orders_per_month,
            False,
        ),
        (
            "acceptance_rate",
            "acceptance",
            criteria.min_acceptance_rate,
            metrics.acceptance_rate,
            False,
        ),
        (
            "completion_rate",
            "completion",
            criteria.min_completion_rate,
            metrics.completion_rate,
            False,
        ),
        ("average_rating", "rating", criteria.min_rating, metrics.average_rating, True),
        (
            "revenue",
            *_revenue_asked(criteria.min_revenue, metrics, basis_days),
            metrics.revenue,
            False,
        ),
    ]
    if include_tenure:
        checks.append(
            ("tenure_months", "tenure", criteria.min_tenure_months, metrics.tenure_months, False)
        )
    results = []
    for name, label, required, actual, is_rating in checks:
        if required <= 0:
            continue
        if actual is None:
            met = is_rating and unrated == "without_rating"
        else:
            met = actual >= required
        results.append(
            CriterionResult(name=name, label=label, required=required, actual=actual, met=met)
        )
    return results


def _revenue_asked(
    min_revenue: float, metrics: PartnerMetrics, basis_days: int | None
) -> tuple[str, float]:
    """The revenue a window asks for, and its label: `min_revenue` pro rata by days where the
    window is not the `basis_days` the criterion is stated over."""
    days = (metrics.window_end - metrics.window_start).total_seconds() / 86400
    if basis_days is None or not days or days == basis_days:
        return "revenue", min_revenue
    return "revenue (pro rata)", round(min_revenue * days / basis_days, 2)


def failed(results: list[CriterionResult]) -> list[CriterionResult]:
    return [r for r in results if not r.met]


def criterion_needs(result: CriterionResult, window_days: int) -> str | None:
    """What reaching a missed criterion's line takes, as a partner reads it ("12 more orders a
    month (14 → 26)"); None where it is met. `window_days`: the window revenue is stated over."""
    if result.met:
        return None
    actual, required = result.formatted()
    if result.no_data:
        return f"{result.label}: {actual}; it needs {required}"
    missing = result.required - (result.actual or 0)
    if result.name == "orders_per_month":
        return f"{math.ceil(missing - 1e-9)} more orders a month ({actual} → {required})"
    if result.name.startswith("revenue"):
        return f"{missing:,.2f} more revenue over {window_days} days ({actual} → {required})"
    if result.name == "tenure_months":
        months = math.ceil(missing)
        return f"{months} more month{'s' if months != 1 else ''} with the provider"
    if result.name in _RATE_NEEDS:
        return f"{_RATE_NEEDS[result.name].format(points=missing * 100)} ({actual} → {required})"
    if result.name == "average_rating":
        higher = f"{missing:.2f}".rstrip("0").rstrip(".")
        return f"a rating {higher} higher ({actual} → {required})"
    return f"{result.label} {actual} → {required}"


_RATE_NEEDS = {
    "acceptance_rate": "accepting {points:.1f} percentage points more of the orders offered",
    "completion_rate": "completing {points:.1f} percentage points more of the orders accepted",
}


def qualifying_tier(
    metrics: PartnerMetrics,
    program: ProgramSettings,
    *,
    include_tenure: bool = True,
    unrated: UnratedRule | None = None,
) -> Tier:
    """The highest tier whose criteria the metrics meet (bronze if none); `unrated` overrides
    the program's rule for unrated resellers."""
    rule = unrated or program.unrated
    best = Tier.BRONZE
    for tier in program.partner_tiers:
        criteria = program.criteria_for(tier)
        if criteria is not None and not failed(
            evaluate(
                metrics,
                criteria,
                include_tenure=include_tenure,
                unrated=rule,
                basis_days=program.metrics_window_days,
            )
        ):
            best = tier
    return best


def next_tier(
    tier: Tier, metrics: PartnerMetrics, program: ProgramSettings
) -> tuple[Tier, list[CriterionResult]] | None:
    """The tier above `tier` in the program and each of its criteria against the metrics."""
    above = [t for t in program.partner_tiers if t.rank > tier.rank]
    criteria = program.criteria_for(above[0]) if above else None
    if criteria is None:
        return None
    return above[0], evaluate(
        metrics, criteria, unrated=program.unrated, basis_days=program.metrics_window_days
    )


def window_bounds(end: datetime, days: int) -> tuple[datetime, datetime]:
    """The [start, end) window of `days` days that ends at `end`."""
    return end - timedelta(days=days), end
