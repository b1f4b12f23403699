"""Tier pricing over HTTP: the program's tier discounts are a setting like any other, and each
partner sees, in `/reseller/offers`, its portal's offers and its messages, the price its tier
gets, which a promotion or a demotion changes at once."""

from __future__ import annotations

from typing import Any

from devstack.demo_data import GOOD, STRONG
from models.schema import Offer
from tests.api.conftest import ProviderApi, ResellerApi, reseller_api

PROGRAM = "/provider/program"
PREFERRED = "/provider/partners/preferred"
DOCUMENTS = {"silver": 5, "gold": 10}
"""The program documents' example: silver 5%, gold 10% off public prices."""
Prices = dict[str, tuple[float, str | None]]
"""Each offer a reseller sees: the price it gets a month, and the price's note."""


def set_tier_prices(api: ProviderApi, offer_id: str, prices: dict[str, Any] | None) -> None:
    """The offer's own prices per tier, written where the offer API keeps them."""
    with api.program.db.transaction() as session:
        session.get_one(Offer, offer_id).tier_prices = prices


async def enroll(api: ProviderApi, team: str, tier: str) -> ResellerApi:
    response = await api.post(PREFERRED, {"resellerTeamId": team, "tier": tier})
    assert response.status_code == 200, response.text
    return reseller_api(api.program.db, api.http, team)


async def change_tier(api: ProviderApi, team: str, tier: str) -> None:
    response = await api.post(
        f"/provider/partners/{team}/tier", {"tier": tier, "reason": f"moved to {tier} by hand"}
    )
    assert response.status_code == 200, response.text


async def provider_look(api: ProviderApi, team: str) -> Prices:
    """Each offer `team` sees, with its price and the price's note, as `/reseller/offers`
    (the provider's look) answers."""
    response = await api.get("/reseller/offers", params={"resellerTeamId": team})
    assert response.status_code == 200, response.text
    offers = response.json()["offers"]
    assert all(o["monthlyPrice"] == 60.0 for o in offers)  # the list price stays shown
    return {o["offerId"]: (o["price"], o["priceNote"]) for o in offers}


async def portal_look(
    api: ProviderApi, reseller: ResellerApi
) -> dict[str, tuple[float, str | None]]:
    """The same, as the reseller's own key reads it in the portal's API."""
    response = await reseller.get(f"/reseller/programs/{api.provider_id}/offers")
    assert response.status_code == 200, response.text
    return {o["offerId"]: (o["price"], o["priceNote"]) for o in response.json()}


async def prices(api: ProviderApi, reseller: ResellerApi) -> Prices:
    """What the reseller is shown, checked to be the same on both paths."""
    seen = await provider_look(api, reseller.team_id)
    assert await portal_look(api, reseller) == seen
    return seen


async def test_the_tier_discounts_are_a_program_setting(acme):
    program = (await acme.get(PROGRAM)).json()
    assert program["tierDiscounts"] == {"silver": 0, "gold": 0}

    changed = await acme.patch(PROGRAM, {"tierDiscounts": DOCUMENTS})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["version"], changed.json()["tierDiscounts"]) == (2, DOCUMENTS)
    one = await acme.patch(PROGRAM, {"tierDiscounts": {"gold": 12.5}})
    assert one.json()["tierDiscounts"] == {"silver": 5, "gold": 12.5}  # silver kept
    read = (await acme.get(PROGRAM)).json()
    assert read == one.json()
    [newest, *_] = (await acme.get(f"{PROGRAM}/versions")).json()["items"]
    assert newest["settings"]["tierDiscounts"] == {"silver": 5, "gold": 12.5}

    whole = {key: value for key, value in read.items() if key != "tierDiscounts"}
    put = await acme.put(PROGRAM, whole)
    assert put.status_code == 200, put.text
    assert put.json()["tierDiscounts"] == {"silver": 0, "gold": 0}  # left out: the default

    before = (await acme.get(PROGRAM)).json()
    refused = [
        ({"gold": 91}, "tierDiscounts.gold: Input should be less than or equal to 90"),
        ({"silver": -1}, "tierDiscounts.silver: Input should be greater than or equal to 0"),
        ({"bronze": 5}, "tierDiscounts.bronze"),
        ({"gold": None}, "tierDiscounts.gold"),
        ({"gold": "lots"}, "tierDiscounts.gold"),
    ]
    for discounts, says in refused:
        for send in (acme.patch, acme.put):
            response = await send(PROGRAM, {"tierDiscounts": discounts})
            assert response.status_code == 422, (discounts, response.text)
            assert says in response.json()["detail"], (discounts, response.text)
    infinite = await acme.http.patch(
        PROGRAM,
        content=b'{"tierDiscounts": {"gold": Infinity}}',
        headers={"x-api-key": acme.key, "content-type": "application/json"},
    )
    assert infinite.status_code == 422 and "tierDiscounts.gold" in infinite.json()["detail"]
    assert (await acme.get(PROGRAM)).json() == before


async def test_each_partner_sees_the_price_its_tier_gets(acme):
    program = acme.program
    public, fiber, business = program.public_offer, program.preferred_offer, program.gold_offer
    assert (await acme.patch(PROGRAM, {"tierDiscounts": DOCUMENTS})).status_code == 200
    set_tier_prices(acme, fiber, {"silver": "55.50"})
    set_tier_prices(acme, business, {"gold": 49})

    await program.add_reseller("team-bronze", GOOD)
    bronze = reseller_api(program.db, acme.http, "team-bronze")
    await program.add_reseller("team-silver", GOOD)
    silver = await enroll(acme, "team-silver", "silver")
    await program.add_reseller("team-gold", STRONG)
    gold = await enroll(acme, "team-gold", "gold")

    assert await prices(acme, bronze) == {public: (60.0, None)}  # off the list: list price
    assert await prices(acme, silver) == {
        public: (57.0, "5% silver discount"),
        fiber: (55.5, "silver price"),
    }
    assert await prices(acme, gold) == {
        public: (54.0, "10% gold discount"),
        fiber: (54.0, "10% gold discount"),  # below the offer's silver price
        business: (49.0, "gold price"),
    }

    # Without discounts, the offers' own prices alone: gold falls back to silver's.
    no_discounts = await acme.patch(PROGRAM, {"tierDiscounts": {"silver": 0, "gold": 0}})
    assert no_discounts.status_code == 200, no_discounts.text
    assert await prices(acme, gold) == {
        public: (60.0, None),
        fiber: (55.5, "silver price"),
        business: (49.0, "gold price"),
    }


async def test_a_promotion_or_a_demotion_changes_the_price_at_once(acme):
    program = acme.program
    public, business = program.public_offer, program.gold_offer
    assert (await acme.patch(PROGRAM, {"tierDiscounts": DOCUMENTS})).status_code == 200
    set_tier_prices(acme, business, {"gold": "45.00"})
    await program.add_reseller("team-rising", STRONG)
    partner = await enroll(acme, "team-rising", "silver")
    assert (await prices(acme, partner))[public] == (57.0, "5% silver discount")

    await change_tier(acme, partner.team_id, "gold")
    promoted = await prices(acme, partner)
    assert promoted[public] == (54.0, "10% gold discount")
    assert promoted[business] == (45.0, "gold price")

    await change_tier(acme, partner.team_id, "silver")
    demoted = await prices(acme, partner)
    assert demoted[public] == (57.0, "5% silver discount") and business not in demoted

    removed = await acme.delete(
        f"{PREFERRED}/{partner.team_id}", params={"reason": "left the program early"}
    )
    assert removed.status_code == 200, removed.text
    assert await prices(acme, partner) == {public: (60.0, None)}


async def test_the_messages_list_the_offers_at_the_partners_price(acme):
    program = acme.program
    fiber, business = program.preferred_offer, program.gold_offer
    assert (await acme.patch(PROGRAM, {"tierDiscounts": DOCUMENTS})).status_code == 200
    set_tier_prices(acme, fiber, {"silver": "55.50"})
    set_tier_prices(acme, business, {"gold": "49.00"})
    await program.add_reseller("team-told", STRONG)
    partner = await enroll(acme, "team-told", "silver")

    [welcome] = await program.sent(partner.team_id, "welcome")
    assert f"{fiber}: $55.50 a month (silver price, list $60.00)" in welcome.body, welcome.body
    assert "you get 5% off the list price" in welcome.body
    assert business not in welcome.body

    await change_tier(acme, partner.team_id, "gold")
    [promoted] = await program.sent(partner.team_id, "promoted")
    for line in (
        f"{fiber}: $54.00 a month (10% gold discount, list $60.00)",
        f"{business}: $49.00 a month (gold price, list $60.00)",
        "you get 10% off the list price",
    ):
        assert line in promoted.body, promoted.body

    await change_tier(acme, partner.team_id, "silver")
    [demoted] = await program.sent(partner.team_id, "demoted")
    assert f"{fiber}: $55.50 a month (silver price, list $60.00)" in demoted.body, demoted.body
    assert business not in demoted.body
