"""The marketplace's reseller registry over HTTP: the marketplace's sync (`PUT
/marketplace/resellers`, its own key, never a provider's; all or nothing; an upsert), a
provider's search (`GET /provider/resellers`, its own partner standing only), and partners
shown with their names."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.deps import Services
from clients.partners import PartnerPrograms
from devstack.demo_data import GOOD
from models.database import Database
from models.schema import Reseller
from runtime.settings import Settings
from tests.api.conftest import ProviderApi
from tests.api.test_request_limits import CHUNK, HUGE, CountedBody
from tests.helpers import listed_partner

MARKET_KEY = "mk_" + "s3cret" * 6
SYNC = "/marketplace/resellers"
NORTHWIND = {
    "resellerTeamId": "team-northwind",
    "name": "Northwind Telecom",
    "email": "sales@northwind.example",
    "contactName": "Ada Park",
    "phone": "+1 206 555 0100",
    "region": "Pacific Northwest",
    "joinedAt": "2025-03-01",
}
BLUEPEAK = {"resellerTeamId": "team-bluepeak", "name": "BluePeak Networks", "region": "Rockies"}


@pytest.fixture
async def market(
    env: WorkflowEnvironment, db: Database, programs: PartnerPrograms
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an API whose operator configured the marketplace's key."""
    settings = Settings.model_validate({"PARTNERFLOW_MARKETPLACE_KEY": MARKET_KEY})
    app = create_app(Services(db=db, client=env.client, task_queue=programs.task_queue), settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://partnerflow") as client:
        yield client


async def sync(market: httpx.AsyncClient, rows: Any, key: str = MARKET_KEY) -> httpx.Response:
    return await market.put(SYNC, json=rows, headers={"x-marketplace-key": key})


def resellers(db: Database) -> dict[str, dict[str, Any]]:
    with db.transaction() as session:
        return {
            r.team_id: {
                "name": r.name,
                "email": r.email,
                "contact_name": r.contact_name,
                "phone": r.phone,
                "region": r.region,
                "joined_at": r.joined_at.date().isoformat() if r.joined_at else None,
            }
            for r in session.scalars(select(Reseller))
        }


def count(db: Database) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(Reseller)) or 0


async def test_the_sync_adds_then_updates_only_the_fields_given(market, db):
    first = await sync(market, [NORTHWIND, BLUEPEAK])
    assert first.status_code == 200, first.text
    assert first.json() == {"added": 2, "updated": 0, "unchanged": 0}
    assert resellers(db)["team-northwind"] == {
        "name": "Northwind Telecom",
        "email": "sales@northwind.example",
        "contact_name": "Ada Park",
        "phone": "+1 206 555 0100",
        "region": "Pacific Northwest",
        "joined_at": "2025-03-01",
    }

    moved = {"resellerTeamId": "team-northwind", "region": "California", "phone": None}
    again = await sync(market, [moved, BLUEPEAK])
    assert again.json() == {"added": 0, "updated": 1, "unchanged": 1}
    northwind = resellers(db)["team-northwind"]
    assert (northwind["region"], northwind["phone"]) == ("California", None)
    assert (northwind["name"], northwind["contact_name"]) == ("Northwind Telecom", "Ada Park")


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ({"resellerTeamId": "team-c", "name": "C", "email": "not an email"}, "row 2: email: "),
        ({"resellerTeamId": "team-c", "name": "C", "colour": "red"}, "row 2: colour: "),
        ({"resellerTeamId": "team-c"}, "row 2: name: required for a new reseller (team-c)"),
        ({"resellerTeamId": "team-bluepeak", "name": "Again"}, "row 2: resellerTeamId: "),
        ({"resellerTeamId": "team-c", "name": "   "}, "row 2: name: must not be blank"),
        ({"resellerTeamId": "team-c", "name": None}, "row 2: name must not be null"),
    ],
)
async def test_one_bad_row_refuses_the_whole_list(market, db, bad, says):
    before = count(db)
    refused = await sync(market, [BLUEPEAK, bad, NORTHWIND])
    assert refused.status_code == 422, refused.text
    detail = refused.json()["detail"]
    assert detail.startswith("nothing was stored: ") and says in detail, detail
    assert count(db) == before  # not even the first row


async def test_the_sync_takes_the_marketplace_key_and_never_a_providers(market, db, acme):
    for headers in (
        {},
        {"x-api-key": acme.key},
        {"x-marketplace-key": acme.key},
        {"x-marketplace-key": MARKET_KEY[:-1]},
    ):
        refused = await market.put(SYNC, json=[NORTHWIND], headers=headers)
        assert refused.status_code == 401, (headers, refused.text)
        assert "x-marketplace-key" in refused.json()["detail"]
    # The provider's own API (its key) has no way to write resellers either.
    assert (await acme.put(SYNC, [NORTHWIND])).status_code == 503  # this app: unconfigured
    assert "team-northwind" not in resellers(db)


async def test_a_huge_body_without_the_marketplace_key_is_refused_unread(market):
    body = CountedBody(HUGE)
    refused = await market.put(
        SYNC, content=body, headers={"content-type": "application/json", "x-api-key": "x"}
    )
    assert refused.status_code == 401
    assert body.read <= 2 * CHUNK


async def test_without_a_marketplace_key_configured_the_sync_is_a_503(http, db):
    refused = await http.put(SYNC, json=[NORTHWIND], headers={"x-marketplace-key": "anything"})
    assert refused.status_code == 503
    assert "PARTNERFLOW_MARKETPLACE_KEY" in refused.json()["detail"]
    assert "team-northwind" not in resellers(db)


async def test_the_sync_refuses_a_body_that_is_not_a_list(market):
    for body, says in (
        (b'{"resellers": []}', "must be a JSON list"),
        (b"[", "not valid JSON"),
        (b"[1]", "row 1: must be an object"),
    ):
        refused = await market.put(
            SYNC,
            content=body,
            headers={"x-marketplace-key": MARKET_KEY, "content-type": "application/json"},
        )
        assert refused.status_code == 422 and says in refused.json()["detail"], refused.text


async def test_a_provider_finds_resellers_by_name_or_id_with_its_own_standing(
    market, db, acme: ProviderApi, globex: ProviderApi
):
    assert (await sync(market, [NORTHWIND, BLUEPEAK])).status_code == 200
    with db.transaction() as session:
        session.add(listed_partner(acme.provider_id, "team-northwind", status="at_risk"))

    by_name = await acme.get("/provider/resellers", params={"q": "NORTHWIND tel"})
    assert by_name.status_code == 200, by_name.text
    [found] = by_name.json()["items"]
    assert found == {
        "resellerTeamId": "team-northwind",
        "name": "Northwind Telecom",
        "contactName": "Ada Park",
        "email": "sales@northwind.example",
        "phone": "+1 206 555 0100",
        "region": "Pacific Northwest",
        "joinedAt": "2025-03-01T00:00:00Z",
        "partnerStatus": "at_risk",
        "partnerTier": "silver",
    }
    by_id = await acme.get("/provider/resellers", params={"q": "m-blue"})
    assert [r["resellerTeamId"] for r in by_id.json()["items"]] == ["team-bluepeak"]
    assert by_id.json()["items"][0]["partnerStatus"] is None

    # globex sees the same reseller, but never acme's standing with it.
    seen = await globex.get("/provider/resellers", params={"q": "northwind"})
    [other] = seen.json()["items"]
    assert (other["partnerStatus"], other["partnerTier"]) == (None, None)
    assert "at_risk" not in seen.text

    none = await acme.get("/provider/resellers", params={"q": "100%_"})
    assert none.json()["total"] == 0  # % and _ are plain text, not wildcards


async def test_the_search_pages_and_bounds_its_text(market, acme: ProviderApi):
    rows = [{"resellerTeamId": f"team-p{n:02d}", "name": f"Paged {n:02d}"} for n in range(7)]
    assert (await sync(market, rows)).status_code == 200
    page = await acme.get("/provider/resellers", params={"q": "paged", "page": 2, "pageSize": 3})
    body = page.json()
    assert (body["total"], body["page"], body["pageSize"]) == (7, 2, 3)
    assert [r["name"] for r in body["items"]] == ["Paged 03", "Paged 04", "Paged 05"]
    too_long = await acme.get("/provider/resellers", params={"q": "x" * 101})
    assert too_long.status_code == 422 and "q" in too_long.json()["detail"]


async def test_partners_are_listed_and_shown_with_their_names(market, acme: ProviderApi):
    team = await acme.program.add_reseller("team-named", GOOD)
    named = {"resellerTeamId": team, "name": "Named Networks"}
    assert (await sync(market, [named])).status_code == 200
    enrolled = await acme.post("/provider/partners/preferred", {"resellerTeamId": team})
    assert enrolled.status_code == 200, enrolled.text
    assert enrolled.json()["resellerName"] == "Named Networks"
    shown = await acme.get(f"/provider/partners/{team}")
    assert shown.json()["resellerName"] == "Named Networks"
    listed = await acme.get("/provider/partners")
    assert [(p["resellerTeamId"], p["resellerName"]) for p in listed.json()["items"]] == [
        (team, "Named Networks")
    ]
