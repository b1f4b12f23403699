"""Enrolling below the criteria is a deliberate act: over HTTP, on the real worker, the
time-skipping server and the database."""

from __future__ import annotations

from devstack.demo_data import GOOD, WEAK

PREFERRED = "/provider/partners/preferred"
WHY = "strategic account in a new region, agreed with sales"


async def test_an_enrollment_below_the_criteria_is_a_409_that_lists_what_is_missed(acme):
    team = await acme.program.add_reseller("team-weak", WEAK)

    refused = await acme.post(PREFERRED, {"resellerTeamId": team})

    assert refused.status_code == 409, refused.text
    detail = refused.json()["detail"]
    assert detail.startswith(f"{team} misses the silver criteria: ")
    for missed in ("orders/month ", " < 10", "acceptance ", " < 90.0%", "rating ", " < 4.5"):
        assert missed in detail, detail
    assert '"override": true' in detail and '"notes"' in detail
    assert (await acme.get(f"/provider/partners/{team}")).status_code == 404
    assert acme.program.notifications(team, "welcome") == []


async def test_an_override_must_say_why(acme):
    team = await acme.program.add_reseller("team-weak", WEAK)
    for notes in ({}, {"notes": "   "}):
        refused = await acme.post(PREFERRED, {"resellerTeamId": team, "override": True, **notes})
        assert refused.status_code == 422, refused.text
        assert "override needs the reason in notes" in refused.json()["detail"]


async def test_an_override_with_a_reason_enrolls_records_why_and_welcomes_without_misses(acme):
    team = await acme.program.add_reseller("team-weak", WEAK)
    body = {"resellerTeamId": team, "override": True, "notes": WHY, "requestId": "enroll-weak"}

    enrolled = await acme.post(PREFERRED, body)
    again = await acme.post(PREFERRED, body)
    plain_repeat = await acme.post(PREFERRED, {"resellerTeamId": team})

    assert enrolled.status_code == 200, enrolled.text
    partner = enrolled.json()
    assert (partner["status"], partner["tier"]) == ("preferred", "silver")
    (transition,) = partner["transitions"]
    assert transition["reason"] == f"enrolled as silver by api below the silver criteria: {WHY}"
    assert [n["text"] for n in partner["notes"]] == [WHY]
    for repeat in (again, plain_repeat):
        assert repeat.status_code == 200, repeat.text
        assert repeat.json()["transitions"] == partner["transitions"]
    (welcome,) = await acme.program.sent(team, "welcome")
    assert "MISSED" not in welcome.body
    assert "The silver standard your figures are to reach:" in welcome.body
    assert "  - acceptance: 90.0%" in welcome.body


async def test_a_reseller_that_meets_the_criteria_needs_no_override(acme):
    team = await acme.program.add_reseller("team-good", GOOD)
    enrolled = await acme.post(PREFERRED, {"resellerTeamId": team})
    assert enrolled.status_code == 200, enrolled.text
    (transition,) = enrolled.json()["transitions"]
    assert transition["reason"] == "enrolled as silver by api"
    (welcome,) = await acme.program.sent(team, "welcome")
    assert "met     acceptance " in welcome.body and "MISSED" not in welcome.body
