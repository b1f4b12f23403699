"""Seeded, realistic program data: a provider, its offers, resellers and their orders.

The local stack loads it for the demo, and the tests build their scenarios from it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from models.offers import AccessSource, Visibility
from models.program import ProgramSettings, Tier
from models.schema import Offer, OfferAccess, Order, Provider, Reseller


@dataclass(frozen=True)
class OrderProfile:
    """How a reseller performs: the shape of the orders generated for it."""

    orders_per_month: float
    acceptance: float
    completion: float
    rating: float | None = 4.7
    cancellation: float = 0.02
    price: float = 60.0


STRONG = OrderProfile(
    orders_per_month=60, acceptance=0.97, completion=0.98, rating=4.9, price=180.0
)
GOOD = OrderProfile(orders_per_month=16, acceptance=0.95, completion=0.97, rating=4.7)
SLIPPING = OrderProfile(orders_per_month=14, acceptance=0.93, completion=0.84, rating=4.4)
WEAK = OrderProfile(orders_per_month=4, acceptance=0.75, completion=0.80, rating=4.0)


def add_provider(
    session: Session, provider_id: str, name: str, program: ProgramSettings | None = None
) -> Provider:
    provider = Provider(
        id=provider_id,
        name=name,
        program=(program or ProgramSettings()).model_dump(mode="json"),
        program_version=(program or ProgramSettings()).version,
    )
    session.add(provider)
    return provider


def add_reseller(
    session: Session,
    team_id: str,
    name: str | None = None,
    *,
    joined_at: datetime | None = None,
    email: str | None = None,
) -> Reseller:
    reseller = Reseller(
        team_id=team_id,
        name=name or team_id,
        joined_at=joined_at,
        email=email or f"partners@{team_id}.example",
    )
    session.add(reseller)
    return reseller


def add_offer(
    session: Session,
    provider_id: str,
    offer_id: str,
    *,
    visibility: Visibility = Visibility.PUBLIC,
    min_tier: Tier | None = None,
    price: float = 60.0,
    name: str | None = None,
    allowed_resellers: list[str] | None = None,
) -> Offer:
    offer = Offer(
        id=offer_id,
        provider_id=provider_id,
        name=name or offer_id,
        visibility=visibility.value,
        min_tier=min_tier.value if min_tier else None,
        monthly_price=Decimal(str(price)),
    )
    session.add(offer)
    session.flush()
    for team_id in allowed_resellers or []:
        session.add(
            OfferAccess(
                offer_id=offer_id, reseller_team_id=team_id, source=AccessSource.SELECTED.value
            )
        )
    return offer


def generate_orders(
    provider_id: str,
    reseller_team_id: str,
    offer_id: str,
    profile: OrderProfile,
    *,
    end: datetime,
    days: int = 90,
    seed: int | str = 0,
    id_prefix: str | None = None,
    zip_codes: Sequence[str] | None = None,
) -> list[Order]:
    """Orders created over the `days` before `end`, whose metrics come out near `profile`.

    Service addresses are spread over `zip_codes` where given (a region), else anywhere.

    Outcomes are dealt from exact counts rather than drawn independently, so a
    small reseller's rates match its profile instead of wandering with chance.
    """
    rng = random.Random(f"{seed}/{provider_id}/{reseller_team_id}")
    total = max(round(profile.orders_per_month * days / 30), 0)
    rejected = round(total * (1 - profile.acceptance))
    accepted = total - rejected
    fulfilled = round(accepted * profile.completion)
    cancelled_after = min(round(total * profile.cancellation), accepted - fulfilled)
    statuses = (
        ["rejected"] * rejected
        + [rng.choice(("completed", "active")) for _ in range(fulfilled)]
        + ["cancelled"] * cancelled_after
        + [
            rng.choice(("failed", "in_progress", "scheduled"))
            for _ in range(accepted - fulfilled - cancelled_after)
        ]
    )
    rng.shuffle(statuses)
    prefix = id_prefix or f"{provider_id}-{reseller_team_id}"
    orders = []
    for index, status in enumerate(statuses):
        created = end - timedelta(seconds=rng.uniform(60, days * 86400 - 60))
        was_accepted = status != "rejected"
        rating = None
        if profile.rating is not None and status in ("completed", "active"):
            rating = max(1, min(5, round(rng.gauss(profile.rating, 0.3))))
        orders.append(
            Order(
                id=f"{prefix}-{index:06d}",
                provider_id=provider_id,
                offer_id=offer_id,
                reseller_team_id=reseller_team_id,
                zip_code=rng.choice(zip_codes) if zip_codes else f"{rng.randint(10000, 99999)}",
                monthly_price=Decimal(f"{profile.price * rng.uniform(0.8, 1.2):.2f}"),
                status=status,
                created_at=created,
                accepted_at=created + timedelta(hours=rng.uniform(1, 48)) if was_accepted else None,
                rating=rating,
            )
        )
    return orders
