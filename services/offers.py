"""A provider's offers and who may see them.

Every change to an offer's audience is applied to the access rows in the same
transaction, so what a reseller sees (`visible_offer_ids`) follows at once: a
`preferred` offer is granted to exactly the listed partners whose tier reaches
its minimum, a `selected` offer to exactly its allowed resellers. An offer held
by an exclusive agreement keeps its audience until the agreement ends, because
the agreement restores the audience it remembered when it began.

An early-access offer (`metadata.earlyAccess` with a `publicLaunchDate`) is `preferred` until
its launch, whatever visibility it is given, and its launch workflow (clients/offer_launches.py)
makes it public at the date. Only an `active` offer is seen by anyone (store/offer_access.py).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Self

from pydantic import ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.offers import (
    AccessSource,
    MonthlyPrice,
    OfferMetadata,
    OfferStatus,
    ShownMetadata,
    ShownTierPrices,
    TierPrices,
    Visibility,
)
from models.program import Frozen, ProgramSettings, Tier
from models.schema import Agreement, Offer, OfferAccess, Provider, Reseller
from models.wire import kept
from services.errors import ConflictError, InputError, NotFoundError
from services.offer_fields import (
    AUDIENCE_RULES,
    AllowedResellers,
    Category,
    Description,
    InternalName,
    MinTier,
    OfferId,
    OfferName,
    StatusField,
)
from services.resellers import own_reseller
from store.offer_access import lock_offer, metadata_of, sync_offer_grants, visible_offer_ids


class OfferChange(Frozen):
    """What a provider changes on an offer; a field left out keeps its value.

    A `minTier` of null lets every preferred partner see the offer again, and a null
    `category`, `internalName`, `description` or `tierPrices` clears it; the other fields
    cannot be null. `metadata` is merged key by key: a key set to null is removed.
    """

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    name: OfferName | None = kept()
    monthly_price: MonthlyPrice | None = kept()
    visibility: Visibility | None = kept()
    min_tier: MinTier | None = None
    allowed_resellers: AllowedResellers | None = kept()
    category: Category | None = None
    status: StatusField | None = kept()
    internal_name: InternalName | None = None
    description: Description | None = None
    metadata: OfferMetadata | None = kept()
    tier_prices: TierPrices | None = Field(
        default=None, description="A price a month for silver or gold partners, in dollars."
    )

    @model_validator(mode="after")
    def _not_null(self) -> Self:
        nulls = [
            to_camel(name)
            for name in (
                "name",
                "monthly_price",
                "visibility",
                "allowed_resellers",
                "status",
                "metadata",
            )
            if name in self.model_fields_set and getattr(self, name) is None
        ]
        if nulls:
            raise ValueError(
                f"{', '.join(nulls)} cannot be null: leave a field out to keep its value"
            )
        if not self.model_fields_set:
            raise ValueError(
                "nothing to change: give at least one of name, monthlyPrice, visibility, "
                "minTier, allowedResellers, category, status, internalName, description, "
                "metadata, tierPrices"
            )
        return self


class NewOffer(Frozen):
    """An offer as a provider creates it."""

    model_config = ConfigDict(json_schema_extra=AUDIENCE_RULES)

    offer_id: OfferId | None = Field(
        default=None, description="Left out, one is made from the name and returned."
    )
    name: OfferName
    monthly_price: MonthlyPrice
    visibility: Visibility
    min_tier: MinTier | None = Field(
        default=None, description="Only for `preferred` offers: the lowest tier that sees it."
    )
    allowed_resellers: AllowedResellers = Field(default_factory=list)
    category: Category | None = None
    status: StatusField = OfferStatus.ACTIVE
    internal_name: InternalName | None = None
    description: Description | None = None
    metadata: OfferMetadata = Field(default_factory=OfferMetadata)
    tier_prices: TierPrices | None = Field(
        default=None, description="A price a month for silver or gold partners, in dollars."
    )

    def as_change(self) -> OfferChange:
        return OfferChange.model_validate(self.model_dump(include=set(OfferChange.model_fields)))


class OfferRecord(Frozen):
    """An offer as a provider reads it: its audience, and the exclusive that holds it, if any."""

    offer_id: str
    name: str
    monthly_price: MonthlyPrice
    visibility: Visibility
    min_tier: Tier | None
    allowed_resellers: list[str]
    category: str | None
    status: OfferStatus
    internal_name: str | None
    description: str | None
    metadata: ShownMetadata
    tier_prices: ShownTierPrices | None
    agreement_id: str | None = Field(
        description="The exclusive agreement in force that holds this offer, if any."
    )
    exclusive_to: str | None = Field(description="The partner that agreement is with.")
    created_at: datetime
    updated_at: datetime


class Audience(Frozen):
    """Who an offer is for: its visibility, minimum tier, and allowed resellers."""

    visibility: Visibility
    min_tier: Tier | None = None
    allowed_resellers: tuple[str, ...] = ()

    def check(self) -> None:
        """Refuse an audience that does not hold together, naming what to change."""
        if self.min_tier is not None:
            if self.visibility is not Visibility.PREFERRED:
                raise InputError(
                    f"a minimum tier applies only to preferred offers, and this offer would be "
                    f"{self.visibility.value}: leave minTier out or make the offer preferred"
                )
            if self.min_tier is Tier.BRONZE:
                raise InputError(
                    "minTier bronze would mean every reseller: use silver or gold, or make the "
                    "offer public"
                )
        if self.allowed_resellers and self.visibility is not Visibility.SELECTED:
            raise InputError(
                f"allowed resellers apply only to selected offers, and this offer would be "
                f"{self.visibility.value}: leave allowedResellers out or make the offer selected"
            )


def _allowed(session: Session, offer_ids: Sequence[str]) -> dict[str, list[str]]:
    rows = session.execute(
        select(OfferAccess.offer_id, OfferAccess.reseller_team_id)
        .where(
            OfferAccess.offer_id.in_(offer_ids),
            OfferAccess.source == AccessSource.SELECTED.value,
        )
        .order_by(OfferAccess.reseller_team_id)
    )
    allowed: dict[str, list[str]] = {offer_id: [] for offer_id in offer_ids}
    for offer_id, team_id in rows:
        allowed[offer_id].append(team_id)
    return allowed


def _exclusives(
    session: Session, provider_id: str, offer_ids: Sequence[str]
) -> dict[str, Agreement]:
    """The agreements in force over these offers, by offer."""
    agreements = session.scalars(
        select(Agreement).where(
            Agreement.provider_id == provider_id,
            Agreement.offer_id.in_(offer_ids),
            Agreement.ended_at.is_(None),
        )
    )
    return {agreement.offer_id: agreement for agreement in agreements}


def _records(session: Session, provider_id: str, offers: Sequence[Offer]) -> list[OfferRecord]:
    """The provider's offers as records, reading the allowed resellers and exclusives of all
    at once."""
    ids = [offer.id for offer in offers]
    allowed = _allowed(session, ids)
    exclusives = _exclusives(session, provider_id, ids)
    records = []
    for offer in offers:
        exclusive = exclusives.get(offer.id)
        records.append(
            OfferRecord(
                offer_id=offer.id,
                name=offer.name,
                monthly_price=offer.monthly_price,
                visibility=Visibility(offer.visibility),
                min_tier=Tier(offer.min_tier) if offer.min_tier else None,
                allowed_resellers=allowed[offer.id],
                category=offer.category,
                status=OfferStatus(offer.status),
                internal_name=offer.internal_name,
                description=offer.description,
                metadata=metadata_of(offer),
                tier_prices=TierPrices.model_validate(offer.tier_prices)
                if offer.tier_prices
                else None,
                agreement_id=exclusive.agreement_id if exclusive else None,
                exclusive_to=exclusive.reseller_team_id if exclusive else None,
                created_at=offer.created_at,
                updated_at=offer.updated_at,
            )
        )
    return records


def _find(session: Session, provider_id: str, offer_id: str, *, lock: bool = False) -> Offer:
    """The provider's offer; another provider's offer is not found either."""
    if lock:
        offer = lock_offer(session, provider_id, offer_id)
    else:
        offer = session.scalar(
            select(Offer).where(Offer.id == offer_id, Offer.provider_id == provider_id)
        )
    if offer is None:
        raise NotFoundError(f"provider {provider_id} has no offer {offer_id!r}")
    return offer


def _audience_of(session: Session, offer: Offer) -> Audience:
    return Audience(
        visibility=Visibility(offer.visibility),
        min_tier=Tier(offer.min_tier) if offer.min_tier else None,
        allowed_resellers=tuple(_allowed(session, [offer.id])[offer.id]),
    )


def _resolve(current: Audience | None, change: OfferChange) -> Audience:
    """The audience after `change`. Switching visibility drops the minimum tier and the
    allowed resellers of the old one, unless the change gives them anew."""
    given = change.model_fields_set
    visibility = change.visibility or (current.visibility if current else None)
    if visibility is None:
        raise InputError("a new offer needs a visibility: public, preferred or selected")
    kept = current if current is not None and current.visibility is visibility else None
    min_tier = change.min_tier if "min_tier" in given else (kept.min_tier if kept else None)
    allowed = (
        tuple(sorted(set(change.allowed_resellers)))
        if change.allowed_resellers is not None
        else (kept.allowed_resellers if kept else ())
    )
    audience = Audience(visibility=visibility, min_tier=min_tier, allowed_resellers=allowed)
    audience.check()
    return audience


def _check_resellers(session: Session, team_ids: Sequence[str]) -> None:
    if not team_ids:
        return
    known = set(session.scalars(select(Reseller.team_id).where(Reseller.team_id.in_(team_ids))))
    unknown = sorted(set(team_ids) - known)
    if unknown:
        raise InputError(f"unknown resellers {', '.join(unknown)}: no reseller has these team IDs")


def _check_tier_in_program(session: Session, provider_id: str, audience: Audience) -> None:
    if audience.min_tier is not Tier.GOLD:
        return
    program = ProgramSettings.model_validate(session.get_one(Provider, provider_id).program)
    if Tier.GOLD not in program.partner_tiers:
        raise InputError(
            "this program has a single tier, so no partner can be gold: use minTier silver, "
            "or change the program to three tiers first"
        )


def _apply(session: Session, offer: Offer, audience: Audience) -> None:
    """Give the offer this audience and make the access rows follow at once."""
    offer.visibility = audience.visibility.value
    offer.min_tier = audience.min_tier.value if audience.min_tier else None
    session.execute(
        delete(OfferAccess).where(
            OfferAccess.offer_id == offer.id, OfferAccess.source == AccessSource.SELECTED.value
        )
    )
    session.add_all(
        OfferAccess(offer_id=offer.id, reseller_team_id=team_id, source=AccessSource.SELECTED.value)
        for team_id in audience.allowed_resellers
    )
    sync_offer_grants(session, offer)


def _early(audience: Audience, metadata: OfferMetadata) -> Audience:
    """The audience an early-access offer has until its launch: preferred partners."""
    if metadata.early_access and audience.visibility is Visibility.SELECTED:
        raise InputError(
            "early access applies only to public and preferred offers, and this offer would "
            "be selected: leave metadata.earlyAccess out or make the offer public or preferred"
        )
    if metadata.launch_pending and audience.visibility is Visibility.PUBLIC:
        return Audience(visibility=Visibility.PREFERRED)
    return audience


def _settle(
    session: Session,
    provider_id: str,
    current: Audience | None,
    change: OfferChange,
    metadata: OfferMetadata,
) -> Audience:
    """The checked audience `change` leads to, early access included."""
    audience = _early(_resolve(current, change), metadata)
    if "allowed_resellers" in change.model_fields_set:
        _check_resellers(session, audience.allowed_resellers)
    if "min_tier" in change.model_fields_set:
        _check_tier_in_program(session, provider_id, audience)
    return audience


SLUG_CHARS = 40


def _new_offer_id(session: Session, name: str) -> str:
    """A readable ID for an offer sent without one: its name as a slug, and a random suffix."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:SLUG_CHARS].strip("-") or "offer"
    while True:
        offer_id = f"{slug}-{secrets.token_hex(3)}"
        if session.get(Offer, offer_id) is None:
            return offer_id


def _details(offer: Offer, metadata: OfferMetadata) -> None:
    offer.details = metadata.stored() or None


def _tier_prices(offer: Offer, prices: TierPrices | None) -> None:
    offer.tier_prices = (prices.stored() or None) if prices is not None else None


def create_offer(session: Session, provider_id: str, new: NewOffer) -> OfferRecord:
    """A new offer, with its access granted at once; an offer ID in use is a conflict."""
    offer_id = new.offer_id or _new_offer_id(session, new.name)
    existing = session.get(Offer, offer_id)
    if existing is not None:
        if existing.provider_id == provider_id:
            raise ConflictError(
                f"offer {offer_id} already exists: change it with PATCH /provider/offers/{offer_id}"
            )
        raise ConflictError(f"offer ID {offer_id!r} is already taken: choose another")
    metadata = OfferMetadata().merged(new.metadata)
    audience = _settle(session, provider_id, None, new.as_change(), metadata)
    offer = Offer(
        id=offer_id,
        provider_id=provider_id,
        name=new.name,
        monthly_price=new.monthly_price,
        visibility=audience.visibility.value,
        category=new.category,
        status=new.status.value,
        internal_name=new.internal_name,
        description=new.description,
    )
    _details(offer, metadata)
    _tier_prices(offer, new.tier_prices)
    session.add(offer)
    try:
        session.flush()  # the primary key decides a race with a create of the same ID
    except IntegrityError as error:
        raise ConflictError(
            f"offer ID {offer_id!r} was taken at the same moment: choose another"
        ) from error
    _apply(session, offer, audience)
    session.flush()
    return _records(session, provider_id, [offer])[0]


def update_offer(
    session: Session, provider_id: str, offer_id: str, change: OfferChange
) -> OfferRecord:
    """Change an offer; its access follows the new audience at once.

    An offer held by an exclusive agreement keeps its audience: the agreement gives
    back the audience it found when it ends, so a change now would be silently undone.
    """
    offer = _find(session, provider_id, offer_id, lock=True)
    current = _audience_of(session, offer)
    metadata = metadata_of(offer)
    if change.metadata is not None:
        metadata = metadata.merged(change.metadata)
    audience = _settle(session, provider_id, current, change, metadata)
    if audience != current:
        exclusive = _exclusives(session, provider_id, [offer.id]).get(offer.id)
        if exclusive is not None:
            raise ConflictError(
                f"offer {offer.id} is exclusive to {exclusive.reseller_team_id} under agreement "
                f"{exclusive.agreement_id}, which decides who sees it: end or amend agreement "
                f"{exclusive.agreement_id} first"
            )
        _apply(session, offer, audience)
    if change.name is not None:
        offer.name = change.name
    if change.monthly_price is not None:
        offer.monthly_price = change.monthly_price
    if change.status is not None:
        offer.status = change.status.value
    given = change.model_fields_set
    for field in ("category", "internal_name", "description"):
        if field in given:
            setattr(offer, field, getattr(change, field))
    if "tier_prices" in given:
        _tier_prices(offer, change.tier_prices)
    _details(offer, metadata)
    session.flush()
    return _records(session, provider_id, [offer])[0]


def get_offer(session: Session, provider_id: str, offer_id: str) -> OfferRecord:
    return _records(session, provider_id, [_find(session, provider_id, offer_id)])[0]


def list_offers(
    session: Session,
    provider_id: str,
    *,
    visibility: Visibility | None = None,
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[OfferRecord], int]:
    """One page of the provider's offers by ID, and how many there are in all."""
    query = select(Offer).where(Offer.provider_id == provider_id)
    if visibility is not None:
        query = query.where(Offer.visibility == visibility.value)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    offers = session.scalars(
        query.order_by(Offer.id).offset((page - 1) * page_size).limit(page_size)
    ).all()
    return _records(session, provider_id, offers), total


def reseller_offers(session: Session, provider_id: str, reseller_team_id: str) -> list[OfferRecord]:
    """The provider's offers this reseller can see right now, as the workflows left its access.

    Only the provider's own resellers (see services.resellers); another's is not found."""
    own_reseller(session, provider_id, reseller_team_id)
    ids = visible_offer_ids(session, provider_id, reseller_team_id)
    offers = session.scalars(select(Offer).where(Offer.id.in_(ids)).order_by(Offer.id)).all()
    return _records(session, provider_id, offers)
