"""`/provider/partners` over HTTP, checked against the answers and the workflows' state."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from devstack.demo_data import GOOD, SLIPPING, STRONG
from models.partner import PartnerStatus
from models.schema import PartnerNote
from tests.api.conftest import ProviderApi

PREFERRED = "/provider/partners/preferred"


async def enroll(api: ProviderApi, team: str, **body: Any) -> dict[str, Any]:
    response = await api.post(PREFERRED, {"resellerTeamId": team, **body})
    assert response.status_code == 200, response.text
    partner: dict[str, Any] = response.json()
    return partner


async def test_enrollment_returns_the_partner_and_a_repeat_returns_the_same(acme, programs):
    team = await acme.program.add_reseller("team-good", GOOD)
    first = await enroll(acme, team, tier="preferred", notes="met at the summit")
    again = await enroll(acme, team, tier="preferred", notes="met at the summit")

    assert (first["status"], first["tier"]) == ("preferred", "silver")
    assert first["resellerTeamId"] == team and first["providerId"] == acme.provider_id
    assert first["metrics"]["totalOrders"] > 0
    assert again["transitions"] == first["transitions"]
    state = await programs.state(acme.provider_id, team)
    assert state.status is PartnerStatus.PREFERRED
    assert len(await acme.program.sent(team, "welcome")) == 1
    assert [n["text"] for n in first["notes"]] == ["met at the summit"]


async def test_a_future_effective_date_schedules_the_enrollment(env, acme):
    team = await acme.program.add_reseller("team-later", GOOD)
    when = (await acme.program.now() + timedelta(days=10)).date().isoformat()
    partner = await enroll(acme, team, effectiveDate=when)
    assert partner["status"] == "candidate"
    assert partner["scheduledEnrollmentDate"].startswith(when)


async def test_bad_enrollments_get_a_4xx_that_says_why(acme):
    team = await acme.program.add_reseller("team-x", GOOD)
    cases = [
        ({"resellerTeamId": "team-nobody"}, 422, "unknown reseller 'team-nobody'"),
        ({"resellerTeamId": team, "tier": "platinum"}, 422, "tier"),
        ({"resellerTeamId": team, "tier": "bronze"}, 422, "silver (preferred) or gold"),
        ({"resellerTeamId": team, "effectiveDate": "next tuesday"}, 422, "effectiveDate"),
        ({"resellerTeamId": team, "colour": "red"}, 422, "colour"),
        ({}, 422, "resellerTeamId"),
    ]
    for body, code, says in cases:
        response = await acme.post(PREFERRED, body)
        assert response.status_code == code, (body, response.text)
        assert says in response.json()["detail"], (body, response.text)
    malformed = await acme.http.post(
        PREFERRED, content=b"{not json", headers={"x-api-key": acme.key}
    )
    assert malformed.status_code == 422


async def test_keys_are_checked_and_providers_are_kept_apart(acme, globex):
    team = await acme.program.add_reseller("team-shared", STRONG)
    await enroll(acme, team)

    assert (await acme.http.get("/provider/partners")).status_code == 401
    wrong = await acme.http.get("/provider/partners", headers={"x-api-key": "pf_nope"})
    assert wrong.status_code == 401 and "unknown or revoked" in wrong.json()["detail"]

    assert (await globex.get(f"/provider/partners/{team}")).status_code == 404
    assert (await globex.get("/provider/partners")).json()["total"] == 0
    flagged = await globex.post(
        f"/provider/partners/{team}/at-risk", {"reason": "late installs twice over"}
    )
    assert flagged.status_code == 404
    removed = await globex.delete(
        f"{PREFERRED}/{team}", params={"reason": "did not recover in time"}
    )
    assert removed.status_code == 404
    assert (await acme.get(f"/provider/partners/{team}")).json()["status"] == "preferred"


async def test_list_filters_and_pages(acme):
    for index in range(5):
        await enroll(acme, await acme.program.add_reseller(f"team-{index}", GOOD))
    gold = await acme.program.add_reseller("team-gold", STRONG)
    await enroll(acme, gold, tier="strategic")

    everyone = (await acme.get("/provider/partners", params={"pageSize": 4})).json()
    assert everyone["total"] == 6 and len(everyone["items"]) == 4
    rest = (await acme.get("/provider/partners", params={"pageSize": 4, "page": 2})).json()
    assert len(rest["items"]) == 2
    golds = (await acme.get("/provider/partners", params={"tier": "gold"})).json()
    assert [p["resellerTeamId"] for p in golds["items"]] == [gold]
    bad = await acme.get("/provider/partners", params={"status": "sleeping"})
    assert bad.status_code == 422 and "status" in bad.json()["detail"]


async def test_detail_shows_metrics_and_what_the_next_tier_requires(acme):
    team = await acme.program.add_reseller("team-climb", GOOD)
    await enroll(acme, team)
    partner = (await acme.get(f"/provider/partners/{team}")).json()
    assert partner["nextTier"]["tier"] == "gold"
    orders = next(c for c in partner["nextTier"]["criteria"] if c["name"] == "orders_per_month")
    assert orders["required"] == 50 and orders["met"] is False
    assert partner["metrics"]["ordersPerMonth"] > 10


async def test_steering_a_partner_over_http(acme):
    team = await acme.program.add_reseller("team-slip", SLIPPING)
    await enroll(acme, team, override=True, notes="kept on while it fixes its installs")
    base = f"/provider/partners/{team}"

    noted = await acme.post(f"{base}/notes", {"kind": "call", "text": "discussed installs"})
    assert noted.status_code == 200 and noted.json()["notes"][-1]["kind"] == "call"
    short = await acme.post(
        f"{base}/at-risk", {"reason": "late installs this month", "graceDays": 10}
    )
    assert short.status_code == 422 and "between 30 and 60" in short.json()["detail"]
    flagged = await acme.post(
        f"{base}/at-risk", {"reason": "late installs this month", "graceDays": 30}
    )
    assert flagged.status_code == 200 and flagged.json()["status"] == "at_risk"
    again = await acme.post(f"{base}/at-risk", {"reason": "still late this month"})
    assert again.status_code == 409 and "already at risk" in again.json()["detail"]
    # A deadline out of the 30-60 day range is a value out of range, as graceDays is: 422.
    too_late = await acme.post(
        f"{base}/grace-deadline", {"reason": "more time", "deadline": "2999-01-01"}
    )
    assert too_late.status_code == 422, too_late.text
    assert "the deadline must fall between" in too_late.json()["detail"]

    unknown = await acme.post(
        f"{base}/block", {"reason": "fraud on every order", "offerIds": ["nope"]}
    )
    assert unknown.status_code == 422 and "no offers nope" in unknown.json()["detail"]
    blocked = await acme.post(
        f"{base}/block",
        {"reason": "fraud on every order", "offerIds": [acme.program.preferred_offer]},
    )
    assert blocked.json()["blockedOfferIds"] == [acme.program.preferred_offer]
    unblocked = await acme.post(f"{base}/unblock", {"reason": "cleared"})
    assert unblocked.json()["blockedOfferIds"] == []

    same = await acme.post(f"{base}/tier", {"tier": "silver", "reason": "no change"})
    assert same.status_code == 409
    # The partner is told why: a removal, block or flag says it in at least three words.
    for unexplained in ({}, {"reason": "bad"}, {"reason": " too  short "}):
        refused = await acme.delete(f"{PREFERRED}/{team}", params=unexplained)
        assert refused.status_code == 422, refused.text
        assert refused.json()["detail"].startswith("reason"), refused.text
    for path in ("block", "at-risk"):
        refused = await acme.post(f"{base}/{path}", {"reason": "fraud"})
        assert refused.status_code == 422 and "reason" in refused.json()["detail"], refused.text
    assert (await acme.get(base)).json()["status"] == "at_risk"
    assert acme.program.notifications(team, "removed") == []
    removed = await acme.delete(f"{PREFERRED}/{team}", params={"reason": "did not recover in time"})
    assert removed.status_code == 200 and removed.json()["status"] == "removed"
    assert acme.program.notifications(team, "removed")


async def test_a_note_is_internal_unless_shared_with_the_partner(acme):
    team = await acme.program.add_reseller("team-noted", GOOD)
    await enroll(acme, team)
    notes = f"/provider/partners/{team}/notes"

    internal = await acme.post(notes, {"kind": "call", "text": "margins are thin"})
    assert internal.status_code == 200, internal.text
    assert internal.json()["notes"][-1]["visibility"] == "internal"
    shared = await acme.post(notes, {"text": "great quarter, thank you", "visibility": "partner"})
    assert shared.status_code == 200, shared.text
    assert shared.json()["notes"][-1]["visibility"] == "partner"
    issue = await acme.post(f"/provider/partners/{team}/issues", {"reason": "missed installs"})
    assert issue.status_code == 200, issue.text
    read = (await acme.get(f"/provider/partners/{team}")).json()
    assert [(n["text"][:16], n["visibility"]) for n in read["notes"]] == [
        ("margins are thin", "internal"),
        ("great quarter, t", "partner"),
        ("minor issue repo", "internal"),
    ]

    with acme.program.db.transaction() as session:
        rows = session.scalars(
            select(PartnerNote)
            .where(PartnerNote.provider_id == acme.provider_id)
            .where(PartnerNote.reseller_team_id == team)
            .order_by(PartnerNote.id)
        )
        stored = [(row.kind, row.visibility) for row in rows]
    assert stored == [("call", "internal"), ("other", "partner"), ("issue", "internal")]

    bad = await acme.post(notes, {"text": "for everyone", "visibility": "public"})
    assert bad.status_code == 422 and "visibility" in bad.json()["detail"], bad.text
    assert len((await acme.get(f"/provider/partners/{team}")).json()["notes"]) == 3


async def test_reported_issues_climb_the_progressive_response(acme, globex):
    team = await acme.program.add_reseller("team-issues", GOOD)
    await enroll(acme, team)
    issues = f"/provider/partners/{team}/issues"

    first = await acme.post(issues, {"reason": "missed installs", "requestedBy": "ops"})
    assert first.status_code == 200, first.text
    [issue] = first.json()["issues"]
    assert (issue["reason"], issue["severity"], issue["response"]) == (
        "missed installs",
        "minor",
        "friendly_notice",
    )
    assert first.json()["notes"][-1]["kind"] == "issue"
    serious = await acme.post(issues, {"reason": "fake orders", "severity": "serious"})
    assert serious.status_code == 200, serious.text
    assert serious.json()["status"] == "at_risk"
    assert [i["response"] for i in serious.json()["issues"]] == ["friendly_notice", "at_risk"]
    assert len(await acme.program.sent(team, "friendly_notice")) == 1
    assert len(await acme.program.sent(team, "at_risk_warning")) == 1

    bad = await acme.post(issues, {"reason": "x", "severity": "grave"})
    assert bad.status_code == 422 and "severity" in bad.json()["detail"]
    empty = await acme.post(issues, {"reason": ""})
    assert empty.status_code == 422 and "reason" in empty.json()["detail"]
    assert (await globex.post(issues, {"reason": "not mine"})).status_code == 404
