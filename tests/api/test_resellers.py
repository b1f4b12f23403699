"""Resellers over HTTP: a provider reads and changes only its own resellers' data (contact,
email, the offers they see, previews of their messages); for any other reseller, one that
exists and one that does not alike, every path answers the same 404 and changes nothing."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from devstack.demo_data import GOOD
from models.schema import PartnerContactRow
from tests.api.conftest import ProviderApi

TEAM = "team-elsewhere"
ACME_CONTACT = {"email": "ops@elsewhere.example", "webhookUrl": "https://elsewhere.example/h"}


def contact_url(team: str) -> str:
    return f"/provider/partners/{team}/contact"


async def every_reseller_path(api: ProviderApi, team: str) -> list[httpx.Response]:
    return [
        await api.get(contact_url(team)),
        await api.put(contact_url(team), {"email": "grab@globex.example"}),
        await api.get("/reseller/offers", params={"resellerTeamId": team}),
        await api.post("/provider/templates/welcome/preview", {"resellerTeamId": team}),
    ]


def answers(responses: list[httpx.Response]) -> list[tuple[int, Any]]:
    return [(response.status_code, response.json()) for response in responses]


def contacts(api: ProviderApi) -> list[tuple[str, str, str | None]]:
    with api.program.db.transaction() as session:
        rows = session.scalars(select(PartnerContactRow).order_by(PartnerContactRow.provider_id))
        return [(row.provider_id, row.reseller_team_id, row.email) for row in rows]


async def test_another_providers_reseller_answers_as_one_that_does_not_exist(acme, globex):
    nowhere = await every_reseller_path(globex, TEAM)
    not_found = {"detail": f"{TEAM} is not a partner or reseller of provider {globex.provider_id}"}
    assert answers(nowhere) == [(404, not_found)] * 4

    await acme.program.add_reseller(TEAM, GOOD)  # sells acme's offers: acme's reseller
    set_by_acme = await acme.put(contact_url(TEAM), ACME_CONTACT)
    assert set_by_acme.status_code == 200, set_by_acme.text
    elsewhere = await every_reseller_path(globex, TEAM)
    assert answers(elsewhere) == answers(nowhere)
    assert all(f"partners@{TEAM}.example" not in r.text for r in elsewhere)  # its email
    assert contacts(acme) == [(acme.provider_id, TEAM, ACME_CONTACT["email"])]

    own = await every_reseller_path(acme, TEAM)
    assert [r.status_code for r in own] == [200] * 4
    assert own[0].json()["resellerEmail"] == f"partners@{TEAM}.example"


async def test_a_reseller_becomes_the_providers_by_its_orders(acme, globex):
    await acme.program.add_reseller(TEAM, GOOD)
    assert (await globex.get(contact_url(TEAM))).status_code == 404
    order = {
        "itemId": "o-1",
        "offerId": globex.program.public_offer,
        "resellerTeamId": TEAM,
        "serviceAddress": {"zipCode": "98101"},
        "monthlyPrice": 60,
        "status": "pending",
        "createdAt": "2026-01-05T10:00:00Z",
    }
    sent = await globex.post("/provider/orders", {"orders": [order]})
    assert sent.status_code == 200, sent.text
    read = await globex.get(contact_url(TEAM))
    assert read.status_code == 200, read.text
    assert (read.json()["email"], read.json()["resellerEmail"]) == (
        None,
        f"partners@{TEAM}.example",
    )
