"""An offer announcing itself: the announcement a provider asks for with an offer's create or
change (`announce`), to the partners who see the offer, sent now.

Recorded in the offer's own transaction: the caller starts its workflow before that commits,
so that the offer and its announcement are saved together or not at all (the workflow waits
for the row, and ends with nothing sent if it never comes).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from models.announcement import AnnouncementKind, AnnouncementRequest, Audience, OfferAnnounce
from models.offers import OfferStatus
from services.announcements import AnnouncementRecord, create_announcement
from services.errors import InputError
from services.offers import OfferRecord

K = AnnouncementKind
NOTHING_TO_ANNOUNCE = (
    "{kind}: this change neither sets a new price ({prices}) nor makes the offer active, so "
    "say what the announcement is about: give {kind}"
)


class NothingToAnnounce(InputError):
    """An announcement asked for without a kind, of a change that implies none."""

    def __init__(self, kind: str = "announce.kind", prices: str = "monthlyPrice, tierPrices"):
        super().__init__(NOTHING_TO_ANNOUNCE.format(kind=kind, prices=prices))


def default_kind(before: OfferRecord | None, after: OfferRecord) -> AnnouncementKind | None:
    """What a change announces unless the provider says: a new offer, or one made active, is a
    new service; a new list or tier price is a pricing change; anything else, nothing."""
    if before is None or before.status is not OfferStatus.ACTIVE:
        return K.NEW_SERVICE
    if before.monthly_price != after.monthly_price or before.tier_prices != after.tier_prices:
        return K.PRICING_CHANGE
    return None


def _plain(text: str) -> str:
    """The provider's stored text fit for an announcement's body: no control characters."""
    return "".join(" " if ord(c) < 32 and c not in "\t\n" or ord(c) == 127 else c for c in text)


def written_subject(kind: AnnouncementKind, offer: OfferRecord) -> str:
    if kind is K.NEW_SERVICE:
        return f"New: {offer.name}"
    if kind is K.PRICING_CHANGE:
        return f"New price for {offer.name}: ${offer.monthly_price:,.2f} a month"
    return f"{kind.label.capitalize()}: {offer.name}"


def written_body(kind: AnnouncementKind, offer: OfferRecord) -> str:
    """Plain text from what resellers see of the offer (never its internal name)."""
    what = f"{offer.name} ({offer.category})" if offer.category else offer.name
    price = f"${offer.monthly_price:,.2f} a month"
    if kind is K.NEW_SERVICE:
        opening = f"{what} is now available."
    elif kind is K.PRICING_CHANGE:
        opening = f"{what} has a new list price: {price}."
    else:
        opening = f"{kind.label.capitalize()}: {what}."
    parts = [opening]
    if offer.description and offer.description.strip():
        parts.append(_plain(offer.description.strip()))
    if kind is not K.PRICING_CHANGE:
        parts.append(f"List price: {price}.")
    return "\n\n".join(parts)


def announce_offer(
    session: Session,
    provider_id: str,
    offer: OfferRecord,
    announce: OfferAnnounce,
    now: datetime,
    *,
    before: OfferRecord | None = None,
) -> AnnouncementRecord:
    """Record the offer's announcement in the session's transaction (`before`: the offer
    before a change; None for a new offer). Its workflow is the caller's to start."""
    if offer.status is not OfferStatus.ACTIVE:
        raise InputError(
            f"announce: a {offer.status.value} offer is seen by nobody; announce it once it is "
            "active"
        )
    kind = announce.kind or default_kind(before, offer)
    if kind is None:
        raise NothingToAnnounce()
    request = AnnouncementRequest(
        kind=kind,
        subject=announce.subject or written_subject(kind, offer),
        body=announce.body or written_body(kind, offer),
        audience=Audience(offer_id=offer.offer_id),
        created_by=f"offer {offer.offer_id}",
    )
    return create_announcement(session, provider_id, request, now)
