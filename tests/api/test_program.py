"""`/provider/program` over HTTP: validated, versioned, and used by the workflows' next action."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.deps import Services
from devstack.demo_data import GOOD
from models.database import Database, make_engine
from models.partner import PartnerStatus
from models.program import ProgramSettings
from models.schema import ProgramVersion, Provider
from tests.api.conftest import ProviderApi

PROGRAM = "/provider/program"
VERSIONS = "/provider/program/versions"


def stored(api: ProviderApi) -> tuple[dict[str, Any], int, list[int]]:
    """The provider's program JSON, its version column, and the versions recorded."""
    with api.program.db.transaction() as session:
        provider = session.get_one(Provider, api.provider_id)
        recorded = [
            row.version
            for row in session.query(ProgramVersion)
            .filter_by(provider_id=api.provider_id)
            .order_by(ProgramVersion.version)
        ]
        return provider.program, provider.program_version, recorded


async def put(api: ProviderApi, body: dict[str, Any]) -> dict[str, Any]:
    response = await api.put(PROGRAM, body)
    assert response.status_code == 200, response.text
    program: dict[str, Any] = response.json()
    return program


async def test_the_default_program_reads_as_version_1(acme):
    program = (await acme.get(PROGRAM)).json()
    assert program["version"] == 1
    assert (program["gracePeriodDays"], program["metricsWindowDays"]) == (45, 90)
    assert program["silver"]["minOrdersPerMonth"] == 10
    assert program["gold"]["minRevenue"] == 25_000
    assert program["tiers"] == "three" and program["autoEnroll"] is False

    history = (await acme.get(VERSIONS)).json()
    assert history["total"] == 1
    [first] = history["items"]
    assert (first["version"], first["changedBy"]) == (1, "initial settings")
    assert first["settings"] == program


async def test_a_change_makes_a_new_version_and_the_same_settings_again_make_none(acme):
    before = (await acme.get(PROGRAM)).json()
    changed = await put(
        acme,
        {
            **before,
            "gracePeriodDays": 40,
            "silver": {**before["silver"], "minRating": 4.6},
            "changedBy": "ops@acme",
        },
    )
    assert (changed["version"], changed["gracePeriodDays"]) == (2, 40)
    assert changed["silver"]["minRating"] == 4.6
    assert (await acme.get(PROGRAM)).json() == changed

    program, version, recorded = stored(acme)
    assert (program["version"], program["grace_period_days"], version) == (2, 40, 2)
    assert recorded == [1, 2]

    again = await put(acme, {**changed, "changedBy": "someone else"})
    assert again == changed
    assert stored(acme)[1:] == (2, [1, 2])

    history = (await acme.get(VERSIONS)).json()
    assert [(v["version"], v["changedBy"]) for v in history["items"]] == [
        (2, "ops@acme"),
        (1, "initial settings"),
    ]
    assert history["items"][1]["settings"] == {**before, "version": 1}
    newest = datetime.fromisoformat(history["items"][0]["createdAt"])
    assert newest >= datetime.fromisoformat(history["items"][1]["createdAt"])


async def test_put_replaces_the_whole_program_and_patch_merges_into_it(acme):
    await put(acme, {"gracePeriodDays": 50, "autoEnroll": True})
    patched = await acme.patch(PROGRAM, {"silver": {"minRating": 4.2}, "candidateLapseDays": 14})
    assert patched.status_code == 200, patched.text
    program = patched.json()
    assert program["version"] == 3
    assert (program["gracePeriodDays"], program["autoEnroll"]) == (50, True)
    assert program["candidateLapseDays"] == 14
    defaults = ProgramSettings().silver
    assert program["silver"] == {
        "minOrdersPerMonth": defaults.min_orders_per_month,
        "minAcceptanceRate": defaults.min_acceptance_rate,
        "minCompletionRate": defaults.min_completion_rate,
        "minRating": 4.2,
        "minTenureMonths": defaults.min_tenure_months,
        "minRevenue": defaults.min_revenue,
    }

    reset = await put(acme, {"tiers": "single"})
    assert (reset["version"], reset["gracePeriodDays"], reset["autoEnroll"]) == (4, 45, False)
    assert reset["silver"]["minRating"] == defaults.min_rating

    unchanged = await acme.patch(PROGRAM, {"tiers": "single"})
    assert unchanged.json()["version"] == 4
    assert (await acme.get(VERSIONS)).json()["total"] == 4


async def test_bad_settings_get_a_422_that_says_why_and_write_nothing(acme):
    before = (await acme.get(PROGRAM)).json()
    rows = stored(acme)
    puts = [
        ({"gracePeriodDays": 29}, "gracePeriodDays: grace period must be between 30 and 60"),
        ({"gracePeriodDays": 61}, "got 61"),
        ({"gracePeriodDays": "soon"}, "gracePeriodDays"),
        (
            {"silver": {**before["silver"], "minOrdersPerMonth": 60}},
            "gold must require at least as many orders per month as silver",
        ),
        ({"silver": {**before["silver"], "minRating": 6}}, "silver.minRating"),
        ({"silver": {"minRating": 4}}, "silver.minOrdersPerMonth: Field required"),
        ({"tiers": "four"}, "tiers"),
        ({"metricsWindowDays": 1}, "metricsWindowDays"),
        ({"colour": "red"}, "colour"),
        ({"version": 0}, "version"),
        ({"changedBy": "ops\u0000"}, "changedBy: must not contain control characters"),
    ]
    patches = [
        ({"gracePeriodDays": 10}, "gracePeriodDays: grace period must be between 30 and 60"),
        ({"gold": {"minOrdersPerMonth": 5}}, "gold must require at least as many orders"),
        ({"gracePeriodDays": None}, "gracePeriodDays"),
        ({"silver": {"minAcceptanceRate": 1.5}}, "silver.minAcceptanceRate"),
        ({"silver": {"minRating": 4, "stars": 5}}, "silver.stars"),
        ({"autoEnroll": "maybe"}, "autoEnroll"),
    ]
    for body, says in puts:
        response = await acme.put(PROGRAM, body)
        assert response.status_code == 422, (body, response.text)
        assert says in response.json()["detail"], (body, response.text)
    for body, says in patches:
        response = await acme.patch(PROGRAM, body)
        assert response.status_code == 422, (body, response.text)
        assert says in response.json()["detail"], (body, response.text)
    infinite = await acme.http.patch(
        PROGRAM,
        content=b'{"silver": {"minRevenue": Infinity}}',
        headers={"x-api-key": acme.key, "content-type": "application/json"},
    )
    assert infinite.status_code == 422 and "silver.minRevenue" in infinite.json()["detail"]
    assert (await acme.get(PROGRAM)).json() == before
    assert stored(acme) == rows


async def test_a_change_based_on_an_old_version_is_refused(acme):
    read = (await acme.get(PROGRAM)).json()
    await put(acme, {**read, "gracePeriodDays": 31})
    stale = await acme.put(PROGRAM, {**read, "gracePeriodDays": 59})
    assert stale.status_code == 409
    assert "at version 2" in stale.json()["detail"]
    stale_patch = await acme.patch(PROGRAM, {"autoEnroll": True, "version": 1})
    assert stale_patch.status_code == 409
    current = await acme.patch(PROGRAM, {"autoEnroll": True, "version": 2})
    assert current.status_code == 200 and current.json()["version"] == 3


async def test_the_next_workflow_action_uses_the_new_program(acme, programs):
    team = await acme.program.add_reseller("team-slow", GOOD)
    enrolled = await acme.post("/provider/partners/preferred", {"resellerTeamId": team})
    assert enrolled.status_code == 200, enrolled.text

    await put(acme, {"gracePeriodDays": 31})
    flagged = await acme.post(
        f"/provider/partners/{team}/at-risk", {"reason": "late installs twice over"}
    )
    assert flagged.status_code == 200, flagged.text
    state = await programs.state(acme.provider_id, team)
    assert state.status is PartnerStatus.AT_RISK and state.grace_deadline is not None
    flagged_at = state.transitions[-1].at
    assert state.grace_deadline - flagged_at == timedelta(days=31)
    assert flagged.json()["graceDeadline"].startswith(state.grace_deadline.date().isoformat())


async def test_single_tier_programs_refuse_gold_only_offers(acme):
    await put(acme, {"tiers": "single"})
    refused = await acme.post(
        "/provider/offers",
        {
            "offerId": "acme-g",
            "name": "G",
            "monthlyPrice": 1,
            "visibility": "preferred",
            "minTier": "gold",
        },
    )
    assert refused.status_code == 422 and "single tier" in refused.json()["detail"]


async def test_providers_change_only_their_own_program(acme, globex):
    await put(globex, {"gracePeriodDays": 60, "changedBy": "globex ops"})
    assert (await acme.get(PROGRAM)).json()["gracePeriodDays"] == 45
    assert (await acme.get(VERSIONS)).json()["total"] == 1
    assert stored(acme)[1] == 1
    globex_history = (await globex.get(VERSIONS)).json()
    assert [v["changedBy"] for v in globex_history["items"]] == ["globex ops", "initial settings"]
    assert (await acme.http.put(PROGRAM, json={"gracePeriodDays": 31})).status_code == 401


async def test_versions_are_paged_newest_first(acme):
    for days in range(31, 36):
        await put(acme, {"gracePeriodDays": days})
    pages = [
        (await acme.get(VERSIONS, params={"page": page, "pageSize": 2})).json()
        for page in (1, 2, 3, 4)
    ]
    assert [p["total"] for p in pages] == [6] * 4
    versions = [[v["version"] for v in p["items"]] for p in pages]
    assert versions == [[6, 5], [4, 3], [2, 1], []]
    assert pages[2]["items"][1]["changedBy"] == "initial settings"
    bad = await acme.get(VERSIONS, params={"pageSize": 0})
    assert bad.status_code == 422 and "pageSize" in bad.json()["detail"]


async def test_changes_at_the_same_moment_each_make_a_version(acme):
    """The provider's row is locked for a change (on SQLite, by taking its one write lock), so
    all apply, one after the other, each onto the settings the one before it left."""
    changes: list[dict[str, Any]] = [
        {"autoEnroll": True},
        {"candidateLapseDays": 14},
        {"gracePeriodDays": 33},
    ]
    responses = await asyncio.gather(*(acme.patch(PROGRAM, body) for body in changes))
    assert [r.status_code for r in responses] == [200] * len(changes), [r.text for r in responses]
    assert sorted(r.json()["version"] for r in responses) == [2, 3, 4]
    program = (await acme.get(PROGRAM)).json()
    assert program["version"] == 1 + len(changes)
    for body in changes:
        assert all(program[name] == value for name, value in body.items()), (body, program)
    assert stored(acme)[2] == list(range(1, len(changes) + 2))


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
async def test_a_change_that_cannot_get_sqlites_write_lock_is_a_503_and_changes_nothing(
    acme, env, programs
):
    """Another process (here a raw connection) holds the one write lock longer than the
    request waits: the answer says so and asks to retry, instead of a bare 500."""
    url = acme.program.db.engine.url.render_as_string(hide_password=False)
    impatient = Database(make_engine(url, busy_timeout=0.2))
    app = create_app(Services(db=impatient, client=env.client, task_queue=programs.task_queue))
    holder = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://partnerflow") as http:
            response = await http.patch(
                PROGRAM, json={"gracePeriodDays": 33}, headers={"x-api-key": acme.key}
            )
        holder.execute("ROLLBACK")
    finally:
        holder.close()
        impatient.engine.dispose()
    assert response.status_code == 503, response.text
    assert "database is busy" in response.json()["detail"]
    assert response.headers["Retry-After"] == "5"
    program = (await acme.get(PROGRAM)).json()
    assert (program["version"], program["gracePeriodDays"]) == (1, 45)
