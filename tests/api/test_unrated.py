"""Missing data is not a pass: a reseller no customer has rated, over HTTP, on the real worker,
the time-skipping server and the database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from clients.requests import poll_until
from devstack.demo_data import OrderProfile
from models.review import ReviewCadence, ReviewPeriod
from tests.api.conftest import ProviderApi

REVIEWS = "/provider/reviews"
HISTORY_DAYS = 150
UNRATED = OrderProfile(orders_per_month=30, acceptance=1.0, completion=1.0, rating=None)
"""Silver on every figure it has, and never rated."""
RATED = OrderProfile(orders_per_month=30, acceptance=1.0, completion=1.0, rating=4.95)


async def reviewed(api: ProviderApi) -> dict[str, str]:
    """Each reseller's standing in a monthly review of the month just ended."""
    period = ReviewPeriod.last_ended(ReviewCadence.MONTHLY, datetime.now(UTC))
    response = await api.post(REVIEWS, {"cadence": "monthly", "period": period.label})
    assert response.status_code == 202, response.text
    location = response.json()["location"]

    async def fetch() -> dict[str, Any]:
        review: dict[str, Any] = (await api.get(location)).json()
        return review

    await poll_until(fetch, lambda r: r["status"] == "completed", timeout=30)
    partners = (await api.get(f"{location}/partners")).json()["items"]
    return {p["resellerTeamId"]: p["standing"] for p in partners}


async def status(api: ProviderApi, team: str) -> str | None:
    response = await api.get(f"/provider/partners/{team}")
    return response.json()["status"] if response.status_code == 200 else None


async def test_an_unrated_reseller_never_becomes_a_candidate_by_default(acme):
    unrated = await acme.program.add_reseller("team-unrated", UNRATED, days=HISTORY_DAYS)
    rated = await acme.program.add_reseller("team-rated", RATED, days=HISTORY_DAYS)

    standings = await reviewed(acme)

    assert standings[rated] == "new_candidate"
    assert standings[unrated] == "unchanged"
    assert await status(acme, rated) == "candidate"
    assert await status(acme, unrated) is None


async def test_a_program_can_judge_unrated_resellers_without_the_rating(acme):
    changed = await acme.patch("/provider/program", {"unrated": "without_rating"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["unrated"] == "without_rating"
    unrated = await acme.program.add_reseller("team-unrated", UNRATED, days=HISTORY_DAYS)

    standings = await reviewed(acme)

    assert standings[unrated] == "new_candidate"
    assert await status(acme, unrated) == "candidate"


async def test_the_program_refuses_an_unknown_rule_for_unrated_resellers(acme):
    refused = await acme.patch("/provider/program", {"unrated": "pass"})
    assert refused.status_code == 422
    assert "unrated" in refused.text
    assert (await acme.get("/provider/program")).json()["unrated"] == "not_met"


PREFERRED = "/provider/partners/preferred"
WHY = "strategic account in a new region, agreed with sales"


async def test_the_partner_view_and_the_welcome_say_no_ratings_yet(acme):
    team = await acme.program.add_reseller("team-unrated", UNRATED, days=HISTORY_DAYS)

    refused = await acme.post(PREFERRED, {"resellerTeamId": team})
    assert refused.status_code == 409, refused.text
    assert "rating: no ratings yet (needs 4.5)" in refused.json()["detail"]

    enrolled = await acme.post(PREFERRED, {"resellerTeamId": team, "override": True, "notes": WHY})
    assert enrolled.status_code == 200, enrolled.text
    partner = (await acme.get(f"/provider/partners/{team}")).json()
    assert partner["metrics"]["averageRating"] is None
    rating = next(c for c in partner["nextTier"]["criteria"] if c["name"] == "average_rating")
    assert (rating["actual"], rating["met"], rating["noData"]) == (None, False, True)
    assert rating["text"] == "rating: no ratings yet (needs 4.8)"
    (welcome,) = await acme.program.sent(team, "welcome")
    assert "no ratings yet" in welcome.body
    assert "MISSED" not in welcome.body and "n/a" not in welcome.body
