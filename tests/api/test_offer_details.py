"""The program documents' offer shape over HTTP: category, status, internal name, description,
metadata and tier prices; an offer sent without an ID; what a reseller never sees."""

from __future__ import annotations

from typing import Any

from devstack.demo_data import GOOD
from models.schema import Offer
from services.portal_records import seen_offers
from tests.api.conftest import ProviderApi, reseller_api
from tests.helpers import listed_partner

OFFERS = "/provider/offers"
SECRET = "FIBER-Q3-MARGIN-TEST"
"""An internal name no reseller may read."""

EXAMPLES: list[dict[str, Any]] = [
    {
        "name": "Fiber Internet 1 Gig",
        "category": "internet",
        "status": "active",
        "visibility": "public",
        "monthlyPrice": 89.99,
        "internalName": "FIBER-1G-RESI-2026",
        "description": "Symmetrical 1 Gbps fiber for homes, no data caps, free installation.",
        "metadata": {
            "earlyAccess": False,
            "publicLaunchDate": "2026-01-15",
            "exclusiveUntil": "2026-06-30",
            "minimumMonthlyOrders": 0,
        },
    },
    {
        "name": "Business Fiber 2 Gig",
        "category": "business-internet",
        "status": "active",
        "visibility": "preferred",
        "minTier": "gold",
        "monthlyPrice": "249.00",
        "internalName": "BIZ-2G-STRATEGIC",
        "description": "2 Gbps business fiber with a static IP and a 4-hour repair SLA.",
        "metadata": {
            "earlyAccess": True,
            "publicLaunchDate": "2099-03-01T09:00:00Z",
            "exclusiveUntil": "2099-02-01T09:00:00Z",
            "minimumMonthlyOrders": 5,
            "region": "pacific-northwest",
        },
        "tierPrices": {"gold": 229.0},
    },
    {
        "name": "Home Security Starter",
        "category": "security",
        "status": "draft",
        "visibility": "public",
        "monthlyPrice": 29.99,
        "internalName": "SEC-STARTER-V2",
        "description": "Three sensors, one camera and 24/7 monitoring.",
        "metadata": {"minimumMonthlyOrders": 10, "campaign": "spring", "priority": 2},
        "tierPrices": {"silver": 28.49, "gold": 26.99},
    },
]


async def created(api: ProviderApi, body: dict[str, Any]) -> dict[str, Any]:
    response = await api.post(OFFERS, body)
    assert response.status_code == 201, response.text
    offer: dict[str, Any] = response.json()
    return offer


async def seen_through_api(api: ProviderApi, team: str) -> dict[str, Any]:
    response = await api.get("/reseller/offers", params={"resellerTeamId": team})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_each_example_offer_is_accepted_and_returned_as_given(acme):
    for index, example in enumerate(EXAMPLES):
        body = {**example, "offerId": f"{acme.provider_id}-example-{index}"}
        offer = await created(acme, body)
        for field in ("name", "category", "status", "internalName", "description"):
            assert offer[field] == example[field], field
        assert offer["monthlyPrice"] == float(example["monthlyPrice"])
        assert offer["metadata"] == example["metadata"]
        assert offer["tierPrices"] == example.get("tierPrices")
        assert (await acme.get(f"{OFFERS}/{body['offerId']}")).json() == offer
    # The early-access example waits for its launch as a preferred (gold) offer.
    early = (await acme.get(f"{OFFERS}/{acme.provider_id}-example-1")).json()
    assert (early["visibility"], early["minTier"]) == ("preferred", "gold")


async def test_an_offer_sent_without_an_id_gets_a_readable_one(acme):
    first = await created(acme, {**EXAMPLES[0]})
    second = await created(acme, {**EXAMPLES[0]})
    assert first["offerId"].startswith("fiber-internet-1-gig-")
    assert second["offerId"].startswith("fiber-internet-1-gig-")
    assert first["offerId"] != second["offerId"]
    assert (await acme.get(f"{OFFERS}/{first['offerId']}")).json() == first


async def test_a_patch_changes_each_new_field_and_merges_metadata(acme):
    offer = await created(acme, {**EXAMPLES[2], "offerId": "sec-starter"})
    response = await acme.patch(
        f"{OFFERS}/sec-starter",
        {
            "category": "smart-home",
            "status": "active",
            "internalName": "SEC-STARTER-V3",
            "description": None,
            "metadata": {
                "campaign": None,
                "minimumMonthlyOrders": 12,
                "exclusiveUntil": "2099-01-01",
            },
            "tierPrices": {"gold": 25},
        },
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["category"], changed["status"], changed["internalName"]) == (
        "smart-home",
        "active",
        "SEC-STARTER-V3",
    )
    assert changed["description"] is None
    assert changed["metadata"] == {
        "minimumMonthlyOrders": 12,
        "priority": 2,
        "exclusiveUntil": "2099-01-01",
    }
    assert changed["tierPrices"] == {"gold": 25.0}
    assert changed["name"] == offer["name"]


async def test_bad_metadata_and_tier_prices_are_refused_with_what_is_wrong(acme):
    base = {"name": "Fiber", "visibility": "public", "monthlyPrice": 50}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"metadata": {"earlyAccess": "soon"}}, "earlyAccess"),
        ({"metadata": {"minimumMonthlyOrders": -1}}, "minimumMonthlyOrders"),
        ({"metadata": {"publicLaunchDate": "next week"}}, "publicLaunchDate"),
        ({"metadata": {f"key{n}": n for n in range(51)}}, "at most 50 keys"),
        ({"metadata": {"notes": "x" * 201}}, "metadata"),
        ({"metadata": {"nested": {"a": 1}}}, "metadata"),
        ({"tierPrices": {"platinum": 10}}, "platinum"),
        ({"tierPrices": {"gold": -1}}, "gold"),
        ({"status": "archived"}, "status"),
        (
            {"visibility": "selected", "metadata": {"earlyAccess": True}},
            "early access applies only to public and preferred offers",
        ),
    ]
    for extra, says in cases:
        response = await acme.post(OFFERS, {**base, **extra})
        assert response.status_code == 422, (extra, response.text)
        assert says in response.json()["detail"], (extra, response.text)


async def test_an_offer_that_is_not_active_is_seen_by_nobody(acme):
    program = acme.program
    team = await program.add_reseller("team-partner", GOOD)
    with program.db.transaction() as session:
        session.add(listed_partner(acme.provider_id, team))
    await created(acme, {**EXAMPLES[0], "offerId": "paused-public", "status": "paused"})
    await created(
        acme,
        {**EXAMPLES[0], "offerId": "draft-preferred", "visibility": "preferred", "status": "draft"},
    )
    hidden = {"paused-public", "draft-preferred"}

    def portal_ids() -> set[str]:
        with program.db.transaction() as session:
            return {offer.offer_id for offer in seen_offers(session, acme.provider_id, team)}

    seen = {offer["offerId"] for offer in (await seen_through_api(acme, team))["offers"]}
    assert program.public_offer in seen and not seen & hidden
    assert not portal_ids() & hidden
    for status in ("retired", "draft", "paused"):
        response = await acme.patch(f"{OFFERS}/{program.public_offer}", {"status": status})
        assert response.status_code == 200, response.text
        assert program.public_offer not in program.visible_offers(team)
        assert program.public_offer not in program.visible_offers("nobody-listed")
    response = await acme.patch(f"{OFFERS}/draft-preferred", {"status": "active"})
    assert response.status_code == 200, response.text
    assert "draft-preferred" in portal_ids()


async def test_the_internal_name_is_never_in_what_a_reseller_reads(acme, http):
    program = acme.program
    team = await program.add_reseller("team-partner", GOOD)
    with program.db.transaction() as session:
        session.add(listed_partner(acme.provider_id, team))
    await created(acme, {**EXAMPLES[0], "offerId": "secret-public", "internalName": SECRET})
    await created(
        acme,
        {**EXAMPLES[1], "offerId": "secret-early", "internalName": SECRET, "minTier": "silver"},
    )
    with program.db.transaction() as session:
        assert session.get_one(Offer, "secret-public").internal_name == SECRET

    provider_view = await seen_through_api(acme, team)
    assert {"secret-public", "secret-early"} <= {o["offerId"] for o in provider_view["offers"]}
    reseller = reseller_api(program.db, http, team)
    portal = await reseller.get(f"/reseller/programs/{acme.provider_id}/offers")
    assert portal.status_code == 200, portal.text
    for text in (str(provider_view), portal.text):
        assert SECRET not in text and "internalName" not in text
    with program.db.transaction() as session:
        assert all(SECRET not in str(o) for o in seen_offers(session, acme.provider_id, team))


async def test_without_temporal_an_early_access_offer_is_a_503_and_nothing_is_saved(
    acme, temporal_gone
):
    headers = {"x-api-key": acme.key}
    early = {**EXAMPLES[1], "offerId": "early-no-timer"}
    response = await temporal_gone.post(OFFERS, json=early, headers=headers)
    assert response.status_code == 503, response.text
    assert "Temporal is unavailable" in response.json()["detail"]
    with acme.program.db.transaction() as session:
        assert session.get(Offer, "early-no-timer") is None
    plain = await temporal_gone.post(
        OFFERS, json={**EXAMPLES[0], "offerId": "plain-needs-no-timer"}, headers=headers
    )
    assert plain.status_code == 201, plain.text
