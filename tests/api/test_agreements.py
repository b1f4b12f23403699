"""`/provider/agreements` over HTTP, checked against the answers and the offers' visibility."""

from __future__ import annotations

from typing import Any

from devstack.demo_data import GOOD
from tests.api.conftest import ProviderApi

AGREEMENTS = "/provider/agreements"


async def partner(api: ProviderApi, team: str) -> str:
    await api.program.add_reseller(team, GOOD)
    response = await api.post("/provider/partners/preferred", {"resellerTeamId": team})
    assert response.status_code == 200, response.text
    return team


def terms(api: ProviderApi, team: str, **fields: Any) -> dict[str, Any]:
    return {
        "agreementId": "north",
        "resellerTeamId": team,
        "kind": "regional",
        "offerId": api.program.preferred_offer,
        "zipCodes": ["10001", "10002"],
        "minMonthlyOrders": 10,
        "standards": {"minCompletionRate": 0.9},
        "termMonths": 12,
        "reviewPeriod": "quarterly",
        **fields,
    }


async def test_an_agreement_is_granted_read_amended_renewed_and_terminated(acme):
    team = await partner(acme, "team-north")
    created = await acme.post(AGREEMENTS, terms(acme, team))
    assert created.status_code == 200, created.text
    agreement = created.json()
    assert agreement["status"] == "active" and agreement["termNumber"] == 1
    assert agreement["previousOffer"]["visibility"] == "preferred"
    assert agreement["terms"]["standards"]["minCompletionRate"] == 0.9
    assert acme.program.offer_visibility(acme.program.preferred_offer) == ("selected", [team])
    again = await acme.post(AGREEMENTS, terms(acme, team))
    assert again.json()["events"] == agreement["events"]

    listed = (await acme.get(AGREEMENTS, params={"status": "active"})).json()
    assert [a["agreementId"] for a in listed["items"]] == ["north"]
    read = (await acme.get(f"{AGREEMENTS}/north")).json()
    assert read["nextReviewAt"] > read["termStart"]

    amended = await acme.post(
        f"{AGREEMENTS}/north/amend", {"minMonthlyOrders": 25, "reason": "demand grew"}
    )
    assert amended.status_code == 200, amended.text
    assert amended.json()["pendingTerms"]["minMonthlyOrders"] == 25
    assert amended.json()["terms"]["minMonthlyOrders"] == 10
    nothing = await acme.post(f"{AGREEMENTS}/north/amend", {"reason": "just because"})
    assert nothing.status_code == 422 and "changes at least one" in nothing.json()["detail"]

    renewed = await acme.post(f"{AGREEMENTS}/north/renew", {"requestedBy": "ops"})
    assert renewed.json()["renewalConfirmedBy"] == "ops"
    ended = await acme.post(f"{AGREEMENTS}/north/terminate", {"reason": "region re-tendered"})
    assert ended.status_code == 200 and ended.json()["status"] == "terminated"
    assert acme.program.offer_visibility(acme.program.preferred_offer) == ("preferred", [])
    late = await acme.post(f"{AGREEMENTS}/north/terminate", {"reason": "again"})
    assert late.status_code == 409 and "has terminated" in late.json()["detail"]


async def test_bad_and_overlapping_terms_are_refused_with_reasons(acme):
    team = await partner(acme, "team-north")
    rival = await partner(acme, "team-rival")
    await acme.program.add_reseller("team-outsider", GOOD)
    assert (await acme.post(AGREEMENTS, terms(acme, team))).status_code == 200

    cases = [
        (terms(acme, rival, agreementId="b"), 409, "already exclusive to team-north"),
        (
            terms(acme, rival, agreementId="c", offerId=acme.program.public_offer),
            409,
            "ZIP codes 10001, 10002 are already exclusive",
        ),
        (terms(acme, "team-outsider", agreementId="d"), 409, "not on the preferred list"),
        (terms(acme, rival, agreementId="e", termMonths=2), 422, "longer than the term"),
        (terms(acme, rival, agreementId="f", minMonthlyOrders=-1), 422, "minMonthlyOrders"),
        (terms(acme, rival, agreementId="g", zipCodes=["1234"]), 422, "five digits"),
        (terms(acme, rival, agreementId="h/i"), 422, "agreementId"),
        (terms(acme, rival, agreementId="j", offerId="nope"), 409, "has no offer 'nope'"),
    ]
    for body, code, says in cases:
        response = await acme.post(AGREEMENTS, body)
        assert response.status_code == code, (body, response.text)
        assert says in response.json()["detail"], (body, response.text)
    listed = (await acme.get(AGREEMENTS)).json()
    assert [a["agreementId"] for a in listed["items"]] == ["north"]


async def test_one_provider_never_sees_or_steers_anothers_agreements(acme, globex):
    team = await partner(acme, "team-north")
    assert (await acme.post(AGREEMENTS, terms(acme, team))).status_code == 200

    assert (await globex.get(f"{AGREEMENTS}/north")).status_code == 404
    assert (await globex.get(AGREEMENTS)).json()["total"] == 0
    stolen = await globex.post(f"{AGREEMENTS}/north/terminate", {"reason": "mine now"})
    assert stolen.status_code == 404
    foreign = await globex.post(AGREEMENTS, terms(acme, team, agreementId="grab"))
    assert foreign.status_code == 409
    assert (await acme.http.get(AGREEMENTS)).status_code == 401
    assert (await acme.get(f"{AGREEMENTS}/north")).json()["status"] == "active"
