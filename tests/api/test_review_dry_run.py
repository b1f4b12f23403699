"""`POST /provider/reviews {"dryRun": true}`: what a review would decide, with nothing done, on
the real worker, the time-skipping server and the database."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from temporalio.service import RPCError, RPCStatusCode

from api import reviews as reviews_route
from models.review import ReviewCadence, ReviewPeriod
from models.schema import (
    Notification,
    PreferredListEntry,
    ProgramReview,
    ReviewSnapshot,
    TransitionLogEntry,
)
from tests.api.conftest import ApiClock, ProviderApi
from tests.api.test_reviews import REVIEWS, completed, seed, start

pytestmark = pytest.mark.both_databases  # the review's batch SQL, read without a write

DECISION = ("standing", "statusBefore", "statusAfter", "tierBefore", "tierAfter", "failedCriteria")
TABLES = (ProgramReview, ReviewSnapshot, Notification, TransitionLogEntry, PreferredListEntry)


def row_counts(api: ProviderApi) -> dict[str, int]:
    with api.program.db.transaction() as session:
        return {
            table.__tablename__: session.scalar(select(func.count()).select_from(table)) or 0
            for table in TABLES
        }


async def dry_run(api: ProviderApi, **params: Any) -> dict[str, Any]:
    response = await api.http.post(
        REVIEWS,
        json={"cadence": "monthly", "dryRun": True},
        params=params,
        headers={"x-api-key": api.key},
    )
    assert response.status_code == 200, response.text
    preview: dict[str, Any] = response.json()
    return preview


async def test_a_dry_run_decides_what_the_review_then_decides_and_does_nothing(
    env, acme, programs, clock: ApiClock
):
    teams = await seed(acme, programs, clock)
    before = row_counts(acme)
    period = ReviewPeriod.last_ended(ReviewCadence.MONTHLY, clock())

    preview = await dry_run(acme, pageSize=500)

    assert preview["dryRun"] is True
    assert preview["reviewId"] == f"review/{acme.provider_id}/monthly/{period.label}"
    assert (preview["audit"], preview["alreadyReviewed"]) == (False, False)
    assert preview["windowStart"].startswith(period.start.date().isoformat())
    assert preview["programVersion"] == 1
    assert preview["resellers"] == preview["total"] == 4
    assert preview["standings"] == {"below_standard": 1, "new_candidate": 1, "unchanged": 2}
    by_team = {p["resellerTeamId"]: p for p in preview["partners"]}
    slipping = by_team[teams["slipping"]]
    assert (slipping["statusBefore"], slipping["statusAfter"]) == ("preferred", "at_risk")
    assert "<" in slipping["failedCriteria"]  # each failed criterion: value < threshold
    assert by_team[teams["rising"]]["standing"] == "new_candidate"

    # Nothing written, signalled, started or sent.
    assert row_counts(acme) == before
    state = await programs.state(acme.provider_id, teams["slipping"])
    assert state.last_review_id is None and state.status.value == "preferred"
    with pytest.raises(RPCError) as missing:
        await env.client.get_workflow_handle(preview["reviewId"]).describe()
    assert missing.value.status is RPCStatusCode.NOT_FOUND

    review = await completed(acme, (await start(acme, cadence="monthly"))["location"])
    assert review["assessment"]["standings"] == preview["standings"]
    snapshots = (await acme.get(f"{REVIEWS}/monthly/{period.label}/partners?pageSize=500")).json()
    assert {s["resellerTeamId"]: [s[k] for k in DECISION] for s in snapshots["items"]} == {
        team: [p[k] for k in DECISION] for team, p in by_team.items()
    }

    # Once the review has acted, its decisions are newer than the month's data: a second look
    # finds nothing more to do.
    again = await dry_run(acme)
    assert again["alreadyReviewed"] is True
    assert again["standings"] == {"decided_since": 2, "unchanged": 2}


async def test_a_dry_run_pages_and_filters_by_standing_and_runs_one_at_a_time(
    acme, programs, clock: ApiClock
):
    teams = await seed(acme, programs, clock)

    below = await dry_run(acme, standing="below_standard")
    assert below["total"] == 1 and below["resellers"] == 4
    assert [p["resellerTeamId"] for p in below["partners"]] == [teams["slipping"]]
    second = await dry_run(acme, page=2, pageSize=1)
    assert (second["page"], second["pageSize"], second["total"]) == (2, 1, 4)
    assert [p["resellerTeamId"] for p in second["partners"]] == [sorted(teams.values())[1]]

    # A second dry run of the same provider while one reads its orders waits its turn.
    reviews_route._previewing.add(acme.provider_id)
    try:
        busy = await acme.post(REVIEWS, {"cadence": "monthly", "dryRun": True})
    finally:
        reviews_route._previewing.discard(acme.provider_id)
    assert busy.status_code == 429 and busy.headers["retry-after"] == "5"
    assert "already under way" in busy.json()["detail"]


async def test_a_dry_run_of_a_past_month_says_it_would_be_an_audit(acme, programs, clock: ApiClock):
    await seed(acme, programs, clock)
    older = ReviewPeriod.last_ended(ReviewCadence.MONTHLY, clock()).previous()
    response = await acme.post(
        REVIEWS, {"cadence": "monthly", "period": older.label, "dryRun": True}
    )
    assert response.status_code == 200, response.text
    preview = response.json()
    assert preview["audit"] is True and "past-period audit" in preview["auditReason"]
    # Enrolled after that month ended: a verdict on it would overrule the enrollment.
    assert preview["standings"].get("decided_since") == 2
