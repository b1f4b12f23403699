"""What a reseller reads of its offers, exclusive agreements, messages and quarterly
scorecards, for its portal and the `/reseller/` API: each for the one reseller team its key
names (see services.portal), another team's not found whatever ID is asked for.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field
from pydantic.alias_generators import to_camel
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from models.agreement import AgreementStatus
from models.metrics import MetricsView, PartnerMetrics
from models.notifications import Recipient
from models.offers import Visibility
from models.partner import PartnerStatus
from models.program import ProgramSettings, Tier
from models.review import ReviewCadence, ReviewPeriod, acts_on, window_text
from models.schema import (
    Agreement,
    AgreementScorecard,
    Notification,
    Offer,
    ProgramReview,
    Provider,
    ReviewSnapshot,
)
from services.errors import NotFoundError
from services.portal import TierCriteriaView, View, require_program, tier_above, tier_view
from store.assessment import MEASURES
from store.offer_access import visible_offer_ids
from store.pricing import partner_prices

HELD = (AgreementStatus.ACTIVE.value, AgreementStatus.IN_BREACH.value)
"""The statuses of an agreement in force."""


def camel(value: Any) -> Any:
    """A stored JSON document (snake_case keys) as the API writes JSON."""
    if isinstance(value, dict):
        return {to_camel(str(key)): camel(item) for key, item in value.items()}
    if isinstance(value, list):
        return [camel(item) for item in value]
    return value


class OfferReason(StrEnum):
    PUBLIC = "public"
    TIER = "tier"
    SELECTED = "selected"
    EXCLUSIVE = "exclusive"


class SeenOffer(View):
    """An offer the reseller sees, the price it gets, and why it sees it."""

    offer_id: str
    name: str
    monthly_price: float = Field(description="The offer's list price a month.")
    price: float = Field(description="The price this reseller gets a month: its tier's.")
    price_note: str | None = Field(
        default=None,
        description='Why it is not the list price: "gold price" (the offer\'s own for the '
        'tier), "10% silver discount" (the program\'s); null at the list price.',
    )
    visibility: Visibility
    reason: OfferReason
    why: str = Field(description="Why it sees the offer, as a person reads it.")


def _why(offer: Offer, reason: OfferReason, agreement: Agreement | None) -> str:
    if reason is OfferReason.EXCLUSIVE and agreement is not None:
        scope = (
            f"in {len(agreement.zip_codes)} ZIP code(s)" if agreement.zip_codes else "everywhere"
        )
        return f"Your exclusive agreement {agreement.agreement_id} ({scope})"
    if reason is OfferReason.TIER:
        tier = Tier(offer.min_tier) if offer.min_tier else Tier.SILVER
        return f"Your tier: for {tier.value} partners and above"
    if reason is OfferReason.SELECTED:
        return "Selected for you by the provider"
    return "Public: every reseller of the marketplace sees it"


def seen_offers(session: Session, provider_id: str, team_id: str) -> list[SeenOffer]:
    """The provider's offers the reseller sees right now, each with its price and reason."""
    require_program(session, provider_id, team_id)
    ids = visible_offer_ids(session, provider_id, team_id)
    offers = session.scalars(select(Offer).where(Offer.id.in_(ids)).order_by(Offer.id)).all()
    prices = partner_prices(session, provider_id, team_id, [offer.id for offer in offers])
    exclusives = {
        row.offer_id: row
        for row in session.scalars(
            select(Agreement).where(
                Agreement.provider_id == provider_id,
                Agreement.reseller_team_id == team_id,
                Agreement.status.in_(HELD),
            )
        )
    }
    seen = []
    for offer in offers:
        agreement = exclusives.get(offer.id)
        if agreement is not None:
            reason = OfferReason.EXCLUSIVE
        elif offer.visibility == Visibility.PREFERRED.value:
            reason = OfferReason.TIER
        elif offer.visibility == Visibility.SELECTED.value:
            reason = OfferReason.SELECTED
        else:
            reason = OfferReason.PUBLIC
        price = prices[offer.id]
        seen.append(
            SeenOffer(
                offer_id=offer.id,
                name=offer.name,
                monthly_price=float(offer.monthly_price),
                price=float(price.price),
                price_note=price.note,
                visibility=Visibility(offer.visibility),
                reason=reason,
                why=_why(offer, reason, agreement),
            )
        )
    return seen


class AgreementScorecardView(View):
    term_number: int
    period_number: int
    period_start: datetime
    period_end: datetime
    window: str
    met: bool
    lines: list[dict[str, Any]]


class ResellerAgreement(View):
    """One of the reseller's exclusive agreements, its terms and its scorecards."""

    provider_id: str
    provider_name: str
    agreement_id: str
    kind: str
    offer_id: str
    offer_name: str | None
    zip_codes: list[str]
    status: AgreementStatus
    terms: dict[str, Any]
    term_number: int
    term_end: datetime
    breaches_in_term: int
    started_at: datetime
    ended_at: datetime | None
    end_reason: str | None
    scorecards: list[AgreementScorecardView]


MAX_SCORECARDS = 40
"""The latest scorecards shown per agreement (ten years of quarters)."""


def reseller_agreements(
    session: Session, team_id: str, provider_id: str | None = None
) -> list[ResellerAgreement]:
    """The reseller's exclusive agreements, those in force first, then the newest."""
    query = (
        select(Agreement, Provider.name, Offer.name)
        .join(Provider, Provider.id == Agreement.provider_id)
        .outerjoin(Offer, Offer.id == Agreement.offer_id)
        .where(Agreement.reseller_team_id == team_id)
    )
    if provider_id is not None:
        require_program(session, provider_id, team_id)
        query = query.where(Agreement.provider_id == provider_id)
    rows = session.execute(
        query.order_by(Agreement.status.not_in(HELD), Agreement.started_at.desc()).limit(200)
    ).all()
    agreements = []
    for agreement, provider_name, offer_name in rows:
        cards = session.scalars(
            select(AgreementScorecard)
            .where(
                AgreementScorecard.provider_id == agreement.provider_id,
                AgreementScorecard.agreement_id == agreement.agreement_id,
                AgreementScorecard.reseller_team_id == team_id,
            )
            .order_by(AgreementScorecard.period_start.desc())
            .limit(MAX_SCORECARDS)
        )
        agreements.append(
            ResellerAgreement(
                provider_id=agreement.provider_id,
                provider_name=provider_name,
                agreement_id=agreement.agreement_id,
                kind=agreement.kind,
                offer_id=agreement.offer_id,
                offer_name=offer_name,
                zip_codes=list(agreement.zip_codes),
                status=AgreementStatus(agreement.status),
                terms=camel(agreement.terms),
                term_number=agreement.term_number,
                term_end=agreement.term_end,
                breaches_in_term=agreement.breaches_in_term,
                started_at=agreement.started_at,
                ended_at=agreement.ended_at,
                end_reason=agreement.end_reason,
                scorecards=[
                    AgreementScorecardView(
                        term_number=card.term_number,
                        period_number=card.period_number,
                        period_start=card.period_start,
                        period_end=card.period_end,
                        window=window_text(card.period_start, card.period_end),
                        met=card.met,
                        lines=camel(card.lines),
                    )
                    for card in cards
                ],
            )
        )
    return agreements


class InboxMessage(View):
    """A message a program sent the reseller, as the outbox keeps it."""

    message_id: int
    provider_id: str
    provider_name: str
    kind: str
    subject: str
    created_at: datetime
    sent_at: datetime | None
    status: str


class InboxMessageBody(InboxMessage):
    body: str


def _inbox_query(team_id: str, provider_id: str | None) -> Select[Notification, str]:
    query = (
        select(Notification, Provider.name)
        .join(Provider, Provider.id == Notification.provider_id)
        .where(
            Notification.reseller_team_id == team_id,
            Notification.recipient == Recipient.PARTNER.value,
        )
    )
    if provider_id is not None:
        query = query.where(Notification.provider_id == provider_id)
    return query


def _message(row: Notification, provider_name: str) -> InboxMessage:
    return InboxMessage(
        message_id=row.id,
        provider_id=row.provider_id,
        provider_name=provider_name,
        kind=row.kind,
        subject=row.subject,
        created_at=row.created_at,
        sent_at=row.sent_at,
        status=row.status,
    )


def inbox(
    session: Session,
    team_id: str,
    *,
    provider_id: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[InboxMessage], int]:
    """One page of the messages the programs sent the reseller, newest first."""
    query = _inbox_query(team_id, provider_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(Notification.created_at.desc(), Notification.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return [_message(row, name) for row, name in rows], total


def inbox_message(session: Session, team_id: str, message_id: int) -> InboxMessageBody:
    """One of the reseller's messages with its body; another's is not found."""
    found = session.execute(
        _inbox_query(team_id, None).where(Notification.id == message_id)
    ).one_or_none()
    if found is None:
        raise NotFoundError(f"you have no message {message_id}")
    row, name = found
    return InboxMessageBody(**_message(row, name).model_dump(), body=row.body)


class QuarterlyScorecard(View):
    """The reseller's scorecard from one quarterly review that acted: its figures over the
    quarter, each criterion of its tier and of the next, and what the review decided."""

    review_id: str
    provider_id: str
    provider_name: str
    period: str
    window: str
    reviewed_at: datetime
    status_before: PartnerStatus | None
    status_after: PartnerStatus | None
    tier_before: Tier
    tier_after: Tier
    metrics: MetricsView
    tier_criteria: TierCriteriaView | None
    next_tier: TierCriteriaView | None


def _scorecard(
    review: ProgramReview, provider_name: str, snapshot: ReviewSnapshot
) -> QuarterlyScorecard:
    program = ProgramSettings.model_validate(review.program)
    metrics = PartnerMetrics(
        provider_id=review.provider_id,
        reseller_team_id=snapshot.reseller_team_id,
        window_start=review.window_start,
        window_end=review.window_end,
        **{measure: getattr(snapshot, measure) for measure in MEASURES},
    )
    tier = Tier(snapshot.tier_after)
    status = PartnerStatus(snapshot.status_after) if snapshot.status_after else None
    listed = status is not None and status.on_preferred_list
    above = tier_above(tier if listed else Tier.BRONZE, program)
    return QuarterlyScorecard(
        review_id=review.id,
        provider_id=review.provider_id,
        provider_name=provider_name,
        period=review.period,
        window=window_text(review.window_start, review.window_end),
        reviewed_at=review.started_at,
        status_before=PartnerStatus(snapshot.status_before) if snapshot.status_before else None,
        status_after=status,
        tier_before=Tier(snapshot.tier_before),
        tier_after=tier,
        metrics=MetricsView.model_validate(metrics),
        tier_criteria=tier_view(tier, metrics, program, keeping=True) if listed else None,
        next_tier=tier_view(above, metrics, program, keeping=False) if above else None,
    )


def _quarterly(team_id: str) -> Select[ProgramReview, str, ReviewSnapshot]:
    return (
        select(ProgramReview, Provider.name, ReviewSnapshot)
        .join(ReviewSnapshot, ReviewSnapshot.review_id == ProgramReview.id)
        .join(Provider, Provider.id == ProgramReview.provider_id)
        .where(
            ReviewSnapshot.reseller_team_id == team_id,
            ReviewSnapshot.status_before.is_not(None),
            ProgramReview.cadence == ReviewCadence.QUARTERLY.value,
            ProgramReview.completed_at.is_not(None),
        )
    )


def _acted(review: ProgramReview) -> bool:
    period = ReviewPeriod.parse(ReviewCadence(review.cadence), review.period)
    return acts_on(period, review.started_at)


def scorecards(
    session: Session, team_id: str, provider_id: str | None = None, limit: int = 40
) -> list[QuarterlyScorecard]:
    """The reseller's quarterly scorecards, newest first: one for each quarterly review that
    acted (not a past-period audit) while it was on the provider's list."""
    query = _quarterly(team_id)
    if provider_id is not None:
        query = query.where(ProgramReview.provider_id == provider_id)
    rows = session.execute(query.order_by(ProgramReview.window_end.desc()).limit(limit * 2)).all()
    cards = [_scorecard(review, name, snap) for review, name, snap in rows if _acted(review)]
    return cards[:limit]


def scorecard(session: Session, team_id: str, review_id: str) -> QuarterlyScorecard:
    """One of the reseller's quarterly scorecards; another's, or none, is not found."""
    found = session.execute(_quarterly(team_id).where(ProgramReview.id == review_id)).one_or_none()
    if found is None or not _acted(found[0]):
        raise NotFoundError(f"you have no scorecard of review {review_id}")
    review, name, snapshot = found
    return _scorecard(review, name, snapshot)
