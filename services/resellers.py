"""Which resellers are a provider's: the only ones whose data the provider may see or change.

Resellers are the marketplace's, shared by every provider. A provider's own are those on
its preferred list (whatever their status now), those its orders name, and those it lets
see one of its selected offers. Any other reseller, one that exists and one that does not
alike, is not found, with the same message: a provider learns nothing of the others'.
"""

from __future__ import annotations

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from models.schema import Offer, OfferAccess, Order, PreferredListEntry, Reseller
from services.errors import NotFoundError


def own_reseller(session: Session, provider_id: str, team_id: str) -> Reseller:
    """The reseller, if it is the provider's; NotFoundError otherwise."""
    listed = exists().where(
        PreferredListEntry.provider_id == provider_id,
        PreferredListEntry.reseller_team_id == team_id,
    )
    sold = exists().where(Order.provider_id == provider_id, Order.reseller_team_id == team_id)
    allowed = exists().where(
        OfferAccess.reseller_team_id == team_id,
        OfferAccess.offer_id == Offer.id,
        Offer.provider_id == provider_id,
    )
    query = select(Reseller).where(Reseller.team_id == team_id, or_(listed, sold, allowed))
    reseller = session.scalar(query)
    if reseller is None:
        raise NotFoundError(f"{team_id} is not a partner or reseller of provider {provider_id}")
    return reseller
