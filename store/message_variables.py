"""What a message template sees: the facts of one message as plain, documented variables."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from models.agreement import AgreementKind, Scorecard
from models.metrics import CriterionResult, PartnerMetrics, evaluate
from models.newsletter import NewsletterNotice
from models.notifications import (
    AgreementNotice,
    AnnouncementNotice,
    IssueNotice,
    NotificationContext,
)
from models.pricing import PartnerPrice, tier_discount
from models.program import ProgramSettings, Tier
from models.program_change import ThresholdChange
from models.review import window_text
from models.templates import TIER_BENEFITS, TIER_LABELS, VARIABLES

SHOWN_ZIP_CODES = 20


@dataclass(frozen=True)
class PricedOffer:
    """An offer a message lists, and what the partner pays for it a month."""

    name: str
    price: PartnerPrice

    @property
    def text(self) -> str:
        """'Acme Fiber 1 Gig: $53.99 a month (10% gold discount, list $59.99)'."""
        shown = f"{self.name}: ${self.price.price:,.2f} a month"
        if self.price.note is None:
            return shown
        return f"{shown} ({self.price.note}, list ${self.price.list_price:,.2f})"


@dataclass(frozen=True)
class MessageFacts:
    """What the message needs beyond its context: names, and the program where it is known."""

    provider_name: str
    reseller_name: str
    program: ProgramSettings | None = None
    tier_offers: Sequence[str] = field(default_factory=tuple)
    tier_offer_prices: Sequence[PricedOffer] = field(default_factory=tuple)
    """The same offers, each with the price the partner's tier gets (models.pricing)."""


def priced(offer: PricedOffer) -> dict[str, Any]:
    return {
        "name": offer.name,
        "price": float(offer.price.price),
        "list_price": float(offer.price.list_price),
        "note": offer.price.note,
        "text": offer.text,
    }


def _tier_discount(tier: Tier, program: ProgramSettings | None) -> int | float | None:
    """The percent off list prices the program gives `tier`, where it gives any: whole where
    it is (10, not 10.0), so that a template can write it as it is."""
    percent = tier_discount(tier, program.tier_discounts) if program else 0
    if not percent:
        return None
    return int(percent) if float(percent).is_integer() else percent


def criterion(result: CriterionResult) -> dict[str, Any]:
    value, threshold = result.formatted()
    return {
        "name": result.name,
        "label": result.label,
        "required": result.required,
        "actual": result.actual,
        "met": result.met,
        "at_most": result.at_most,
        "no_data": result.no_data,
        "value": value,
        "threshold": threshold,
        "text": result.describe(),
    }


def _criteria(results: Sequence[CriterionResult]) -> list[dict[str, Any]]:
    return [criterion(r) for r in results]


def _period(days: int) -> str:
    if 85 <= days <= 95:
        return "last quarter"
    if 28 <= days <= 31:
        return "last month"
    return f"last {days} days"


def metrics_variables(metrics: PartnerMetrics | None) -> dict[str, Any] | None:
    if metrics is None:
        return None
    days = round((metrics.window_end - metrics.window_start).total_seconds() / 86400)
    return {
        **metrics.model_dump(),
        "window_days": days,
        "period": _period(days),
        "window": window_text(metrics.window_start, metrics.window_end),
    }


def _scorecard(card: Scorecard | None) -> dict[str, Any] | None:
    if card is None:
        return None
    return {
        "kind": card.kind.value,
        "term_number": card.term_number,
        "period_number": card.period_number,
        "period_start": card.period_start,
        "period_end": card.period_end,
        "met": card.met,
        "total_orders": card.metrics.total_orders,
        "lines": _criteria(card.lines),
        "metrics": metrics_variables(card.metrics),
    }


def _scope(notice: AgreementNotice) -> str:
    if notice.kind is AgreementKind.REGIONAL:
        zips = notice.zip_codes
        shown = ", ".join(zips[:SHOWN_ZIP_CODES])
        if len(zips) > SHOWN_ZIP_CODES:
            shown += f" and {len(zips) - SHOWN_ZIP_CODES} more"
        return f"offer {notice.offer_id} in ZIP codes {shown}"
    return f"offer {notice.offer_id}"


def _agreement(notice: AgreementNotice | None) -> dict[str, Any] | None:
    if notice is None:
        return None
    return {
        "agreement_id": notice.agreement_id,
        "kind": notice.kind.value,
        "offer_id": notice.offer_id,
        "zip_codes": list(notice.zip_codes),
        "scope": _scope(notice),
        "term_number": notice.term_number,
        "term_end": notice.term_end,
        "cure_deadline": notice.cure_deadline,
        "ended_as": notice.ended_as.value if notice.ended_as else None,
        "scorecard": _scorecard(notice.scorecard),
    }


def _issue(notice: IssueNotice | None) -> dict[str, Any] | None:
    if notice is None:
        return None
    return {
        "reason": notice.reason,
        "severity": notice.severity.value,
        "reported_at": notice.reported_at,
        "earlier": [{"at": e.at, "reason": e.reason} for e in notice.earlier],
        "window_days": notice.window_days,
        "escalates_until": notice.escalates_until,
    }


def _announcement(notice: AnnouncementNotice | None) -> dict[str, Any] | None:
    if notice is None:
        return None
    return {
        "kind": notice.kind.value,
        "label": notice.kind.label,
        "subject": notice.subject,
        "body": notice.body,
        "offer": priced(PricedOffer(notice.offer.name, notice.offer.price))
        if notice.offer
        else None,
    }


def _newsletter(notice: NewsletterNotice | None) -> dict[str, Any] | None:
    if notice is None:
        return None
    return {
        "month": notice.month,
        "month_label": notice.month_label,
        "new_offers": [
            {
                "name": offer.name,
                "category": offer.category,
                "description": offer.description,
                **priced(PricedOffer(name=offer.name, price=offer.price)),
            }
            for offer in notice.new_offers
        ],
        "highlights": [
            {**highlight.model_dump(), "text": highlight.text} for highlight in notice.highlights
        ],
        "tip": notice.tip.model_dump() if notice.tip else None,
    }


def _standard(
    tier: Tier, metrics: PartnerMetrics | None, program: ProgramSettings | None
) -> list[CriterionResult]:
    if program is None or metrics is None:
        return []
    criteria = program.criteria_for(tier)
    if criteria is None:
        return []
    return evaluate(
        metrics,
        criteria,
        include_tenure=False,
        unrated=program.unrated,
        basis_days=program.metrics_window_days,
    )


def _threshold(change: ThresholdChange) -> dict[str, Any]:
    return {
        "tier": change.tier.value if change.tier else None,
        "name": change.name,
        "label": change.label,
        "old": change.old,
        "new": change.new,
        "tightens": change.tightens,
        "text": change.text,
    }


def message_variables(ctx: NotificationContext, facts: MessageFacts) -> dict[str, Any]:
    """Every variable of models.templates.VARIABLES, none or empty where the message lacks it."""
    variables = {
        "provider": facts.provider_name,
        "partner": facts.reseller_name,
        "tier": ctx.tier.value,
        "tier_label": TIER_LABELS[ctx.tier],
        "previous_tier": ctx.previous_tier.value if ctx.previous_tier else None,
        "reason": ctx.reason,
        "effective_date": ctx.effective_date,
        "grace_deadline": ctx.grace_deadline,
        "failed_criteria": _criteria(ctx.failed_criteria),
        "standard": _criteria(_standard(ctx.tier, ctx.metrics, facts.program)),
        "metrics": metrics_variables(ctx.metrics),
        "benefits": list(TIER_BENEFITS[ctx.tier]),
        "tier_offers": list(facts.tier_offers),
        "tier_offer_prices": [priced(offer) for offer in facts.tier_offer_prices],
        "tier_discount": _tier_discount(ctx.tier, facts.program),
        "offer_ids": list(ctx.offer_ids),
        "next_tier": ctx.next_tier.value if ctx.next_tier else None,
        "next_tier_criteria": _criteria(ctx.next_tier_criteria),
        "period": ctx.period,
        "agreement": _agreement(ctx.agreement),
        "issue": _issue(ctx.issue),
        "enrolled_below_criteria": ctx.enrolled_below_criteria,
        "program_changes": [_threshold(change) for change in ctx.program_changes],
        "announcement": _announcement(ctx.announcement),
        "newsletter": _newsletter(ctx.newsletter),
    }
    assert variables.keys() == VARIABLES.keys(), "models.templates.VARIABLES documents each one"
    return variables
