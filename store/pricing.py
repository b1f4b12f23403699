"""The prices one reseller gets for a provider's offers, read from the database as it is now:
its place on the preferred list, the program's tier discounts and each offer's own tier prices,
through models.pricing's one rule. Read, never stored, so that a promotion or a demotion
changes what the partner sees at once."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.pricing import PartnerPrice, partner_price
from models.program import ProgramSettings, TierDiscounts
from models.schema import Offer, PreferredListEntry, Provider


def program_discounts(session: Session, provider_id: str) -> TierDiscounts | None:
    """The tier discounts of the provider's program in force, if the provider exists."""
    provider = session.get(Provider, provider_id)
    if provider is None:
        return None
    return ProgramSettings.model_validate(provider.program).tier_discounts


def partner_prices(
    session: Session, provider_id: str, team_id: str, offer_ids: Collection[str]
) -> dict[str, PartnerPrice]:
    """The price `team_id` gets for each of the provider's offers in `offer_ids`, by offer ID:
    its tier's while it is on the preferred list, the list price otherwise."""
    if not offer_ids:
        return {}
    entry = session.get(PreferredListEntry, (provider_id, team_id))
    discounts = program_discounts(session, provider_id)
    offers = session.execute(
        select(Offer.id, Offer.monthly_price, Offer.tier_prices).where(
            Offer.provider_id == provider_id, Offer.id.in_(sorted(offer_ids))
        )
    ).all()
    return {
        offer_id: partner_price(
            monthly_price,
            entry.status if entry else None,
            entry.tier if entry else None,
            tier_prices=tier_prices,
            discounts=discounts,
        )
        for offer_id, monthly_price, tier_prices in offers
    }
