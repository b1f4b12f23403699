"""`/provider/offers` and `/reseller/offers` over HTTP, against what the workflows granted."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from devstack.demo_data import GOOD, STRONG
from models.agreement import AgreementKind, AgreementRequest, AgreementTerms, TerminationRequest
from tests.api.conftest import ProviderApi

OFFERS = "/provider/offers"
PREFERRED = "/provider/partners/preferred"


async def create(api: ProviderApi, offer_id: str, **body: Any) -> dict[str, Any]:
    response = await api.post(
        OFFERS, {"offerId": offer_id, "name": offer_id, "monthlyPrice": 50, **body}
    )
    assert response.status_code == 201, response.text
    offer: dict[str, Any] = response.json()
    return offer


async def patch(api: ProviderApi, offer_id: str, **body: Any) -> dict[str, Any]:
    response = await api.patch(f"{OFFERS}/{offer_id}", body)
    assert response.status_code == 200, response.text
    offer: dict[str, Any] = response.json()
    return offer


async def sees(api: ProviderApi, team: str) -> list[str]:
    """The offers `team` can see now, as the API answers; checked against the database."""
    response = await api.get("/reseller/offers", params={"resellerTeamId": team})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["providerId"], answer["resellerTeamId"]) == (api.provider_id, team)
    ids = [offer["offerId"] for offer in answer["offers"]]
    assert ids == api.program.visible_offers(team)
    return ids


Refusal = tuple[dict[str, Any], int, str]
"""A request body, the status it gets, and words its `detail` must contain."""


async def assert_refused(
    send: Callable[[dict[str, Any]], Awaitable[httpx.Response]], cases: list[Refusal]
) -> None:
    for body, code, says in cases:
        response = await send(body)
        assert response.status_code == code, (body, response.text)
        assert says in response.json()["detail"], (body, response.text)


async def enroll(api: ProviderApi, team: str, tier: str = "silver") -> None:
    response = await api.post(PREFERRED, {"resellerTeamId": team, "tier": tier})
    assert response.status_code == 200, response.text


async def test_create_read_and_list_offers(acme):
    plain = await create(acme, "acme-tv", monthlyPrice="19.99", visibility="public")
    assert plain == {
        "offerId": "acme-tv",
        "name": "acme-tv",
        "monthlyPrice": 19.99,
        "visibility": "public",
        "minTier": None,
        "allowedResellers": [],
        "category": None,
        "status": "active",
        "internalName": None,
        "description": None,
        "metadata": {},
        "tierPrices": None,
        "agreementId": None,
        "exclusiveTo": None,
        "createdAt": plain["createdAt"],
        "updatedAt": plain["updatedAt"],
        "announcementId": None,
    }
    gold = await create(acme, "acme-gold", visibility="preferred", minTier="strategic")
    assert (gold["visibility"], gold["minTier"]) == ("preferred", "gold")
    team = await acme.program.add_reseller("team-pick", GOOD)
    picked = await create(acme, "acme-pick", visibility="selected", allowedResellers=[team, team])
    assert picked["allowedResellers"] == [team]

    assert (await acme.get(f"{OFFERS}/acme-pick")).json() == picked
    first = (await acme.get(OFFERS, params={"pageSize": 4})).json()
    rest = (await acme.get(OFFERS, params={"pageSize": 4, "page": 2})).json()
    assert first["total"] == rest["total"] == 6  # three seeded with the program, three here
    listed = [o["offerId"] for o in first["items"] + rest["items"]]
    assert listed == sorted(listed) and len(set(listed)) == 6
    preferred = (await acme.get(OFFERS, params={"visibility": "preferred"})).json()
    assert {o["offerId"] for o in preferred["items"]} == {
        "acme-gold",
        acme.program.preferred_offer,
        acme.program.gold_offer,
    }


async def test_reseller_offers_follow_enrollment_and_removal(acme):
    program = acme.program
    silver = await program.add_reseller("team-silver", GOOD)
    gold = await program.add_reseller("team-gold", STRONG)
    assert await sees(acme, silver) == [program.public_offer]

    await enroll(acme, silver)
    await enroll(acme, gold, tier="gold")
    assert await sees(acme, silver) == sorted([program.public_offer, program.preferred_offer])
    assert await sees(acme, gold) == sorted(
        [program.public_offer, program.preferred_offer, program.gold_offer]
    )

    removed = await acme.delete(
        f"{PREFERRED}/{silver}", params={"reason": "left the program early"}
    )
    assert removed.status_code == 200, removed.text
    assert await sees(acme, silver) == [program.public_offer]
    offers = (await acme.get("/reseller/offers", params={"resellerTeamId": gold})).json()
    business = next(o for o in offers["offers"] if o["offerId"] == program.gold_offer)
    assert business == {
        "offerId": program.gold_offer,
        "name": program.gold_offer,
        "monthlyPrice": 60.0,
        "visibility": "preferred",
        "price": 60.0,
        "priceNote": None,
    }


async def test_audience_changes_resync_access_at_once(acme):
    program = acme.program
    silver = await program.add_reseller("team-s", GOOD)
    gold = await program.add_reseller("team-g", STRONG)
    outsider = await program.add_reseller("team-o", GOOD)
    await enroll(acme, silver)
    await enroll(acme, gold, tier="gold")
    fiber = program.preferred_offer

    picked = await patch(acme, fiber, visibility="selected", allowedResellers=[outsider])
    assert (picked["visibility"], picked["allowedResellers"]) == ("selected", [outsider])
    assert fiber in await sees(acme, outsider)
    assert fiber not in await sees(acme, silver) and fiber not in await sees(acme, gold)

    back = await patch(acme, fiber, visibility="preferred")
    assert (back["visibility"], back["allowedResellers"], back["minTier"]) == (
        "preferred",
        [],
        None,
    )
    assert fiber in await sees(acme, silver) and fiber in await sees(acme, gold)
    assert fiber not in await sees(acme, outsider)

    assert (await patch(acme, fiber, minTier="gold"))["minTier"] == "gold"
    assert fiber not in await sees(acme, silver) and fiber in await sees(acme, gold)
    assert (await patch(acme, fiber, minTier=None))["minTier"] is None
    assert fiber in await sees(acme, silver)

    await patch(acme, fiber, visibility="public")
    assert fiber in await sees(acme, outsider)
    renamed = await patch(acme, fiber, name="Fiber 2 Gbps", monthlyPrice=79.5)
    assert (renamed["name"], renamed["monthlyPrice"], renamed["visibility"]) == (
        "Fiber 2 Gbps",
        79.5,
        "public",
    )


async def test_a_new_preferred_offer_reaches_the_listed_partners_at_once(acme):
    silver = await acme.program.add_reseller("team-early", GOOD)
    await enroll(acme, silver)
    await create(acme, "acme-new", visibility="preferred")
    await create(acme, "acme-new-gold", visibility="preferred", minTier="gold")
    visible = await sees(acme, silver)
    assert "acme-new" in visible and "acme-new-gold" not in visible


async def test_an_exclusive_keeps_its_offer_audience_until_it_ends(acme, agreements):
    program = acme.program
    team = await program.add_reseller("team-excl", GOOD)
    other = await program.add_reseller("team-other", GOOD)
    await enroll(acme, team)
    await enroll(acme, other)
    terms = AgreementTerms(
        reseller_team_id=team,
        kind=AgreementKind.SERVICE,
        offer_id=program.preferred_offer,
        min_monthly_orders=5,
    )
    await agreements.create(acme.provider_id, "excl-1", AgreementRequest(terms=terms))
    url = f"{OFFERS}/{program.preferred_offer}"

    held = (await acme.get(url)).json()
    assert (held["agreementId"], held["exclusiveTo"]) == ("excl-1", team)
    assert (held["visibility"], held["allowedResellers"]) == ("selected", [team])
    for change in (
        {"visibility": "public"},
        {"allowedResellers": [team, other]},
        {"visibility": "preferred", "minTier": "gold"},
    ):
        refused = await acme.patch(url, change)
        assert refused.status_code == 409, (change, refused.text)
        assert "end or amend agreement excl-1 first" in refused.json()["detail"]
    assert program.offer_visibility(program.preferred_offer) == ("selected", [team])
    assert program.preferred_offer not in await sees(acme, other)

    renamed = await patch(acme, program.preferred_offer, name="Fiber (exclusive)")
    assert renamed["name"] == "Fiber (exclusive)" and renamed["agreementId"] == "excl-1"
    unchanged = await patch(acme, program.preferred_offer, allowedResellers=[team])
    assert unchanged["allowedResellers"] == [team]

    await agreements.apply(acme.provider_id, "excl-1", TerminationRequest(reason="re-tender"))
    released = (await acme.get(url)).json()
    assert (released["agreementId"], released["visibility"]) == (None, "preferred")
    assert program.preferred_offer in await sees(acme, other)
    assert (await patch(acme, program.preferred_offer, visibility="public"))["visibility"] == (
        "public"
    )


async def test_bad_offers_get_a_4xx_that_says_why(acme):
    team = await acme.program.add_reseller("team-bad", GOOD)
    base = {"offerId": "acme-x", "name": "X", "monthlyPrice": 10, "visibility": "public"}
    cases: list[Refusal] = [
        ({**base, "offerId": acme.program.public_offer}, 409, "already exists"),
        ({**base, "visibility": "secret"}, 422, "visibility"),
        ({**base, "monthlyPrice": -1}, 422, "monthlyPrice"),
        ({**base, "monthlyPrice": 9.999}, 422, "monthlyPrice"),
        ({**base, "monthlyPrice": "free"}, 422, "monthlyPrice"),
        ({**base, "offerId": "a/b"}, 422, "offerId"),
        ({**base, "name": ""}, 422, "name"),
        ({**base, "name": "nul\u0000"}, 422, "name: must not contain control characters"),
        ({**base, "minTier": "gold"}, 422, "minimum tier applies only to preferred offers"),
        ({**base, "visibility": "preferred", "minTier": "bronze"}, 422, "use silver or gold"),
        ({**base, "visibility": "preferred", "minTier": "platinum"}, 422, "minTier"),
        ({**base, "allowedResellers": [team]}, 422, "apply only to selected offers"),
        (
            {**base, "visibility": "selected", "allowedResellers": [team, "team-ghost"]},
            422,
            "unknown resellers team-ghost",
        ),
        ({**base, "colour": "red"}, 422, "colour"),
        ({"offerId": "acme-x"}, 422, "name"),
    ]
    await assert_refused(lambda body: acme.post(OFFERS, body), cases)

    url = f"{OFFERS}/{acme.program.preferred_offer}"
    patches: list[Refusal] = [
        ({}, 422, "nothing to change"),
        ({"name": None}, 422, "name cannot be null"),
        ({"visibility": None}, 422, "visibility cannot be null"),
        ({"visibility": "public", "minTier": "silver"}, 422, "this offer would be public"),
        ({"allowedResellers": [team]}, 422, "apply only to selected offers"),
        ({"visibility": "selected", "allowedResellers": ["nobody"]}, 422, "unknown resellers"),
        ({"monthlyPrice": 1e15}, 422, "monthlyPrice"),
    ]
    await assert_refused(lambda body: acme.patch(url, body), patches)
    assert acme.program.offer_visibility(acme.program.preferred_offer) == ("preferred", [])
    assert (await acme.get(f"{OFFERS}/acme-x")).status_code == 404

    missing = await acme.get("/reseller/offers")
    assert missing.status_code == 422 and "resellerTeamId" in missing.json()["detail"]
    nul = await acme.get("/reseller/offers", params={"resellerTeamId": "team\x00"})
    assert nul.status_code == 422 and "control characters" in nul.json()["detail"]
    ghost = await acme.get("/reseller/offers", params={"resellerTeamId": "team-ghost"})
    assert ghost.status_code == 404 and "team-ghost is not a partner or" in ghost.text


async def test_providers_never_see_or_change_each_others_offers(acme, globex):
    theirs = acme.program.preferred_offer
    assert (await globex.get(f"{OFFERS}/{theirs}")).status_code == 404
    changed = await globex.patch(f"{OFFERS}/{theirs}", {"visibility": "public"})
    assert changed.status_code == 404 and "has no offer" in changed.json()["detail"]
    assert acme.program.offer_visibility(theirs) == ("preferred", [])

    listed = (await globex.get(OFFERS)).json()
    assert all(o["offerId"].startswith(globex.provider_id) for o in listed["items"])
    assert listed["total"] == 3

    taken = await globex.post(
        OFFERS, {"offerId": theirs, "name": "mine", "monthlyPrice": 1, "visibility": "public"}
    )
    assert taken.status_code == 409 and "already taken" in taken.json()["detail"]
    assert (await acme.get(f"{OFFERS}/{theirs}")).json()["name"] == theirs

    team = await acme.program.add_reseller("team-both", STRONG)
    await enroll(acme, team, tier="gold")
    theirs_seen = await globex.get("/reseller/offers", params={"resellerTeamId": team})
    assert theirs_seen.status_code == 404, "acme's partner, not globex's reseller"
    assert (await acme.http.get(OFFERS)).status_code == 401


async def test_offers_created_and_changed_at_the_same_moment(acme):
    body = {"offerId": "acme-race", "name": "Race", "monthlyPrice": 5, "visibility": "public"}
    created = await asyncio.gather(*(acme.post(OFFERS, body) for _ in range(4)))
    assert sorted(r.status_code for r in created) == [201, 409, 409, 409]
    assert all("acme-race" in r.json()["detail"] for r in created if r.status_code == 409)

    team = await acme.program.add_reseller("team-race", GOOD)
    url = f"{OFFERS}/acme-race"
    changes = [{"name": "Race 2"}, {"visibility": "selected", "allowedResellers": [team]}]
    changed = await asyncio.gather(*(acme.patch(url, change) for change in changes))
    assert [r.status_code for r in changed] == [200, 200], [r.text for r in changed]
    offer = (await acme.get(url)).json()
    assert (offer["name"], offer["visibility"], offer["allowedResellers"]) == (
        "Race 2",
        "selected",
        [team],
    )
    assert await sees(acme, team) == ["acme-race", acme.program.public_offer]
