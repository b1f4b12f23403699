"""The price a partner gets: the offer's own tier price, else its tier's discount, else the list
price; a tier never pays more than the tier below, nor more than the list price."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from models.partner import PartnerStatus
from models.pricing import PriceBasis, discounted, offer_tier_prices, partner_price, tier_price
from models.program import ProgramSettings, Tier, TierDiscounts

DOCUMENTS = TierDiscounts(silver=5, gold=10)
"""The program documents' example: silver 5%, gold 10% off public prices."""
LIST = Decimal("59.99")


def price(tier: Tier, tier_prices: dict[str, Any] | None = None, **discounts: float) -> Decimal:
    given = TierDiscounts(**discounts) if discounts else DOCUMENTS
    return tier_price(LIST, tier, tier_prices=tier_prices, discounts=given).price


def test_the_documents_discounts_to_the_cent() -> None:
    assert price(Tier.BRONZE) == LIST
    assert price(Tier.SILVER) == Decimal("56.99")  # 56.9905
    assert price(Tier.GOLD) == Decimal("53.99")  # 53.991
    assert discounted(Decimal("10.05"), 5) == Decimal("9.55")  # 9.5475, half up
    assert discounted(Decimal("0.01"), 50) == Decimal("0.01")  # 0.005 rounds up
    assert discounted(Decimal("100"), 7.5) == Decimal("92.50")
    assert discounted(Decimal("100"), 0.1) == Decimal("99.90")  # no float noise


def test_no_discount_and_no_tier_price_is_the_list_price() -> None:
    for tier in Tier:
        found = tier_price(LIST, tier)
        assert (found.price, found.basis, found.tier, found.note) == (
            LIST,
            PriceBasis.LIST,
            None,
            None,
        )
    assert tier_price(LIST, Tier.GOLD, discounts=TierDiscounts()).price == LIST


def test_the_offers_own_tier_price_comes_before_the_discount() -> None:
    found = tier_price(LIST, Tier.GOLD, tier_prices={"gold": "49.00"}, discounts=DOCUMENTS)
    assert (found.price, found.basis, found.tier, found.note) == (
        Decimal("49.00"),
        PriceBasis.OFFER,
        Tier.GOLD,
        "gold price",
    )
    # Silver has no price of its own on this offer: its discount.
    silver = tier_price(LIST, Tier.SILVER, tier_prices={"gold": 49}, discounts=DOCUMENTS)
    assert (silver.price, silver.note) == (Decimal("56.99"), "5% silver discount")


def test_gold_falls_back_to_the_offers_silver_price() -> None:
    found = tier_price(LIST, Tier.GOLD, tier_prices={"silver": 45}, discounts=TierDiscounts())
    assert (found.price, found.tier, found.note) == (Decimal("45.00"), Tier.SILVER, "silver price")
    # ... unless gold's own discount is lower still.
    assert price(Tier.GOLD, {"silver": 58}) == Decimal("53.99")
    assert price(Tier.GOLD, {"silver": 50}) == Decimal("50.00")


def test_a_tier_never_pays_more_than_the_tier_below_nor_the_list_price() -> None:
    # A provider's slip (gold dearer than silver, silver dearer than the list) costs no one.
    assert price(Tier.GOLD, {"silver": 40, "gold": 45}) == Decimal("40.00")
    assert price(Tier.SILVER, {"silver": 70}, silver=0) == LIST
    assert price(Tier.GOLD, gold=3, silver=5) == Decimal("56.99")  # silver's 5% beats 3%
    for tier in Tier:
        assert price(tier, {"gold": 80, "silver": 90}) <= LIST


def test_the_stored_tier_prices_are_read_leniently() -> None:
    assert offer_tier_prices(
        {
            "preferred": "44.5",
            "strategic": 39.999,
            "bronze": 1,
            "platinum": 2,
            "gold ": None,
        }
    ) == {Tier.SILVER: Decimal("44.50"), Tier.GOLD: Decimal("40.00")}
    for junk in ("", "abc", "NaN", "Infinity", "-1", True, [1], {"a": 1}):
        assert offer_tier_prices({"gold": junk}) == {}, junk
    assert offer_tier_prices(None) == {}
    assert offer_tier_prices({"gold": 0}) == {Tier.GOLD: Decimal("0.00")}


@pytest.mark.parametrize(
    ("status", "tier", "expected"),
    [
        (PartnerStatus.PREFERRED, Tier.GOLD, Decimal("53.99")),
        (PartnerStatus.AT_RISK, Tier.SILVER, Decimal("56.99")),  # benefits kept in grace
        ("preferred", "silver", Decimal("56.99")),
        (PartnerStatus.PREFERRED, Tier.BRONZE, LIST),
        (PartnerStatus.REMOVED, Tier.GOLD, LIST),
        (PartnerStatus.BLOCKED, Tier.GOLD, LIST),
        (PartnerStatus.CANDIDATE, Tier.SILVER, LIST),
        (None, None, LIST),
        (PartnerStatus.PREFERRED, None, LIST),
    ],
)
def test_only_a_partner_on_the_list_gets_its_tiers_price(
    status: PartnerStatus | str | None, tier: Tier | str | None, expected: Decimal
) -> None:
    assert partner_price(LIST, status, tier, discounts=DOCUMENTS).price == expected


def test_the_setting_defaults_to_no_discount_and_old_settings_still_load() -> None:
    old = ProgramSettings().model_dump()
    del old["tier_discounts"]
    assert ProgramSettings.model_validate(old).tier_discounts == TierDiscounts()
    assert DOCUMENTS.percent_for(Tier.BRONZE) == 0
    assert (DOCUMENTS.percent_for(Tier.SILVER), DOCUMENTS.percent_for(Tier.GOLD)) == (5, 10)


@pytest.mark.parametrize("given", [{"silver": -1}, {"gold": 90.5}, {"bronze": 5}])
def test_a_discount_outside_0_to_90_percent_is_refused(given: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        ProgramSettings.model_validate({"tier_discounts": given})
