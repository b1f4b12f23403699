"""Representative data for each kind of message: what a template is rendered against when it
is saved or previewed, with every optional variable both present and absent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from models.agreement import AgreementKind, AgreementStatus, Scorecard, ScorecardKind
from models.announcement import AnnouncementKind
from models.metrics import CriterionResult, PartnerMetrics
from models.newsletter import Highlight, NewOffer, NewsletterNotice, Tip
from models.notifications import (
    AgreementNotice,
    AnnouncedOffer,
    AnnouncementNotice,
    EarlierIssue,
    IssueNotice,
    NotificationContext,
    NotificationKind,
)
from models.partner import IssueSeverity
from models.pricing import tier_price
from models.program import ProgramSettings, Tier, TierDiscounts
from models.program_change import ThresholdChange
from models.templates import CATALOGUE
from store.message_variables import MessageFacts, PricedOffer, message_variables

NOW = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
_SAMPLE_PROGRAM = ProgramSettings(tier_discounts=TierDiscounts(silver=5, gold=10))
SAMPLE_FACTS = MessageFacts(
    provider_name="Acme Fiber",
    reseller_name="Northwind Telecom",
    program=_SAMPLE_PROGRAM,
    tier_offers=("Acme Fiber 1 Gig", "Acme Fiber Business"),
    tier_offer_prices=(
        PricedOffer(
            name="Acme Fiber 1 Gig",
            price=tier_price(
                Decimal("59.99"), Tier.SILVER, discounts=_SAMPLE_PROGRAM.tier_discounts
            ),
        ),
        PricedOffer(
            name="Acme Fiber Business",
            price=tier_price(Decimal("99.00"), Tier.SILVER, tier_prices={"silver": "89.00"}),
        ),
    ),
)

_METRICS = PartnerMetrics(
    provider_id="acme",
    reseller_team_id="team-northwind",
    window_start=NOW - timedelta(days=90),
    window_end=NOW,
    total_orders=84,
    orders_per_month=28.0,
    accepted_orders=77,
    decided_orders=81,
    acceptance_rate=77 / 81,
    completion_rate=0.91,
    cancellation_rate=0.04,
    average_rating=4.42,
    rated_orders=51,
    average_order_value=79.9,
    revenue=6711.6,
    month_over_month_growth=0.08,
    tenure_months=14,
)
_COMPLETION_MISS = CriterionResult(
    name="completion_rate", label="completion", required=0.95, actual=0.91, met=False
)
_RATING_MISS = CriterionResult(
    name="average_rating", label="rating", required=4.5, actual=4.42, met=False
)
_GOLD_CRITERIA = [
    CriterionResult(
        name="orders_per_month", label="orders/month", required=50, actual=28.0, met=False
    ),
    CriterionResult(
        name="acceptance_rate", label="acceptance", required=0.95, actual=77 / 81, met=True
    ),
    CriterionResult(name="average_rating", label="rating", required=4.8, actual=4.42, met=False),
]
_SCORECARD = Scorecard(
    sequence=9,
    kind=ScorecardKind.PERIOD,
    term_number=1,
    period_number=2,
    period_start=NOW - timedelta(days=91),
    period_end=NOW,
    lines=[
        CriterionResult(
            name="orders_per_month", label="orders/month", required=20, actual=28.0, met=True
        ),
        _COMPLETION_MISS,
    ],
    met=False,
    metrics=_METRICS,
)
_AGREEMENT = AgreementNotice(
    agreement_id="seattle-metro-fiber",
    kind=AgreementKind.REGIONAL,
    offer_id="acme-fiber-seattle",
    zip_codes=["98101", "98102", "98103"],
    term_number=1,
    term_end=NOW + timedelta(days=270),
    cure_deadline=NOW + timedelta(days=30),
    scorecard=_SCORECARD,
    ended_as=AgreementStatus.EXPIRED,
)
_ISSUE = IssueNotice(
    reason="three installations missed their appointment this week",
    severity=IssueSeverity.MINOR,
    reported_at=NOW,
    earlier=[
        EarlierIssue(at=NOW - timedelta(days=20), reason="a customer complaint about billing")
    ],
    window_days=90,
    escalates_until=NOW + timedelta(days=90),
)

_CONTEXT = NotificationContext(
    tier=Tier.SILVER,
    previous_tier=Tier.GOLD,
    reason="review review/acme/monthly/2026-09 found the partner below the silver standard",
    effective_date=NOW + timedelta(days=14),
    grace_deadline=NOW + timedelta(days=45),
    failed_criteria=[_COMPLETION_MISS, _RATING_MISS],
    metrics=_METRICS,
    offer_ids=["acme-fiber-gig", "acme-business"],
    agreement=_AGREEMENT,
    next_tier=Tier.GOLD,
    next_tier_criteria=_GOLD_CRITERIA,
    period="2026-Q3",
    issue=_ISSUE,
    program_changes=[
        ThresholdChange(
            tier=Tier.SILVER,
            name="completion_rate",
            label="completion",
            old="90.0%",
            new="95.0%",
            tightens=True,
        ),
        ThresholdChange(
            tier=None,
            name="grace_period_days",
            label="grace period",
            old="45 days",
            new="30 days",
            tightens=True,
        ),
    ],
)


_ANNOUNCEMENT = AnnouncementNotice(
    kind=AnnouncementKind.NEW_SERVICE,
    subject="Acme Fiber 2 Gig is here",
    body="From 1 November, Acme Fiber 2 Gig is available across the Seattle metro area.\n"
    "Preferred partners can sell it from today at the launch price.",
    offer=AnnouncedOffer(
        name="Acme Fiber 2 Gig",
        price=tier_price(Decimal("79.99"), Tier.SILVER, discounts=_SAMPLE_PROGRAM.tier_discounts),
    ),
)


_NEWSLETTER = NewsletterNotice(
    month="2026-09",
    month_label="September 2026",
    new_offers=[
        NewOffer(
            offer_id="acme-fiber-2g",
            name="Acme Fiber 2 Gig",
            category="internet",
            description="Symmetric 2 Gbit/s fiber for homes in the Seattle metro area.",
            price=tier_price(
                Decimal("79.99"), Tier.SILVER, discounts=_SAMPLE_PROGRAM.tier_discounts
            ),
        )
    ],
    highlights=[
        Highlight(
            name="orders", label="orders", before="24", after="31", change="+29%", improved=True
        ),
        Highlight(
            name="acceptance_rate",
            label="acceptance",
            before="96.0%",
            after="93.5%",
            change="-2.5 points",
            improved=False,
        ),
        Highlight(
            name="average_rating",
            label="customer rating",
            before=None,
            after="4.80",
            change=None,
            improved=None,
        ),
    ],
    tip=Tip(
        criterion="acceptance_rate",
        label="acceptance",
        tier="silver",
        text="acceptance 93.5% < 95.0%",
        needs="acceptance 93.5% → 95.0%",
        advice="Accept the orders offered to you or decline them at once: an order left to "
        "time out counts against you.",
    ),
)


def sample_context(kind: NotificationKind) -> NotificationContext:
    """A realistic context for `kind`, with every field it can carry."""
    if kind is NotificationKind.ANNOUNCEMENT:
        return _CONTEXT.model_copy(update={"announcement": _ANNOUNCEMENT})
    if kind is NotificationKind.NEWSLETTER:
        return _CONTEXT.model_copy(update={"newsletter": _NEWSLETTER})
    if kind is NotificationKind.PROMOTED:
        return _CONTEXT.model_copy(
            update={"tier": Tier.GOLD, "previous_tier": Tier.SILVER, "failed_criteria": []}
        )
    if kind is NotificationKind.REMOVED:
        return _CONTEXT.model_copy(update={"tier": Tier.BRONZE, "previous_tier": Tier.SILVER})
    return _CONTEXT


def sample_variables(kind: NotificationKind, facts: MessageFacts = SAMPLE_FACTS) -> dict[str, Any]:
    return message_variables(sample_context(kind), facts)


def _without(variables: dict[str, Any], path: str) -> dict[str, Any]:
    """`variables` with the variable (or field, `a.b`) at `path` absent: none, or empty."""
    head, _, rest = path.partition(".")
    value = variables[head]
    if rest:
        replaced: Any = None if value is None else _without(value, rest)
    else:
        replaced = [] if isinstance(value, list) else None
    return {**variables, head: replaced}


def variants(
    kind: NotificationKind, variables: dict[str, Any]
) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """`variables` as given, with each of the kind's optional ones absent alone, and with all
    of them absent (each with what is absent): a template that renders all of these renders
    every message of the kind."""
    optional = CATALOGUE[kind].optional
    yield (), variables
    for path in optional:
        yield (path,), _without(variables, path)
    if len(optional) > 1:
        bare = variables
        for path in optional:
            bare = _without(bare, path)
        yield optional, bare
