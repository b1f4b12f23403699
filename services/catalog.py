"""What a provider reads of its catalogue: who sees each of its offers, and its agreements.

Who sees an offer follows `store.offer_access.visible_offer_ids`: a public offer every
reseller, a preferred or selected one the resellers whose access rows are of the offer's
current visibility; less, in both, those blocked from it or from every offer of the
provider. The agreements query is the one `GET /provider/agreements` pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from models.agreement import AgreementStatus
from models.offers import Visibility
from models.program import Frozen
from models.schema import Agreement, Offer, OfferAccess, OfferBlock, PreferredListEntry, Reseller
from store.offer_access import ON_PREFERRED_LIST


class Viewer(Frozen):
    """A reseller who sees an offer, with its name where the registry has one."""

    reseller_team_id: str
    name: str | None


class OfferAudience(Frozen):
    """Who sees one offer right now. A public offer is seen by every reseller of the
    marketplace (`everyone`); `partners` are then the provider's partners on its list who
    see it. `blocked` are the resellers barred from it."""

    offer_id: str
    everyone: bool
    partners: list[Viewer]
    blocked: list[str]


def offer_audiences(
    session: Session, provider_id: str, offers: Sequence[tuple[str, Visibility]]
) -> dict[str, OfferAudience]:
    """Who sees each of these offers (ID, visibility), in three statements for them all."""
    ids = [offer_id for offer_id, _ in offers]
    access: dict[str, list[Viewer]] = {offer_id: [] for offer_id in ids}
    rows = session.execute(
        select(OfferAccess.offer_id, OfferAccess.reseller_team_id, Reseller.name)
        .join(Offer, Offer.id == OfferAccess.offer_id)
        .outerjoin(Reseller, Reseller.team_id == OfferAccess.reseller_team_id)
        .where(
            Offer.provider_id == provider_id,
            Offer.id.in_(ids),
            OfferAccess.source == Offer.visibility,
        )
        .order_by(OfferAccess.reseller_team_id)
    )
    for offer_id, team_id, name in rows:
        access[offer_id].append(Viewer(reseller_team_id=team_id, name=name))
    blocks = session.execute(
        select(OfferBlock.reseller_team_id, OfferBlock.offer_id).where(
            OfferBlock.provider_id == provider_id
        )
    ).all()
    blocked_all = {team_id for team_id, offer_id in blocks if offer_id is None}
    partners: list[Viewer] = []
    if any(visibility is Visibility.PUBLIC for _, visibility in offers):
        partners = [
            Viewer(reseller_team_id=team_id, name=name)
            for team_id, name in session.execute(
                select(PreferredListEntry.reseller_team_id, Reseller.name)
                .outerjoin(Reseller, Reseller.team_id == PreferredListEntry.reseller_team_id)
                .where(
                    PreferredListEntry.provider_id == provider_id,
                    PreferredListEntry.status.in_(ON_PREFERRED_LIST),
                )
                .order_by(PreferredListEntry.reseller_team_id)
            )
        ]
    audiences = {}
    for offer_id, visibility in offers:
        blocked = blocked_all | {team for team, offer in blocks if offer == offer_id}
        public = visibility is Visibility.PUBLIC
        seen = partners if public else access[offer_id]
        audiences[offer_id] = OfferAudience(
            offer_id=offer_id,
            everyone=public,
            partners=[v for v in seen if v.reseller_team_id not in blocked],
            blocked=sorted(blocked),
        )
    return audiences


def agreements_query(
    provider_id: str,
    status: AgreementStatus | None = None,
    reseller_team_id: str | None = None,
) -> Select[Any]:
    """The provider's agreements as their workflows last wrote them, by ID."""
    query = select(Agreement).where(Agreement.provider_id == provider_id)
    if status is not None:
        query = query.where(Agreement.status == status.value)
    if reseller_team_id is not None:
        query = query.where(Agreement.reseller_team_id == reseller_team_id)
    return query.order_by(Agreement.agreement_id)
