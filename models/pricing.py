"""The price a partner gets for an offer: the one rule the API, the reseller's portal and the
messages all show.

An offer may set its own price a month for a tier (`Offer.tier_prices`, e.g. `{"gold": 89}`);
otherwise a partner of the preferred list gets its tier's discount off the list price, as the
program states it once (`ProgramSettings.tier_discounts`: silver 5%, gold 10%, the program
documents' example). A tier never pays more than the tier below it would, nor more than the
list price: a gold partner of an offer priced only for silver gets that silver price (or its
own discount, where that is lower). A reseller off the list, bronze, pays the list price.

Prices are computed when read, from the partner's tier as the preferred list has it now, so
a promotion or a demotion changes the price a partner sees at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from models.partner import PartnerStatus
from models.program import Frozen, Tier, TierDiscounts

CENT = Decimal("0.01")
LISTED_TIERS = (Tier.SILVER, Tier.GOLD)
"""The tiers with a price of their own, lowest first."""


class PriceBasis(StrEnum):
    """Where a partner's price comes from."""

    LIST = "list"
    """The offer's list price."""
    OFFER = "offer"
    """The offer's own price for a tier."""
    DISCOUNT = "discount"
    """The program's discount for a tier, off the list price."""


class PartnerPrice(Frozen):
    """What a partner pays a month for an offer, and why."""

    list_price: Decimal
    price: Decimal
    basis: PriceBasis = PriceBasis.LIST
    tier: Tier | None = None
    """The tier whose price or discount it is; None for the list price."""
    percent: float = 0
    """The discount off the list price, where the basis is the program's discount."""

    @property
    def note(self) -> str | None:
        """The price's reason as a person reads it: "gold price", "10% silver discount"."""
        if self.tier is None or self.basis is PriceBasis.LIST:
            return None
        if self.basis is PriceBasis.OFFER:
            return f"{self.tier.value} price"
        return f"{self.percent:g}% {self.tier.value} discount"


def cents(amount: Decimal) -> Decimal:
    """An amount rounded to whole cents, half up as a till does."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _amount(value: Any) -> Decimal | None:
    """A tier's price as stored (a JSON number or a string of digits), or None where it is
    not a usable price: a price the API did not check is better skipped than shown."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0:
        return None
    return cents(amount)


def offer_tier_prices(tier_prices: Mapping[str, Any] | None) -> dict[Tier, Decimal]:
    """An offer's own prices by tier, from its stored JSON (`preferred` and `strategic`
    name silver and gold there too); anything else in it is ignored."""
    found: dict[Tier, Decimal] = {}
    for key, value in (tier_prices or {}).items():
        try:
            tier = Tier(key)
        except ValueError:
            continue
        amount = _amount(value)
        if tier in LISTED_TIERS and amount is not None:
            found[tier] = amount
    return found


def discounted(list_price: Decimal, percent: float) -> Decimal:
    """The list price less `percent`, to the cent."""
    return cents(list_price * (100 - Decimal(str(percent))) / 100)


def tier_discount(tier: Tier, discounts: TierDiscounts) -> float:
    """The percent off list prices `tier` gets where an offer sets no price of its own: its
    own discount, or a lower tier's where that is larger."""
    return max(
        (discounts.percent_for(step) for step in LISTED_TIERS if step.rank <= tier.rank), default=0
    )


def tier_price(
    list_price: Decimal,
    tier: Tier,
    *,
    tier_prices: Mapping[str, Any] | None = None,
    discounts: TierDiscounts | None = None,
) -> PartnerPrice:
    """The price a partner of `tier` gets: each tier up to its own takes the offer's price
    for it, or else the program's discount for it, where that is lower than the tier below's."""
    listed = cents(list_price)
    best = PartnerPrice(list_price=listed, price=listed)
    own = offer_tier_prices(tier_prices)
    for step in LISTED_TIERS:
        if step.rank > tier.rank:
            break
        if step in own:
            candidate = PartnerPrice(
                list_price=listed, price=own[step], basis=PriceBasis.OFFER, tier=step
            )
        else:
            percent = discounts.percent_for(step) if discounts else 0
            if not percent:
                continue
            candidate = PartnerPrice(
                list_price=listed,
                price=discounted(listed, percent),
                basis=PriceBasis.DISCOUNT,
                tier=step,
                percent=percent,
            )
        if candidate.price < best.price:
            best = candidate
    return best


def partner_price(
    list_price: Decimal,
    status: PartnerStatus | str | None,
    tier: Tier | str | None,
    *,
    tier_prices: Mapping[str, Any] | None = None,
    discounts: TierDiscounts | None = None,
) -> PartnerPrice:
    """The price a reseller gets, from its place on the preferred list: its tier's price while
    its status is on the list (preferred, at risk), the list price otherwise."""
    on_list = status is not None and PartnerStatus(status).on_preferred_list
    if not on_list or tier is None:
        return tier_price(list_price, Tier.BRONZE)
    return tier_price(list_price, Tier(tier), tier_prices=tier_prices, discounts=discounts)
