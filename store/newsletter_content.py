"""What each partner's monthly newsletter says, computed for a chunk of partners at once: the
offers it could newly see during the month at the price it gets, its figures against the month
before, and a tip aimed at its weakest criterion.

A chunk costs five statements whatever its size: the provider, the new offers, and one
metrics aggregate for each of the month, the month before and the program's window.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from models.metrics import (
    CriterionResult,
    PartnerMetrics,
    criterion_needs,
    evaluate,
    failed,
    window_bounds,
)
from models.newsletter import (
    MAX_NEW_OFFERS,
    Highlight,
    NewOffer,
    NewsletterNotice,
    Tip,
    month_before,
    month_bounds,
    month_label,
)
from models.pricing import tier_price
from models.program import ProgramSettings, Tier
from models.schema import Offer, OfferAccess, Provider, Reseller
from store.metrics import metrics_from_row, metrics_query
from store.offer_access import seen_by
from store.program_changes import in_force

ADVICE = {
    "orders_per_month": "Offer the provider's plans to more of your customers: every order you "
    "submit counts toward your monthly average.",
    "acceptance_rate": "Check the service address and the offer's availability before you "
    "submit, so that the provider can accept each order you send.",
    "completion_rate": "Follow each accepted order through to installation: confirm the "
    "appointment with the customer and chase the ones that stall.",
    "cancellation_rate": "Confirm the plan, the price and the date with the customer before you "
    "submit, so that fewer orders are cancelled after acceptance.",
    "average_rating": "Set clear expectations on installation dates and ask customers who are "
    "happy with their service to rate it.",
    "revenue": "Lead with the higher-value plans and upgrades: revenue counts the orders that "
    "are completed.",
}
GENERIC_ADVICE = (
    "Watch this figure in your portal: of your criteria, it is the furthest from its line."
)
FIRST_FIGURES = (
    "Your figures start with your first orders: submit a few of the provider's offers this "
    "month and every criterion gets a number to measure."
)


@dataclass(frozen=True)
class _Figures:
    """One partner's metrics over the month, the month before, and the program's window."""

    month: PartnerMetrics
    before: PartnerMetrics
    window: PartnerMetrics


def newsletter_notices(
    session: Session, provider_id: str, month: str, recipients: Sequence[tuple[str, Tier]]
) -> dict[str, NewsletterNotice]:
    """For each (reseller_team_id, tier) of the chunk, its newsletter for `month` ('2026-11')."""
    if not recipients:
        return {}
    provider = session.get(Provider, provider_id)
    if provider is None:
        raise LookupError(f"no provider {provider_id}")
    program = in_force(provider)
    team_ids = sorted({team_id for team_id, _tier in recipients})
    tiers = dict(recipients)
    offers = _new_offers(session, provider_id, month, tiers, program)
    figures = _figures(session, provider_id, month, team_ids, program.metrics_window_days)
    return {
        team_id: NewsletterNotice(
            month=month,
            month_label=month_label(month),
            new_offers=offers.get(team_id, []),
            highlights=highlights(figures[team_id].before, figures[team_id].month),
            tip=tip(figures[team_id].window, tiers[team_id], program),
        )
        for team_id in team_ids
    }


def _new_offers(
    session: Session,
    provider_id: str,
    month: str,
    tiers: dict[str, Tier],
    program: ProgramSettings,
) -> dict[str, list[NewOffer]]:
    """The provider's offers each partner sees now that were created, or granted to it, within
    the month, newest first, at most MAX_NEW_OFFERS each, priced at its tier."""
    start, end = month_bounds(month)
    # Aliased so that the visibility rule's own EXISTS on offer_access stays uncorrelated.
    grant = aliased(OfferAccess)
    granted_in_month = and_(grant.granted_at >= start, grant.granted_at < end)
    created_in_month = and_(Offer.created_at >= start, Offer.created_at < end)
    new_at = case((granted_in_month, grant.granted_at), else_=Offer.created_at)
    ranked = (
        select(
            Reseller.team_id,
            Offer.id,
            Offer.name,
            Offer.category,
            Offer.description,
            Offer.monthly_price,
            Offer.tier_prices,
            func.row_number()
            .over(partition_by=Reseller.team_id, order_by=(new_at.desc(), Offer.id))
            .label("rank"),
        )
        .select_from(Reseller)
        .join(Offer, Offer.provider_id == provider_id)
        .outerjoin(
            grant,
            and_(
                grant.offer_id == Offer.id,
                grant.reseller_team_id == Reseller.team_id,
                grant.source == Offer.visibility,
            ),
        )
        .where(
            Reseller.team_id.in_(sorted(tiers)),
            seen_by(Reseller.team_id),
            or_(created_in_month, granted_in_month),
        )
        .subquery()
    )
    rows = session.execute(
        select(ranked)
        .where(ranked.c.rank <= MAX_NEW_OFFERS)
        .order_by(ranked.c.team_id, ranked.c.rank)
    )
    found: dict[str, list[NewOffer]] = {}
    for row in rows:
        price = tier_price(
            row.monthly_price,
            tiers[row.team_id],
            tier_prices=row.tier_prices,
            discounts=program.tier_discounts,
        )
        found.setdefault(row.team_id, []).append(
            NewOffer(
                offer_id=row.id,
                name=row.name,
                category=row.category,
                description=row.description,
                price=price,
            )
        )
    return found


def _figures(
    session: Session, provider_id: str, month: str, team_ids: list[str], window_days: int
) -> dict[str, _Figures]:
    start, end = month_bounds(month)
    windows = {
        "month": (start, end),
        "before": month_bounds(month_before(start)),
        "window": window_bounds(end, window_days),
    }
    metrics: dict[str, dict[str, PartnerMetrics]] = {}
    for name, (window_start, window_end) in windows.items():
        query = metrics_query(provider_id, window_start, window_end, team_ids)
        rows = {row.reseller_team_id: row for row in session.execute(query)}
        metrics[name] = {
            team_id: metrics_from_row(
                provider_id, team_id, window_start, window_end, rows.get(team_id)
            )
            for team_id in team_ids
        }
    return {
        team_id: _Figures(
            month=metrics["month"][team_id],
            before=metrics["before"][team_id],
            window=metrics["window"][team_id],
        )
        for team_id in team_ids
    }


@dataclass(frozen=True)
class _Figure:
    """How one highlight reads its metric, shows it, and states a change."""

    name: str
    label: str
    value: Callable[[PartnerMetrics], float | None]
    shown: Callable[[float], str]
    change: Callable[[float, float], str | None]


def _percent_change(before: float, after: float) -> str | None:
    if not before:
        return None
    percent = abs(after - before) / before * 100
    return f"{'+' if after > before else '-'}{percent:.{0 if percent >= 1 else 1}f}%"


def _points(before: float, after: float) -> str:
    return f"{'+' if after > before else '-'}{abs(after - before) * 100:.1f} points"


def _difference(before: float, after: float) -> str:
    return f"{'+' if after > before else '-'}{abs(after - before):.2f}"


FIGURES = (
    _Figure("orders", "orders", lambda m: m.total_orders, lambda v: f"{v:.0f}", _percent_change),
    _Figure("revenue", "revenue", lambda m: m.revenue, lambda v: f"${v:,.2f}", _percent_change),
    _Figure(
        "acceptance_rate",
        "acceptance",
        lambda m: m.acceptance_rate,
        lambda v: f"{v * 100:.1f}%",
        _points,
    ),
    _Figure(
        "completion_rate",
        "completion",
        lambda m: m.completion_rate,
        lambda v: f"{v * 100:.1f}%",
        _points,
    ),
    _Figure(
        "average_rating", "rating", lambda m: m.average_rating, lambda v: f"{v:.2f}", _difference
    ),
)
"""The figures a newsletter highlights, in the order it shows them."""


def _highlight(figure: _Figure, before: PartnerMetrics, after: PartnerMetrics) -> Highlight:
    was, now = figure.value(before), figure.value(after)
    shown_before = figure.shown(was) if was is not None else None
    shown_after = figure.shown(now) if now is not None else None
    change: str | None = None
    improved: bool | None = None
    if was is not None and now is not None:
        change = figure.change(was, now)
        # Compared as shown, so that a change too small to show reads as none.
        if change is not None and shown_before == shown_after:
            change = "no change"
        elif change is not None:
            improved = now > was
    return Highlight(
        name=figure.name,
        label=figure.label,
        before=shown_before,
        after=shown_after,
        change=change,
        improved=improved,
    )


def highlights(before: PartnerMetrics, after: PartnerMetrics) -> list[Highlight]:
    """A partner's figures of one month (`after`) against the month before (`before`)."""
    return [_highlight(figure, before, after) for figure in FIGURES]


def _progress(result: CriterionResult) -> float:
    """How far to the line a missed criterion is, 0 to 1."""
    if result.actual is None:
        return 0.0
    if result.at_most:
        return 1.0 if result.actual <= 0 else max(0.0, min(1.0, result.required / result.actual))
    return max(0.0, min(1.0, result.actual / result.required)) if result.required > 0 else 1.0


def _margin(result: CriterionResult) -> float:
    """How far above its line a met criterion is, as a share of the line."""
    if result.actual is None or not result.required:
        return float("inf")
    room = result.required - result.actual if result.at_most else result.actual - result.required
    return room / result.required


def _advice(name: str) -> str:
    return ADVICE.get("revenue" if name.startswith("revenue") else name, GENERIC_ADVICE)


def _tier_above(tier: Tier, program: ProgramSettings) -> Tier | None:
    return next((step for step in program.partner_tiers if step.rank > tier.rank), None)


def _tiers_to_aim_at(tier: Tier, program: ProgramSettings) -> list[Tier]:
    """The partner's own tier (silver for a bronze one), then the tier above it."""
    own = tier if program.criteria_for(tier) is not None else _tier_above(tier, program)
    if own is None:
        return []
    higher = _tier_above(own, program)
    return [own] if higher is None else [own, higher]


def tip(metrics: PartnerMetrics, tier: Tier, program: ProgramSettings) -> Tip | None:
    """Advice aimed at the partner's weakest criterion over the program's window: the missed
    criterion of its tier furthest from its line, else of the tier above; where it meets both,
    the criterion with the least room above its line, to keep. None: no tier has criteria."""
    last: tuple[Tier, list[CriterionResult]] | None = None
    for aim in _tiers_to_aim_at(tier, program):
        criteria = program.criteria_for(aim)
        assert criteria is not None
        results = evaluate(
            metrics,
            criteria,
            include_tenure=False,
            unrated=program.unrated,
            basis_days=program.metrics_window_days,
        )
        missed = failed(results)
        if missed:
            weakest = min(missed, key=_progress)
            advice = FIRST_FIGURES if metrics.total_orders == 0 else _advice(weakest.name)
            return _tip(weakest, aim, program, advice)
        if results:
            last = aim, results
    if last is None:
        return None
    aim, results = last
    closest = min(results, key=_margin)
    keep = (
        f"You meet every {aim.value} criterion; {closest.label} has the least room, so keep it up."
    )
    return _tip(closest, aim, program, f"{keep} {_advice(closest.name)}")


def _tip(result: CriterionResult, tier: Tier, program: ProgramSettings, advice: str) -> Tip:
    return Tip(
        criterion=result.name,
        label=result.label,
        tier=tier.value,
        text=result.describe(),
        needs=criterion_needs(result, program.metrics_window_days),
        advice=advice,
    )
