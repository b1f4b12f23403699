"""Program reviews on the time-skipping server, with the real worker, activities and database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from models.partner import EnrollmentRequest, PartnerStatus
from models.program import ProgramSettings, Tier
from models.review import ReviewCadence, ReviewPeriod, ReviewRequest
from models.schema import ProgramReview, ReviewSnapshot
from tests.helpers import Program, wait_for_state
from workers.demo_data import GOOD, SLIPPING, WEAK
from workers.review_client import ReviewRejected, Reviews

HISTORY_DAYS = 150
"""Orders reach back further than the 90-day window that ends with the reviewed period."""


@pytest.fixture
def program(env, db) -> Program:
    return Program(db, env, ProgramSettings(grace_period_days=45)).create()


@pytest.fixture
def reviews(env, programs) -> Reviews:
    return Reviews(env.client, programs.task_queue)


def snapshots(program: Program, review_id: str) -> dict[str, ReviewSnapshot]:
    with program.db.transaction() as session:
        rows = session.scalars(select(ReviewSnapshot).where(ReviewSnapshot.review_id == review_id))
        return {row.reseller_team_id: row for row in rows}


async def test_a_review_wakes_only_the_partners_whose_standing_changes(
    env, programs, program, reviews
):
    steady = await program.add_reseller("team-steady", GOOD, days=HISTORY_DAYS)
    slipping = await program.add_reseller("team-slipping", SLIPPING, days=HISTORY_DAYS)
    rising = await program.add_reseller("team-rising", GOOD, days=HISTORY_DAYS)
    weak = await program.add_reseller("team-weak", WEAK, days=HISTORY_DAYS)
    for team in (steady, slipping):
        await programs.enroll(program.provider_id, team, EnrollmentRequest(tier=Tier.SILVER))
    await program.sent(slipping, "welcome")

    outcome = await reviews.run(
        ReviewRequest(provider_id=program.provider_id, cadence=ReviewCadence.MONTHLY),
        now=await program.now(),
    )

    period = ReviewPeriod.last_ended(ReviewCadence.MONTHLY, await program.now())
    assert outcome.review_id == f"review/{program.provider_id}/monthly/{period.label}"
    assert outcome.assessment.resellers == 4
    assert outcome.assessment.standings == {
        "below_standard": 1,
        "new_candidate": 1,
        "unchanged": 2,
    }
    assert (outcome.fan_out.signalled, outcome.fan_out.nominated) == (1, 1)

    at_risk = await wait_for_state(
        programs, program.provider_id, slipping, lambda s: s.last_review_id == outcome.review_id
    )
    assert at_risk.status is PartnerStatus.AT_RISK
    assert (await programs.state(program.provider_id, steady)).last_review_id is None
    candidate = await wait_for_state(programs, program.provider_id, rising, lambda s: s.nominated)
    assert candidate.status is PartnerStatus.CANDIDATE
    notice = await program.sent(rising, "candidate_notice")
    assert notice[0].recipient == "provider"
    await program.sent(slipping, "at_risk_warning")

    rows = snapshots(program, outcome.review_id)
    assert rows[weak].standing == "unchanged" and rows[weak].status_before is None
    assert rows[slipping].status_after == "at_risk"
    assert all(rows[t].signalled_at is not None for t in (slipping, rising))
    assert rows[steady].signalled_at is None

    report = outcome.report
    assert report.enrollment_by_tier == {"silver": 2, "gold": 0}
    assert report.partners_at_risk == 1
    assert report.candidates == 1
    assert report.order_volume == sum(row.total_orders for row in rows.values())
    assert report.program_version == 1
    with program.db.transaction() as session:
        stored = session.get_one(ProgramReview, outcome.review_id)
        assert stored.report == report.model_dump(mode="json")
        assert stored.completed_at is not None


async def test_the_same_period_is_reviewed_once(env, programs, program, reviews):
    await program.add_reseller("team-rising", GOOD, days=HISTORY_DAYS)
    request = ReviewRequest(provider_id=program.provider_id, cadence=ReviewCadence.MONTHLY)
    now = await program.now()
    first = await reviews.run(request, now=now)
    again = await reviews.run(request, now=now)
    assert again == first
    assert len(await program.sent("team-rising", "candidate_notice")) == 1


async def test_a_period_that_has_not_ended_is_refused(env, programs, program, reviews):
    now = await program.now()
    request = ReviewRequest(
        provider_id=program.provider_id, cadence=ReviewCadence.MONTHLY, period=f"{now:%Y-%m}"
    )
    with pytest.raises(ReviewRejected, match="can be reviewed from"):
        await reviews.run(request, now=now)


@pytest.mark.parametrize(
    ("cadence", "at", "label"),
    [
        (ReviewCadence.MONTHLY, datetime(2026, 12, 1, 2, tzinfo=UTC), "2026-11"),
        (ReviewCadence.MONTHLY, datetime(2026, 1, 1, 2, tzinfo=UTC), "2025-12"),
        (ReviewCadence.QUARTERLY, datetime(2027, 1, 1, 3, tzinfo=UTC), "2026-Q4"),
        (ReviewCadence.QUARTERLY, datetime(2026, 11, 22, tzinfo=UTC), "2026-Q3"),
    ],
)
def test_a_scheduled_review_covers_the_period_that_has_just_ended(cadence, at, label):
    assert ReviewPeriod.last_ended(cadence, at).label == label
