"""Message templates: what each kind of message is for, and the variables it is rendered from.

Every message has a subject and a body template (Jinja2). The program ships one
of each per kind; a provider may override either for its own program. This
catalogue is what the API, the CLI and the save-time validation know about a kind.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from models.notifications import NotificationKind, Recipient
from models.program import Frozen, Tier

MAX_TEMPLATE_CHARS = 20_000
"""The longest template source a provider may save (each of subject and body)."""
MAX_BODY_CHARS = 64_000
"""The longest body a template may render."""
MAX_SUBJECT_CHARS = 300
"""The longest subject a template may render (the outbox's column)."""


class TemplatePart(StrEnum):
    SUBJECT = "subject"
    BODY = "body"


VARIABLES: dict[str, str] = {
    "provider": "the provider's name",
    "partner": "the reseller's name",
    "tier": "the partner's tier: bronze, silver or gold",
    "tier_label": 'the tier as the program documents name it, e.g. "silver (preferred)"',
    "previous_tier": "the tier before the change (promotion, demotion, recovery, removal)",
    "reason": "why: the reason the workflow recorded for this event",
    "effective_date": "the day a scheduled enrollment or a program change takes effect",
    "grace_deadline": "the end of the grace period: the partner must recover by then",
    "failed_criteria": "the criteria not met; each has label, value (the partner's, formatted), "
    "threshold (formatted), text (e.g. 'acceptance 85.0% < 90.0%'), actual and required "
    "(numbers), met, no_data (nothing measured yet: value reads 'no ratings yet')",
    "standard": "each criterion of the partner's tier against its metrics (same fields as "
    "failed_criteria); empty where the program or the metrics are not known",
    "metrics": "the partner's figures over the program's window: period ('last quarter' for "
    "the default 90 days), window (its first and last day, as in '1 July – 30 September "
    "2026'), window_start, window_end (exclusive), window_days, total_orders, "
    "orders_per_month, acceptance_rate, completion_rate, cancellation_rate, average_rating, "
    "rated_orders, average_order_value, revenue, month_over_month_growth, tenure_months "
    "(rates are fractions: use the percent filter; a rate or the rating is none where "
    "nothing was measured)",
    "benefits": "what the partner's tier gives it, one sentence each",
    "tier_offers": "the names of the provider's offers that the partner's tier unlocks",
    "tier_offer_prices": "the same offers, each with name, price (what the partner pays a "
    "month: its tier's price), list_price, note (e.g. '10% gold discount', 'gold price'; none "
    "at the list price) and text (e.g. 'Acme Fiber 1 Gig: $53.99 a month (10% gold discount, "
    "list $59.99)')",
    "tier_discount": "the percent off list prices the partner's tier gets from the program "
    "(e.g. 10), where an offer sets no price of its own; none where it gets none",
    "offer_ids": "the offers a block applies to; empty means every offer",
    "next_tier": "the tier above the partner's, if the program has one",
    "next_tier_criteria": "each criterion of the next tier against the partner's metrics "
    "(same fields as failed_criteria)",
    "period": "the review period, e.g. 2026-Q3",
    "agreement": "the exclusive agreement: agreement_id, kind (regional or service), offer_id, "
    "zip_codes, scope (e.g. 'offer acme-fiber in ZIP codes 98101, 98102'), term_number, "
    "term_end, cure_deadline, ended_as (expired or terminated), scorecard (period_start, "
    "period_end, met, total_orders, lines: criteria as in failed_criteria)",
    "issue": "the reported issue: reason, severity (minor or serious), reported_at, earlier "
    "(the other issues within the window, each with at and reason), window_days, "
    "escalates_until (until when another issue escalates the response)",
    "enrolled_below_criteria": "true where the provider enrolled the partner below its tier's "
    "criteria on purpose: the welcome then states the standard to reach, not what it missed",
    "program_changes": "each setting a program change moves: tier (none for the grace period "
    "and the unrated rule), label, old and new (formatted), tightens, text (e.g. 'silver "
    "acceptance: 90.0% → 95.0%')",
    "announcement": "the provider's announcement: kind (new_service, pricing_change, "
    "service_area_expansion, promotion, platform_update or downtime), label (e.g. 'new "
    "service'), subject and body, as the provider wrote them (text, never run as a template), "
    "and offer (when its audience is the partners who see an offer: that offer's name, price, "
    "list_price, note and text as in tier_offer_prices, at the partner's tier)",
    "newsletter": "the monthly newsletter: month (2026-11), month_label ('November 2026'), "
    "new_offers (the offers the partner could newly see that month, newest first, each with "
    "name, category, description, price, list_price, note and text as in tier_offer_prices), "
    "highlights (its figures against the month before, each with label, before, after, change "
    "(e.g. '+12%', '+3.0 points'), improved and text), tip (aimed at its weakest criterion: "
    "label, tier, text, needs and advice; none when there is nothing to measure)",
}
"""Every variable a template can use; each is always defined (none or empty when absent)."""

FILTERS: dict[str, str] = {
    "date": "a date as 2026-11-22 (n/a for none)",
    "percent": "a fraction as a percentage, 0.951 -> 95.1% (n/a for none)",
    "money": "an amount with thousands separators and cents, 12345.5 -> 12,345.50",
    "number": "a number with N decimals (default 1): {{ x|number(2) }} (n/a for none)",
}

_METRICS_OPTIONAL = (
    "metrics.acceptance_rate",
    "metrics.completion_rate",
    "metrics.cancellation_rate",
    "metrics.average_rating",
    "metrics.average_order_value",
    "metrics.month_over_month_growth",
)
_PARTNER = ("provider", "partner", "tier", "tier_label")
_AGREEMENT = ("provider", "partner", "agreement", "reason")
_AGREEMENT_OPTIONAL = ("reason", "agreement.scorecard", "agreement.cure_deadline")


class KindInfo(Frozen):
    """One kind of message: who receives it, when it is sent, what it may use."""

    kind: NotificationKind
    recipient: Recipient
    description: str
    variables: tuple[str, ...] = Field(description="The variables this kind is rendered from.")
    optional: tuple[str, ...] = Field(
        default=(),
        description="Variables (or fields of them) that some messages of this kind lack: "
        "a template must work with and without them.",
    )


def _info(
    kind: NotificationKind,
    description: str,
    variables: tuple[str, ...],
    optional: tuple[str, ...] = (),
    recipient: Recipient = Recipient.PARTNER,
) -> KindInfo:
    return KindInfo(
        kind=kind,
        recipient=recipient,
        description=description,
        variables=variables,
        optional=optional,
    )


K = NotificationKind
CATALOGUE: dict[NotificationKind, KindInfo] = {
    info.kind: info
    for info in (
        _info(
            K.WELCOME,
            "the welcome letter, when a partner joins the preferred list: its tier, the tier's "
            "benefits, and its figures over the last quarter",
            (
                *_PARTNER,
                "benefits",
                "tier_offers",
                "tier_offer_prices",
                "tier_discount",
                "standard",
                "metrics",
                "enrolled_below_criteria",
            ),
            (
                "tier_offers",
                "tier_offer_prices",
                "tier_discount",
                "standard",
                *_METRICS_OPTIONAL,
            ),
        ),
        _info(
            K.ENROLLMENT_SCHEDULED,
            "an enrollment with a future effective date was accepted",
            (*_PARTNER, "effective_date"),
        ),
        _info(
            K.AT_RISK_WARNING,
            "a review or the provider put the partner at risk: each failed criterion with its "
            "value and threshold, the grace deadline, and what to do",
            (*_PARTNER, "reason", "failed_criteria", "grace_deadline", "issue"),
            ("failed_criteria", "issue"),
        ),
        _info(
            K.GRACE_CHANGED,
            "the provider moved an at-risk partner's grace deadline",
            (*_PARTNER, "reason", "grace_deadline"),
        ),
        _info(
            K.RECOVERED,
            "an at-risk partner is back to its tier's standard (possibly one tier lower)",
            (*_PARTNER, "previous_tier", "reason", "metrics", "standard"),
            ("standard", *_METRICS_OPTIONAL),
        ),
        _info(
            K.REMOVED,
            "the partner was taken off the preferred list: why, and how to regain status",
            (*_PARTNER, "previous_tier", "reason", "failed_criteria"),
            ("failed_criteria",),
        ),
        _info(
            K.PROMOTED,
            "the partner moved up a tier: what changed and why",
            (
                *_PARTNER,
                "previous_tier",
                "reason",
                "benefits",
                "tier_offers",
                "tier_offer_prices",
                "tier_discount",
                "metrics",
            ),
            ("tier_offers", "tier_offer_prices", "tier_discount", "metrics"),
        ),
        _info(
            K.DEMOTED,
            "the partner moved down a tier: what changed and why",
            (
                *_PARTNER,
                "previous_tier",
                "reason",
                "failed_criteria",
                "tier_offer_prices",
                "tier_discount",
                "metrics",
            ),
            ("failed_criteria", "tier_offer_prices", "tier_discount", "metrics"),
        ),
        _info(
            K.BLOCKED,
            "the provider blocked the partner from some offers or all of them",
            (*_PARTNER, "reason", "offer_ids"),
            ("offer_ids",),
        ),
        _info(K.UNBLOCKED, "the provider lifted a block", (*_PARTNER, "reason")),
        _info(
            K.CANDIDATE_NOTICE,
            "to the provider: a reseller qualifies for the preferred list and awaits approval",
            (*_PARTNER, "reason", "metrics"),
            ("metrics",),
            Recipient.PROVIDER,
        ),
        _info(
            K.SCORECARD,
            "the quarterly scorecard: the partner's figures and what the next tier requires",
            (*_PARTNER, "period", "metrics", "standard", "next_tier", "next_tier_criteria"),
            ("standard", "next_tier", "next_tier_criteria", *_METRICS_OPTIONAL),
        ),
        _info(
            K.FRIENDLY_NOTICE,
            "the first issue reported within the program's window: a friendly notice",
            (*_PARTNER, "issue"),
            ("issue.earlier",),
        ),
        _info(
            K.FORMAL_NOTICE,
            "a repeated issue within the program's window: a formal notice that the next one "
            "puts the partner's status at risk; to a partner already at risk, a formal notice "
            "with its grace deadline",
            (*_PARTNER, "issue", "grace_deadline"),
            ("issue.earlier", "grace_deadline"),
        ),
        _info(
            K.EXCLUSIVE_GRANTED,
            "an exclusive agreement is in force",
            _AGREEMENT,
            _AGREEMENT_OPTIONAL,
        ),
        _info(
            K.EXCLUSIVE_REVIEW,
            "an exclusive's review period met its terms: the scorecard",
            _AGREEMENT,
            _AGREEMENT_OPTIONAL,
        ),
        _info(
            K.EXCLUSIVE_BREACH,
            "an exclusive's review period missed its terms: the scorecard and the cure deadline",
            _AGREEMENT,
            _AGREEMENT_OPTIONAL,
        ),
        _info(
            K.EXCLUSIVE_CURED,
            "a breach was cured within the cure period",
            _AGREEMENT,
            _AGREEMENT_OPTIONAL,
        ),
        _info(
            K.EXCLUSIVE_AMENDED,
            "the provider amended an exclusive's terms",
            _AGREEMENT,
            _AGREEMENT_OPTIONAL,
        ),
        _info(
            K.EXCLUSIVE_RENEWED,
            "an exclusive was renewed for another term",
            _AGREEMENT,
            _AGREEMENT_OPTIONAL,
        ),
        _info(
            K.EXCLUSIVE_EXPIRED,
            "an exclusive ended with its term",
            _AGREEMENT,
            _AGREEMENT_OPTIONAL,
        ),
        _info(
            K.EXCLUSIVE_TERMINATED,
            "an exclusive ended early (terminated, second breach, breach not cured, partner "
            "removed)",
            _AGREEMENT,
            _AGREEMENT_OPTIONAL,
        ),
        _info(
            K.EXCLUSIVE_ENDED_NOTICE,
            "to the provider: an exclusive ended on its own (expiry, breach, partner removed)",
            _AGREEMENT,
            _AGREEMENT_OPTIONAL,
            Recipient.PROVIDER,
        ),
        _info(
            K.PROGRAM_CHANGE_NOTICE,
            "a program change that tightens the criteria, to each partner that meets its tier "
            "now and would miss it under the new thresholds: what changes, when, and its "
            "figures against the new line",
            (*_PARTNER, "program_changes", "effective_date", "failed_criteria", "metrics"),
            _METRICS_OPTIONAL,
        ),
        _info(
            K.ANNOUNCEMENT,
            "an announcement the provider sends an audience of its partners (a new service, a "
            "pricing change, a service-area expansion, a promotion, a platform update or "
            "downtime): its subject and body, as the provider wrote them, and the partner's "
            "price for the offer it is about, where it is about one",
            (*_PARTNER, "announcement"),
            ("announcement.offer",),
        ),
        _info(
            K.NEWSLETTER,
            "the monthly newsletter, to each partner of a provider that opted in: the offers "
            "it could newly see last month at its price, its figures against the month before, "
            "and a tip aimed at its weakest criterion",
            (*_PARTNER, "newsletter"),
            ("newsletter.tip", "newsletter.new_offers"),
        ),
    )
}

TIER_LABELS: dict[Tier, str] = {
    Tier.BRONZE: "bronze",
    Tier.SILVER: "silver (preferred)",
    Tier.GOLD: "gold (strategic)",
}

TIER_BENEFITS: dict[Tier, tuple[str, ...]] = {
    Tier.BRONZE: ("the provider's public offers",),
    Tier.SILVER: (
        "a place on the provider's preferred partner list",
        "the offers the provider reserves for preferred partners",
        "a scorecard of your performance every quarter, with what the next tier requires",
        "a grace period to recover, with your benefits kept, should your figures slip",
    ),
    Tier.GOLD: (
        "a place on the provider's preferred partner list as a strategic partner",
        "every offer reserved for preferred partners, and those reserved for strategic ones",
        "eligibility for regional and service exclusive agreements",
        "a scorecard of your performance every quarter",
        "a grace period to recover, with your benefits kept, should your figures slip",
    ),
}
