"""The reseller API over HTTP: a reseller team, with its own key, reads where it stands in
each program it sees, what it needs for the next tier, its offers, messages and scorecards;
and nothing of another team's, nor a provider's internal notes, whatever ID is in the URL."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from api.guard import MISSING_RESELLER_KEY, RESELLER_KEY_ON_PROVIDER_PATH, UNKNOWN_RESELLER_KEY
from clients.requests import poll_until
from devstack.demo_data import GOOD, SLIPPING, OrderProfile
from models.partner import EnrollmentRequest
from models.program import Tier
from models.review import ReviewCadence, ReviewPeriod
from models.schema import Offer, PartnerNote, ResellerKey
from services.reseller_keys import revoke_reseller_key
from tests.api.conftest import ApiClock, ProviderApi, ResellerApi, reseller_api

ME = "/reseller/me"
SOLID = OrderProfile(orders_per_month=30, acceptance=1.0, completion=1.0, rating=4.95)
"""Silver on any window, and never gold (too few orders)."""


def program_url(api: ProviderApi) -> str:
    return f"/reseller/programs/{api.provider_id}"


async def partner(api: ProviderApi, programs, team: str, profile: Any, tier: Tier) -> ResellerApi:
    await api.program.add_reseller(team, profile)
    await programs.enroll(api.provider_id, team, EnrollmentRequest(tier=tier))
    return reseller_api(api.program.db, api.http, team)


async def json_of(reseller: ResellerApi, url: str, **kwargs: Any) -> Any:
    response = await reseller.get(url, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_reseller_key_reaches_only_the_reseller_api(acme, programs):
    team = await partner(acme, programs, "team-keyed", GOOD, Tier.SILVER)
    http = acme.http

    bare = await http.get(ME)
    assert (bare.status_code, bare.json()["detail"]) == (401, MISSING_RESELLER_KEY)
    as_provider = await http.get(ME, headers={"x-api-key": acme.key})
    assert (as_provider.status_code, as_provider.json()["detail"]) == (401, MISSING_RESELLER_KEY)
    wrong_header = await http.get(ME, headers={"x-reseller-key": acme.key})
    assert (wrong_header.status_code, wrong_header.json()["detail"]) == (401, UNKNOWN_RESELLER_KEY)

    on_provider_path = await http.get("/provider/partners", headers={"x-reseller-key": team.key})
    assert on_provider_path.status_code == 401
    assert on_provider_path.json()["detail"] == RESELLER_KEY_ON_PROVIDER_PATH
    as_api_key = await http.get("/provider/partners", headers={"x-api-key": team.key})
    assert as_api_key.status_code == 401
    look = await http.get(
        "/reseller/offers", params={"resellerTeamId": team.team_id}, headers={"x-api-key": team.key}
    )
    assert look.status_code == 401  # the provider's look stays the provider's

    me = await json_of(team, ME)
    assert me["resellerTeamId"] == "team-keyed"
    assert acme.provider_id in {p["providerId"] for p in me["programs"]}

    with acme.program.db.transaction() as session:
        key_id = session.scalars(
            select(ResellerKey.id).where(ResellerKey.reseller_team_id == team.team_id)
        ).one()
        revoke_reseller_key(session, team.team_id, key_id)
    revoked = await team.get(ME)
    assert (revoked.status_code, revoked.json()["detail"]) == (401, UNKNOWN_RESELLER_KEY)


async def test_an_at_risk_partner_sees_its_deadline_and_what_to_bring_back(
    acme, programs, clock: ApiClock
):
    team = await partner(acme, programs, "team-slipping", SLIPPING, Tier.SILVER)
    flagged = await acme.post(
        f"/provider/partners/{team.team_id}/at-risk",
        {"reason": "completion fell below the line", "graceDays": 30},
    )
    assert flagged.status_code == 200, flagged.text
    clock.at = await acme.program.now()  # the workflow's clock set the deadline

    standing = await json_of(team, program_url(acme))
    assert (standing["status"], standing["tier"]) == ("at_risk", "silver")
    deadline = datetime.fromisoformat(flagged.json()["graceDeadline"])
    assert deadline - clock.at <= timedelta(days=30)
    assert standing["daysLeft"] == (deadline.date() - clock.at.date()).days
    assert standing["graceDeadline"] == flagged.json()["graceDeadline"]
    assert standing["atRiskReason"].startswith("completion fell below the line")
    to_fix = {gap["name"]: gap for gap in standing["toFix"]}
    below = {c["name"] for c in standing["currentTier"]["criteria"] if not c["met"]}
    assert set(to_fix) == below and "completion_rate" in below  # SLIPPING's 84%
    assert {"orders_per_month", "acceptance_rate"}.isdisjoint(below)
    completion = to_fix["completion_rate"]
    assert completion["needs"].startswith("completing ")
    assert completion["needs"].endswith("→ 95.0%)")
    assert 0 < completion["progress"] < 1
    assert standing["nextTier"]["tier"] == "gold"
    programs_list = await json_of(team, "/reseller/programs")
    listed = next(p for p in programs_list if p["providerId"] == acme.provider_id)
    assert (listed["status"], listed["daysLeft"]) == ("at_risk", standing["daysLeft"])


async def test_a_silver_partner_sees_the_gap_to_gold_and_its_offers(acme, programs):
    team = await partner(acme, programs, "team-good", SOLID, Tier.SILVER)
    standing = await json_of(team, program_url(acme))
    assert (standing["status"], standing["toFix"], standing["daysLeft"]) == ("preferred", [], None)
    assert standing["currentTier"]["met"] is True
    gold = {gap["name"]: gap for gap in standing["nextTier"]["criteria"]}
    orders = gold["orders_per_month"]
    assert not orders["met"]
    missing = 50 - orders["actual"]
    assert orders["needs"].startswith(f"{int(missing + 0.999999)} more orders a month")
    assert standing["offersVisible"] == 2

    offers = {o["offerId"]: o for o in await json_of(team, f"{program_url(acme)}/offers")}
    assert set(offers) == {acme.program.public_offer, acme.program.preferred_offer}
    assert offers[acme.program.public_offer]["reason"] == "public"
    preferred = offers[acme.program.preferred_offer]
    assert (preferred["reason"], preferred["price"]) == ("tier", preferred["monthlyPrice"])
    assert "silver" in preferred["why"]


async def test_a_reseller_off_the_list_sees_the_published_silver_criteria(acme):
    await acme.program.add_reseller("team-newcomer", GOOD)
    team = reseller_api(acme.program.db, acme.http, "team-newcomer")
    standing = await json_of(team, program_url(acme))
    assert (standing["status"], standing["tier"], standing["currentTier"]) == (None, "bronze", None)
    assert standing["nextTier"]["tier"] == "silver"
    assert {c["name"] for c in standing["nextTier"]["criteria"]} >= {
        "orders_per_month",
        "acceptance_rate",
        "average_rating",
    }
    offers = await json_of(team, f"{program_url(acme)}/offers")
    assert [o["offerId"] for o in offers] == [acme.program.public_offer]


async def test_internal_notes_never_reach_the_reseller(acme, programs):
    team = await partner(acme, programs, "team-noted", GOOD, Tier.SILVER)
    note = await acme.post(
        f"/provider/partners/{team.team_id}/notes", {"text": "pricing talks stalled, internal"}
    )
    assert note.status_code == 200, note.text
    with acme.program.db.transaction() as session:
        session.add(
            PartnerNote(
                idempotency_key="test/shared-note",
                provider_id=acme.provider_id,
                reseller_team_id=team.team_id,
                kind="other",
                text="Great quarter: keep the install times up",
                author="acme",
                created_at=await acme.program.now(),
                visibility="partner",
            )
        )

    async def notes() -> list[str]:
        standing = await json_of(team, program_url(acme))
        return [n["text"] for n in standing["sharedNotes"]]

    assert await notes() == ["Great quarter: keep the install times up"]
    for url in (ME, program_url(acme), "/reseller/messages", "/reseller/agreements"):
        assert "pricing talks stalled" not in (await team.get(url)).text


async def test_a_reseller_reads_its_own_messages_and_no_one_elses(acme, programs):
    mine = await partner(acme, programs, "team-mine", GOOD, Tier.SILVER)
    other = await partner(acme, programs, "team-other", GOOD, Tier.SILVER)
    await acme.program.sent(mine.team_id, "welcome")
    await acme.program.sent(other.team_id, "welcome")

    inbox = await json_of(mine, "/reseller/messages")
    assert inbox["total"] == 1
    (welcome,) = inbox["items"]
    assert (welcome["kind"], welcome["providerId"]) == ("welcome", acme.provider_id)
    body = await json_of(mine, f"/reseller/messages/{welcome['messageId']}")
    assert body["body"] and body["subject"] == welcome["subject"]

    theirs = (await json_of(other, "/reseller/messages"))["items"][0]["messageId"]
    stolen = await mine.get(f"/reseller/messages/{theirs}")
    assert (stolen.status_code, stolen.json()) == (404, {"detail": f"you have no message {theirs}"})
    by_provider = await json_of(mine, "/reseller/messages", params={"providerId": "nobody"})
    assert by_provider["total"] == 0


async def test_another_teams_figures_are_out_of_reach_whatever_the_url(acme, globex, programs):
    mine = await partner(acme, programs, "team-a", GOOD, Tier.SILVER)
    await partner(acme, programs, "team-b", SLIPPING, Tier.SILVER)
    for url in (
        program_url(acme),
        f"{program_url(acme)}/offers",
        f"{program_url(acme)}?resellerTeamId=team-b",
        f"{program_url(acme)}/offers?resellerTeamId=team-b",
    ):
        response = await mine.get(url)
        assert response.status_code == 200, response.text
        assert "team-b" not in response.text
    standing = await json_of(mine, program_url(acme))
    assert standing["metrics"]["acceptanceRate"] >= 0.9  # GOOD's, not SLIPPING's

    for missing in ("no-such-provider", "team-b"):
        response = await mine.get(f"/reseller/programs/{missing}")
        assert response.status_code == 404
        assert response.json() == {"detail": f"no program of a provider {missing} is open to you"}

    # A provider none of whose offers it sees, and whose list it is not on, is not found.
    with globex.program.db.transaction() as session:
        session.execute(
            update(Offer)
            .where(Offer.provider_id == globex.provider_id)
            .values(visibility="selected")
        )
    hidden = await mine.get(program_url(globex))
    assert hidden.status_code == 404
    assert globex.provider_id not in {
        p["providerId"] for p in await json_of(mine, "/reseller/programs")
    }


async def quarter_end(api: ProviderApi):
    """Midnight UTC at the end of the test server's current quarter, at least ten minutes on."""
    now = await api.program.now()
    current = ReviewPeriod.starting(
        ReviewCadence.QUARTERLY, ReviewPeriod.last_ended(ReviewCadence.QUARTERLY, now).end
    )
    if current.end - now < timedelta(minutes=10):
        await api.program.sleep(current.end - now + timedelta(minutes=15))
        return await quarter_end(api)
    return current


async def test_quarterly_scorecards_are_the_resellers_own(acme, programs, clock: ApiClock):
    quarter = await quarter_end(acme)
    for team in ("team-card", "team-nocard"):
        await acme.program.add_reseller(team, GOOD, days=150, end=quarter.end)
        await programs.enroll(acme.provider_id, team, EnrollmentRequest(tier=Tier.SILVER))
    mine = reseller_api(acme.program.db, acme.http, "team-card")
    await acme.program.sleep(quarter.end + timedelta(hours=2) - await acme.program.now())
    clock.at = await acme.program.now()

    started = await acme.post("/provider/reviews", {"cadence": "quarterly"})
    assert started.status_code == 202, started.text
    assert started.json()["period"] == quarter.label

    async def cards() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = await json_of(mine, "/reseller/scorecards")
        return found

    (card,) = await poll_until(cards, bool, timeout=60)
    assert (card["period"], card["providerId"]) == (quarter.label, acme.provider_id)
    assert card["tierAfter"] == "silver" and card["tierCriteria"]["tier"] == "silver"
    assert card["metrics"]["totalOrders"] > 0
    one = await json_of(mine, f"{program_url(acme)}/scorecards/{quarter.label}")
    assert one == card
    elsewhere = await mine.get(f"/reseller/programs/{acme.provider_id}/scorecards/2020-Q1")
    assert elsewhere.status_code == 404


@pytest.mark.parametrize("path", ["/reseller/me", "/reseller/messages", "/reseller/scorecards"])
async def test_the_reseller_api_needs_a_reseller_key(http, path):
    response = await http.get(path)
    assert (response.status_code, response.json()["detail"]) == (401, MISSING_RESELLER_KEY)
