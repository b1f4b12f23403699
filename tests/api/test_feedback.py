"""Feedback loops over HTTP: a reseller sends the providers whose programs it sees feedback of
the program documents' kinds, with its own key; a provider reads only what was sent to it,
with the demand grouped by ZIP code. Bad feedback is refused whole, and nothing is kept."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select
from temporalio.testing import WorkflowEnvironment

from devstack.demo_data import add_reseller
from models.database import Database
from models.schema import ResellerFeedback
from services.reseller_keys import issue_reseller_key
from tests.api.conftest import provider_api

URL = "/reseller/feedback"


class ResellerApi:
    """One reseller team's view of the API, with its own key."""

    def __init__(self, http: httpx.AsyncClient, db: Database, team_id: str, name: str) -> None:
        with db.transaction() as session:
            add_reseller(session, team_id, name)
            session.flush()
            self.key = issue_reseller_key(session, team_id).key
        self.http = http
        self.team_id = team_id

    async def send(self, body: dict[str, Any]) -> httpx.Response:
        return await self.http.post(URL, json=body, headers={"x-reseller-key": self.key})

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.http.get(url, headers={"x-reseller-key": self.key}, **kwargs)


def feedback_rows(db: Database) -> int:
    with db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(ResellerFeedback)) or 0)


def zip_demand(
    provider: str, zip_codes: list[str], text: str = "Customers ask here"
) -> dict[str, Any]:
    return {"providerId": provider, "kind": "zip_demand", "text": text, "zipCodes": zip_codes}


async def test_a_reseller_sends_each_kind_and_reads_what_it_sent(acme, http, db):
    reseller = ResellerApi(http, db, "team-north", "North Networks")
    bodies = [
        {
            "providerId": acme.provider_id,
            "kind": "services_needed",
            "text": "Our customers ask for\nfiber with a static IP.",
            "serviceCategory": "fiber internet",
        },
        zip_demand(acme.provider_id, ["98102", "98101", "98102"]),
        {
            "providerId": acme.provider_id,
            "kind": "competitive_offering",
            "text": "Globex sells 1 Gbit for $55 with no contract.",
            "zipCodes": ["10001"],
        },
        {
            "providerId": acme.provider_id,
            "kind": "process_improvement",
            "text": "Orders take three days to show up in our figures.",
        },
    ]
    sent = [await reseller.send(body) for body in bodies]
    assert [r.status_code for r in sent] == [201] * 4, [r.text for r in sent]
    first = sent[0].json()
    assert {k: v for k, v in first.items() if k not in ("id", "createdAt")} == {
        "providerId": acme.provider_id,
        "providerName": f"Provider {acme.provider_id}",
        "resellerTeamId": "team-north",
        "resellerName": "North Networks",
        "kind": "services_needed",
        "serviceCategory": "fiber internet",
        "zipCodes": [],
        "text": "Our customers ask for\nfiber with a static IP.",
    }
    assert sent[1].json()["zipCodes"] == ["98101", "98102"]  # sorted, once each
    assert sent[2].json()["serviceCategory"] is None

    own = await reseller.get(URL)
    assert own.status_code == 200, own.text
    page = own.json()
    assert (page["total"], page["page"], page["pageSize"]) == (4, 1, 50)
    kinds = [item["kind"] for item in page["items"]]
    assert kinds == ["process_improvement", "competitive_offering", "zip_demand", "services_needed"]
    second = await reseller.get(URL, params={"page": 2, "pageSize": 3})
    assert [item["kind"] for item in second.json()["items"]] == ["services_needed"]

    read = await acme.get("/provider/feedback")
    assert read.status_code == 200, read.text
    assert [item["kind"] for item in read.json()["items"]] == kinds
    assert feedback_rows(db) == 4


async def test_bad_feedback_is_refused_whole_naming_the_field(acme, http, db):
    reseller = ResellerApi(http, db, "team-north", "North Networks")
    good = zip_demand(acme.provider_id, ["98101"])
    refused = {
        "zipCodes": {**good, "zipCodes": []},
        "serviceCategory": {**good, "kind": "services_needed"},
        "zipCodes.0": {**good, "zipCodes": ["9810"]},
        "zipCodes: ZIP codes must have five digits: 9810a": {**good, "zipCodes": ["9810a"]},
        "zipCodes: List should have at most 50": {
            **good,
            "zipCodes": [f"{98000 + n}" for n in range(51)],
        },
        "text: must not be blank": {**good, "text": " \n\t "},
        "text: must not contain control characters": {**good, "text": "ring \x07 the bell"},
        "text: String should have at most 4000": {**good, "text": "x" * 4001},
        "serviceCategory: must not contain control": {
            **good,
            "serviceCategory": "fiber\ninternet",
        },
        "kind": {**good, "kind": "complaint"},
        "providerId": {key: value for key, value in good.items() if key != "providerId"},
        "rating": {**good, "rating": 5},
    }
    for field, body in refused.items():
        answer = await reseller.send(body)
        assert answer.status_code == 422, (field, answer.text)
        assert field in answer.json()["detail"], (field, answer.json())
    assert feedback_rows(db) == 0
    needs_zip = await reseller.send({**good, "zipCodes": []})
    assert needs_zip.json()["detail"] == (
        "zip_demand feedback names the ZIP codes in demand: give at least one in zipCodes"
    )
    assert (await reseller.send(good)).status_code == 201
    assert feedback_rows(db) == 1


async def test_feedback_to_a_program_it_does_not_see_is_not_found(
    acme, env: WorkflowEnvironment, http, db
):
    hidden = provider_api(env, db, http)
    public = hidden.program.public_offer
    made_selected = await hidden.patch(f"/provider/offers/{public}", {"visibility": "selected"})
    assert made_selected.status_code == 200, made_selected.text
    reseller = ResellerApi(http, db, "team-north", "North Networks")
    for provider in (hidden.provider_id, "no-such-provider"):
        answer = await reseller.send(zip_demand(provider, ["98101"]))
        assert answer.status_code == 404, answer.text
        assert answer.json() == {"detail": f"no program of a provider {provider} is open to you"}
    assert feedback_rows(db) == 0
    assert (await reseller.send(zip_demand(acme.provider_id, ["98101"]))).status_code == 201


async def test_the_21st_feedback_to_a_provider_in_a_day_waits(acme, globex, http, db):
    reseller = ResellerApi(http, db, "team-north", "North Networks")
    for n in range(20):
        sent = await reseller.send(zip_demand(acme.provider_id, ["98101"], f"note {n}"))
        assert sent.status_code == 201, sent.text
    refused = await reseller.send(zip_demand(acme.provider_id, ["98101"], "one too many"))
    assert refused.status_code == 429, refused.text
    assert "20 feedback in the last 24 hours" in refused.json()["detail"]
    wait = int(refused.headers["Retry-After"])
    assert 86_000 < wait <= 86_400
    assert feedback_rows(db) == 20
    # The limit is per provider: another one still hears from the reseller.
    assert (await reseller.send(zip_demand(globex.provider_id, ["98101"]))).status_code == 201
    other = ResellerApi(http, db, "team-south", "South Links")
    assert (await other.send(zip_demand(acme.provider_id, ["98101"]))).status_code == 201


async def test_neither_key_reaches_the_other_s_feedback(acme, http, db):
    reseller = ResellerApi(http, db, "team-north", "North Networks")
    body = zip_demand(acme.provider_id, ["98101"])
    as_provider = [
        await http.post(URL, json=body, headers={"x-api-key": acme.key}),
        await http.get(URL, headers={"x-api-key": acme.key}),
    ]
    assert [r.status_code for r in as_provider] == [401, 401], [r.text for r in as_provider]
    as_reseller = await reseller.get("/provider/feedback")
    assert as_reseller.status_code == 401, as_reseller.text
    assert (await http.get("/provider/feedback")).status_code == 401
    assert (await http.post(URL, json=body)).status_code == 401
    assert feedback_rows(db) == 0


async def test_a_provider_reads_only_its_own_feedback_with_demand_by_zip(acme, globex, http, db):
    north = ResellerApi(http, db, "team-north", "North Networks")
    south = ResellerApi(http, db, "team-south", "South Links")
    for reseller, provider, zip_codes in [
        (north, acme, ["98101", "98102"]),
        (south, acme, ["98101"]),
        (north, acme, ["98101"]),
        (north, globex, ["98101", "10001"]),
    ]:
        sent = await reseller.send(zip_demand(provider.provider_id, zip_codes))
        assert sent.status_code == 201, sent.text
    improvement = {
        "providerId": acme.provider_id,
        "kind": "process_improvement",
        "text": "Faster payouts, please.",
        "zipCodes": ["98102"],
    }
    assert (await south.send(improvement)).status_code == 201

    acme_page = (await acme.get("/provider/feedback")).json()
    assert acme_page["total"] == 4
    assert {item["providerId"] for item in acme_page["items"]} == {acme.provider_id}
    assert [item["resellerName"] for item in acme_page["items"]] == [
        "South Links",
        "North Networks",
        "South Links",
        "North Networks",
    ]
    demand = [(d["zipCode"], d["mentions"], d["resellers"]) for d in acme_page["demandByZip"]]
    assert demand == [("98101", 3, 2), ("98102", 2, 2)]
    assert all(d["latestAt"] for d in acme_page["demandByZip"])

    zip_only = (
        await acme.get("/provider/feedback", params={"kind": "zip_demand", "zipCode": "98102"})
    ).json()
    assert [item["zipCodes"] for item in zip_only["items"]] == [["98101", "98102"]]
    assert [(d["zipCode"], d["mentions"], d["resellers"]) for d in zip_only["demandByZip"]] == [
        ("98101", 3, 2),
        ("98102", 1, 1),
    ]
    paged = (await acme.get("/provider/feedback", params={"page": 2, "pageSize": 3})).json()
    assert (paged["total"], len(paged["items"]), paged["pageSize"]) == (4, 1, 3)

    globex_page = (await globex.get("/provider/feedback")).json()
    assert globex_page["total"] == 1
    assert globex_page["items"][0]["text"] == "Customers ask here"
    assert [(d["zipCode"], d["mentions"]) for d in globex_page["demandByZip"]] == [
        ("10001", 1),
        ("98101", 1),
    ]
    bad_zip = await acme.get("/provider/feedback", params={"zipCode": "981"})
    assert bad_zip.status_code == 422 and "zipCode" in bad_zip.json()["detail"]
