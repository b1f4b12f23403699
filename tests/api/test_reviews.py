"""`/provider/reviews` over HTTP, on the real worker, the time-skipping server and the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.deps import Services
from clients.requests import poll_until
from devstack.demo_data import WEAK, OrderProfile
from models.partner import EnrollmentRequest
from models.program import Tier
from models.review import ReviewCadence, ReviewPeriod
from models.schema import ProgramReview
from tests.api.conftest import ApiClock, ProviderApi
from tests.helpers import FALTERING

REVIEWS = "/provider/reviews"
HISTORY_DAYS = 150
SHORTEST_MONTH = 28
"""Orders reach back past the 90-day window that ends with the reviewed period."""
SOLID = OrderProfile(orders_per_month=30, acceptance=1.0, completion=1.0, rating=4.95)
"""Silver whichever orders fall in the window (GOOD's rates there can dip below silver's),
and never gold (too few orders)."""
"""Below silver whichever orders fall in a month: SLIPPING's 84% completion and 4.4 rating
reach silver's 95% and 4.5 in about one month in thirty of its 14 orders."""


def last_month(clock: ApiClock) -> ReviewPeriod:
    return ReviewPeriod.last_ended(ReviewCadence.MONTHLY, clock())


async def start(api: ProviderApi, **body: str) -> dict[str, Any]:
    response = await api.post(REVIEWS, body)
    assert response.status_code == 202, response.text
    started: dict[str, Any] = response.json()
    assert response.headers["location"] == started["location"]
    return started


async def completed(api: ProviderApi, location: str) -> dict[str, Any]:
    """The review at `location` once its workflow has written the report."""

    async def fetch() -> dict[str, Any]:
        response = await api.get(location)
        assert response.status_code == 200, response.text
        review: dict[str, Any] = response.json()
        return review

    return await poll_until(fetch, lambda r: r["status"] == "completed", timeout=30)


async def seed(api: ProviderApi, programs, clock: ApiClock) -> dict[str, str]:
    """A steady and a slipping partner, a reseller that now qualifies, and a weak one, with
    orders to the end of this month; then the clocks skip to the monthly review's hour on the
    1st, so that the partners' enrollment comes before the month reviewed ends."""
    end = await api.program.month_end()
    teams = {
        name: await api.program.add_reseller(f"team-{name}", profile, days=days, end=end)
        for name, profile, days in (
            ("steady", SOLID, HISTORY_DAYS),
            ("slipping", FALTERING, HISTORY_DAYS),
            ("rising", SOLID, HISTORY_DAYS),
            # A few orders a month, all in the month reviewed: spread over the history, the
            # month could hold none of them, and the review would not assess it.
            ("weak", WEAK, SHORTEST_MONTH),
        )
    }
    for team in (teams["steady"], teams["slipping"]):
        await programs.enroll(api.provider_id, team, EnrollmentRequest(tier=Tier.SILVER))
    clock.at = await api.program.skip_to_the_monthly_review(end)
    return teams


async def test_a_review_started_over_http_is_read_back_with_its_report(acme, programs, clock):
    await seed(acme, programs, clock)
    period = last_month(clock)

    started = await start(acme, cadence="monthly")
    assert started == {
        "reviewId": f"review/{acme.provider_id}/monthly/{period.label}",
        "cadence": "monthly",
        "period": period.label,
        "started": True,
        "location": f"{REVIEWS}/monthly/{period.label}",
        "audit": False,
        "auditReason": None,
    }
    review = await completed(acme, started["location"])
    assert (review["audit"], review["auditReason"]) == (False, None)
    last_day = period.end - timedelta(days=1)
    assert review["window"] == f"1 – {last_day.day} {last_day:%B %Y}"  # the month itself

    assert review["reviewId"] == started["reviewId"]
    assert review["periodStart"].startswith(period.start.date().isoformat())
    assert review["windowEnd"] == review["periodEnd"]
    assert review["programVersion"] == 1
    assert review["startedAt"] and review["completedAt"]  # the test server's clock and the real
    assert review["assessment"]["resellers"] == 4
    assert review["assessment"]["standings"] == {
        "below_standard": 1,
        "new_candidate": 1,
        "unchanged": 2,
    }
    assert (review["fanOut"]["signalled"], review["fanOut"]["nominated"]) == (1, 1)
    report = review["report"]
    assert report["enrollmentByTier"] == {"silver": 2, "gold": 0}
    assert (report["partnersAtRisk"], report["candidates"]) == (1, 1)
    assert {figures["tier"] for figures in report["byTier"]} >= {"silver", "bronze"}
    assert report["orderVolume"] == sum(figures["orders"] for figures in report["byTier"])

    again = await start(acme, cadence="monthly", period=period.label)
    assert again == {**started, "started": False}


async def test_a_past_periods_review_is_an_audit_that_changes_nobody(acme, programs, clock):
    teams = await seed(acme, programs, clock)
    older = last_month(clock).previous()

    started = await start(acme, cadence="monthly", period=older.label)
    assert started["started"] is True
    assert started["audit"] is True
    assert f"{older.label} is not the month that ended last" in started["auditReason"]
    review = await completed(acme, started["location"])
    assert review["audit"] is True and review["auditReason"] == started["auditReason"]
    assert (review["fanOut"]["signalled"], review["fanOut"]["nominated"]) == (0, 0)
    assert review["windowEnd"] == review["periodEnd"]  # the window is the period

    partners = (await acme.get(f"{started['location']}/partners")).json()
    assert all(p["signalledAt"] is None for p in partners["items"])
    for team in teams.values():
        assert acme.program.notifications(team, "at_risk_warning") == []
        assert acme.program.notifications(team, "candidate_notice") == []
    slipping = acme.program.listing(teams["slipping"])
    assert slipping is not None and slipping.status == "preferred"

    again = await start(acme, cadence="monthly", period=older.label)
    assert again == {**started, "started": False}


async def test_the_partners_of_a_review_are_paged_and_filtered_by_standing(acme, programs, clock):
    teams = await seed(acme, programs, clock)
    started = await start(acme, cadence="monthly")
    await completed(acme, started["location"])
    partners = f"{started['location']}/partners"

    everyone = (await acme.get(partners)).json()
    assert everyone["total"] == 4
    assert [p["resellerTeamId"] for p in everyone["items"]] == sorted(teams.values())

    below = (await acme.get(partners, params={"standing": "below_standard"})).json()
    assert below["total"] == 1
    (slipping,) = below["items"]
    assert slipping["resellerTeamId"] == teams["slipping"]
    assert (slipping["statusBefore"], slipping["statusAfter"]) == ("preferred", "at_risk")
    assert slipping["failedCriteria"] and slipping["signalledAt"]
    assert slipping["totalOrders"] > 0 and 0 <= slipping["completionRate"] <= 1

    second = (await acme.get(partners, params={"page": 2, "pageSize": 1})).json()
    assert (second["total"], second["page"], second["pageSize"]) == (4, 2, 1)
    assert [p["resellerTeamId"] for p in second["items"]] == [sorted(teams.values())[1]]

    unknown = await acme.get(partners, params={"standing": "sideways"})
    assert unknown.status_code == 422


async def test_reviews_are_listed_latest_period_first_and_filtered_by_cadence(
    acme, programs, clock
):
    await seed(acme, programs, clock)
    month = last_month(clock)
    quarter = ReviewPeriod.last_ended(ReviewCadence.QUARTERLY, clock())
    for body in (
        {"cadence": "monthly", "period": month.previous().label},
        {"cadence": "monthly"},
        {"cadence": "quarterly"},
    ):
        await completed(acme, (await start(acme, **body))["location"])

    listed = (await acme.get(REVIEWS)).json()
    assert listed["total"] == 3
    shown = [(r["cadence"], r["period"]) for r in listed["items"]]
    by_end = sorted(
        [("monthly", month), ("monthly", month.previous()), ("quarterly", quarter)],
        key=lambda entry: (entry[1].end, entry[0]),
        reverse=True,
    )
    assert shown == [(cadence, p.label) for cadence, p in by_end]
    assert all(r["completedAt"] for r in listed["items"])
    # The weak reseller sells in the last month alone: a period without it has three.
    assessed = {(r["cadence"], r["period"]): r["resellers"] for r in listed["items"]}
    assert assessed == {
        ("monthly", month.label): 4,
        ("monthly", month.previous().label): 3,
        ("quarterly", quarter.label): 4 if quarter.end == month.end else 3,
    }

    monthly = (await acme.get(REVIEWS, params={"cadence": "monthly", "pageSize": 1})).json()
    assert (monthly["total"], len(monthly["items"])) == (2, 1)
    assert monthly["items"][0]["period"] == month.label
    assert (await acme.get(REVIEWS, params={"cadence": "weekly"})).status_code == 422


async def test_a_period_that_cannot_be_reviewed_gets_a_422_that_says_why(acme):
    now = datetime.now(UTC)
    cases = [
        ({"cadence": "monthly", "period": f"{now:%Y-%m}"}, "can be reviewed from"),
        ({"cadence": "monthly", "period": "2026-13"}, "YYYY-MM from 2000 on, like 2026-11"),
        ({"cadence": "monthly", "period": "2026-Q3"}, "YYYY-MM"),
        ({"cadence": "quarterly", "period": "2026-11"}, "YYYY-Qn from 2000 on, like 2026-Q4"),
        ({"cadence": "quarterly", "period": f"{now.year + 1}-Q1"}, "can be reviewed from"),
        ({"cadence": "monthly", "period": "0001-01"}, "from 2000 on"),
        ({"cadence": "weekly"}, "cadence"),
        ({"cadence": "monthly", "batchSize": 10}, "batchSize"),
        ({}, "cadence"),
    ]
    for body, says in cases:
        response = await acme.post(REVIEWS, body)
        assert response.status_code == 422, (body, response.text)
        assert says in response.json()["detail"], (body, response.text)

    malformed = await acme.get(f"{REVIEWS}/monthly/november")
    assert malformed.status_code == 422 and "YYYY-MM" in malformed.json()["detail"]
    never = await acme.get(f"{REVIEWS}/quarterly/2021-Q1")
    assert never.status_code == 404 and "no quarterly review of 2021-Q1" in never.text
    never_partners = await acme.get(f"{REVIEWS}/quarterly/2021-Q1/partners")
    assert never_partners.status_code == 404


async def test_one_provider_never_sees_anothers_reviews(acme, globex, programs, clock):
    await seed(acme, programs, clock)
    started = await start(acme, cadence="monthly")
    await completed(acme, started["location"])

    assert (await globex.get(started["location"])).status_code == 404
    assert (await globex.get(f"{started['location']}/partners")).status_code == 404
    assert (await globex.get(REVIEWS)).json()["total"] == 0
    assert (await acme.http.get(REVIEWS)).status_code == 401

    # The same period for globex is globex's own review, of globex's resellers (none).
    own = await start(globex, cadence="monthly")
    assert own["reviewId"] == f"review/{globex.provider_id}/monthly/{last_month(clock).label}"
    assert own["started"] is True
    review = await completed(globex, own["location"])
    assert review["assessment"]["resellers"] == 0
    assert (await acme.get(REVIEWS)).json()["total"] == 1


async def test_a_review_is_opening_until_a_worker_records_it_and_stopped_when_it_failed(
    env, db, acme, clock
):
    """No worker polls `nobody`'s queue: the review's workflow runs, and has recorded nothing."""
    idle = Services(db=db, client=env.client, task_queue="nobody-polls-this")
    transport = httpx.ASGITransport(app=create_app(idle))
    async with httpx.AsyncClient(transport=transport, base_url="http://partnerflow") as http:
        unpolled = ProviderApi(acme.program, acme.key, http)
        started = await start(unpolled, cadence="monthly")
        opening = (await unpolled.get(started["location"])).json()
        assert opening["status"] == "opening"
        assert opening["windowStart"] is None and opening["report"] is None

        await env.client.get_workflow_handle(started["reviewId"]).terminate("test")
        assert (await unpolled.get(started["location"])).status_code == 404

        period = last_month(clock)
        with db.transaction() as session:
            session.add(
                ProgramReview(
                    id=started["reviewId"],
                    provider_id=acme.provider_id,
                    cadence="monthly",
                    period=period.label,
                    window_start=period.start,
                    window_end=period.end,
                    program_version=1,
                    program={},
                )
            )
        stopped = (await unpolled.get(started["location"])).json()
        assert stopped["status"] == "stopped" and stopped["programVersion"] == 1


async def test_the_schedules_need_a_temporal_server_that_has_them(acme):
    """The time-skipping test server has no Schedules (the dev server's are tested in
    tests/workers/test_review_schedules.py): a 503 that says so, not a 500."""
    response = await acme.get(f"{REVIEWS}/schedules")
    assert response.status_code == 503
    assert "does not implement Schedules" in response.json()["detail"]


@pytest.mark.parametrize("path", [REVIEWS, f"{REVIEWS}/schedules", f"{REVIEWS}/monthly/2026-01"])
async def test_reviews_need_a_key(acme, path):
    assert (await acme.http.get(path)).status_code == 401
