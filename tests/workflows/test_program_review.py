"""Program reviews on the time-skipping server, with the real worker, activities and database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from activities.reviews import assess, open_review
from clients.reviews import ReviewRejected
from devstack.demo_data import SLIPPING, WEAK, OrderProfile, add_reseller, generate_orders
from models.partner import EnrollmentRequest, PartnerStatus
from models.program import GOLD_DEFAULTS, ProgramSettings, Tier
from models.review import (
    OpenReview,
    ReviewCadence,
    ReviewPeriod,
    ReviewRequest,
    acts_on,
    window_text,
)
from models.schema import ProgramReview, ReviewSnapshot
from services import reviews as reviews_service
from services.program import ProgramChange, change_program
from tests.helpers import FALTERING, Program, first_of_next_month, wait_for_state

pytestmark = pytest.mark.both_databases  # the review's batch SQL: metrics, snapshots, the report

SOLID = OrderProfile(orders_per_month=24, acceptance=0.99, completion=1.0, rating=4.8)
"""Far enough above silver that no sample of its orders in the window falls below it."""
GOLDEN = OrderProfile(
    orders_per_month=60, acceptance=0.98, completion=0.99, rating=5.0, price=180.0
)
"""Far enough above gold, likewise."""
HISTORY_DAYS = 150
SHORTEST_MONTH = 28
"""Orders reach back further than the period reviewed."""


@pytest.fixture
def program(env, db) -> Program:
    return Program(db, env, ProgramSettings(grace_period_days=45)).create()


def snapshots(program: Program, review_id: str) -> dict[str, ReviewSnapshot]:
    with program.db.transaction() as session:
        rows = session.scalars(select(ReviewSnapshot).where(ReviewSnapshot.review_id == review_id))
        return {row.reseller_team_id: row for row in rows}


async def test_a_review_wakes_only_the_partners_whose_standing_changes(
    env, programs, program, reviews
):
    end = await program.month_end()
    steady = await program.add_reseller("team-steady", SOLID, days=HISTORY_DAYS, end=end)
    slipping = await program.add_reseller("team-slipping", FALTERING, days=HISTORY_DAYS, end=end)
    rising = await program.add_reseller("team-rising", SOLID, days=HISTORY_DAYS, end=end)
    # A few orders a month, all in the month reviewed, so that the review assesses it.
    weak = await program.add_reseller("team-weak", WEAK, days=SHORTEST_MONTH, end=end)
    for team in (steady, slipping):
        await programs.enroll(program.provider_id, team, EnrollmentRequest(tier=Tier.SILVER))
    await program.sent(slipping, "welcome")

    now = await program.skip_to_the_monthly_review(end)
    # Waiting on a result lets the test server skip ahead to the next timer once nothing runs:
    # a candidate done before the review ends would lapse, 30 days on, before it is read.
    with env.auto_time_skipping_disabled():
        outcome = await reviews.run(
            ReviewRequest(provider_id=program.provider_id, cadence=ReviewCadence.MONTHLY),
            now=now,
        )

    period = ReviewPeriod.last_ended(ReviewCadence.MONTHLY, now)
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
    await program.add_reseller("team-rising", SOLID, days=HISTORY_DAYS)
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


YEAR_PROGRAM = ProgramSettings(
    metrics_window_days=30,
    grace_period_days=45,
    gold=GOLD_DEFAULTS.model_copy(update={"min_revenue": 5_000}),
)


async def start_before_a_quarters_last_month(program: Program) -> None:
    """Skip to the middle of February, May, August or November, whichever comes first: the
    year's first review (on the 1st of the next month) is then monthly alone, and its quarterly
    reviews fall in months 1, 4, 7 and 10 of the year. The test server starts at today's date,
    which would otherwise decide which of the reviews are quarterly."""
    now = await program.now()
    start = now.replace(day=15, hour=12, minute=0, second=0, microsecond=0)
    while start <= now or start.month % 3 != 2:
        start = (start + timedelta(days=31)).replace(day=15)
    await program.sleep(start - now)


async def test_a_year_of_reviews(env, db, programs, reviews):
    """Monthly and quarterly reviews for a year: one partner rises from candidate to gold, one
    slips and recovers, one is removed when its grace period runs out."""
    program = Program(db, env, YEAR_PROGRAM).create()
    await start_before_a_quarters_last_month(program)
    provider = program.provider_id
    rising = await program.add_reseller("team-rising", SOLID, days=30)
    slipper = await program.add_reseller("team-slipper", SOLID, days=30)
    leaver = await program.add_reseller("team-leaver", SOLID, days=30)
    for team in (slipper, leaver):
        await programs.enroll(provider, team, EnrollmentRequest(tier=Tier.SILVER))
    profiles = {
        # Gold from the second month of a quarter on: the monthly review of that month
        # promotes it, and no quarterly review (over its whole quarter) falls between.
        rising: [SOLID, SOLID, *[GOLDEN] * 10],
        slipper: [SOLID, SLIPPING, *[SOLID] * 10],
        leaver: [WEAK] * 12,
    }

    outcomes = []
    for month in range(12):
        review_at = first_of_next_month(await program.now())
        for team, by_month in profiles.items():
            with db.transaction() as session:
                session.add_all(
                    generate_orders(
                        provider,
                        team,
                        program.public_offer,
                        by_month[month],
                        end=review_at - timedelta(hours=3),
                        days=30,
                        id_prefix=f"{provider}-{team}-m{month}",
                    )
                )
        await env.sleep(review_at - await program.now())
        now = await program.now()
        for cadence in ReviewCadence:
            if cadence is ReviewCadence.QUARTERLY and review_at.month not in (1, 4, 7, 10):
                continue
            request = ReviewRequest(provider_id=provider, cadence=cadence)
            # Waiting on a result lets the test server skip ahead to the next timer (a grace
            # period): the clock must stay on the review's day.
            with env.auto_time_skipping_disabled():
                outcomes.append(await reviews.run(request, now=now))
        if month == 0:
            candidate = await wait_for_state(programs, provider, rising, lambda s: s.nominated)
            assert candidate.status is PartnerStatus.CANDIDATE
            await programs.enroll(provider, rising, EnrollmentRequest(tier=Tier.SILVER))
        if month == 2:
            with db.transaction() as session:
                change_program(
                    session,
                    provider,
                    ProgramChange(
                        settings=YEAR_PROGRAM.model_copy(update={"grace_period_days": 60}),
                        changed_by="program manager",
                    ),
                )

    monthly = [o for o in outcomes if "/monthly/" in o.review_id]
    quarterly = [o for o in outcomes if "/quarterly/" in o.review_id]
    assert (len(monthly), len(quarterly)) == (12, 4)
    assert [o.report.program_version for o in monthly] == [1, 1, 1] + [2] * 9

    final = {team: await programs.state(provider, team) for team in (rising, slipper, leaver)}
    assert (final[rising].status, final[rising].tier) == (PartnerStatus.PREFERRED, Tier.GOLD)
    assert (final[slipper].status, final[slipper].tier) == (PartnerStatus.PREFERRED, Tier.SILVER)
    assert final[leaver].status is PartnerStatus.REMOVED

    def path(team: str) -> list[str]:
        return [f"{t.to_status.value}/{t.to_tier.value}" for t in final[team].transitions]

    assert path(rising) == ["candidate/bronze", "preferred/silver", "preferred/gold"]
    assert path(slipper) == ["preferred/silver", "at_risk/silver", "preferred/silver"]
    assert path(leaver) == ["preferred/silver", "at_risk/silver", "removed/bronze"]
    promoted_by = final[rising].transitions[-1]
    assert promoted_by.actor_id in [o.review_id for o in monthly]

    once = {
        rising: ["candidate_notice", "welcome", "promoted"],
        slipper: ["welcome", "at_risk_warning", "recovered"],
        leaver: ["welcome", "at_risk_warning", "removed"],
    }
    for team, kinds in once.items():
        sent = [n.kind for n in program.notifications(team) if n.kind != "scorecard"]
        assert sent == kinds, team
    cards = {team: len(program.notifications(team, "scorecard")) for team in profiles}
    # The leaver is still a partner, at risk, at the first quarterly review.
    assert cards == {rising: 4, slipper: 4, leaver: 1}
    assert [o.scorecards.sent for o in quarterly if o.scorecards] == [3, 2, 2, 2]

    first_quarter, *later = [o.report for o in quarterly]
    assert first_quarter.retention_rate is None
    # Of the three listed at the first quarter's review, the leaver was gone by the second.
    assert [r.retention_rate for r in later] == [0.6667, 1.0, 1.0]
    assert sum(o.report.partners_removed for o in monthly) == 1
    # Moves onto the list: the two enrolled in the first month, the candidate approved in the next.
    assert [o.report.graduations for o in monthly] == [2, 1] + [0] * 10


async def test_a_past_quarters_review_is_an_audit_that_changes_nobody(
    env, programs, program, reviews
):
    # The quarter under way now is reviewed once the next one has ended too, so that the
    # partner's enrollment (today) comes before the end of the quarter audited.
    today = await program.now()
    older = ReviewPeriod.starting(
        ReviewCadence.QUARTERLY, ReviewPeriod.last_ended(ReviewCadence.QUARTERLY, today).end
    )
    slipping = await program.add_reseller("team-slipping", SLIPPING, days=400, end=older.end)
    rising = await program.add_reseller("team-rising", SOLID, days=400, end=older.end)
    await programs.enroll(program.provider_id, slipping, EnrollmentRequest(tier=Tier.SILVER))
    await program.sent(slipping, "welcome")
    following = ReviewPeriod.starting(ReviewCadence.QUARTERLY, older.end)
    await program.sleep(following.end + timedelta(hours=3) - today)
    now = await program.now()
    assert ReviewPeriod.last_ended(ReviewCadence.QUARTERLY, now).previous() == older

    outcome = await reviews.run(
        ReviewRequest(
            provider_id=program.provider_id, cadence=ReviewCadence.QUARTERLY, period=older.label
        ),
        now=now,
    )

    # It found what an acting review would have acted on, and acted on none of it.
    assert outcome.assessment.standings.get("below_standard") == 1
    assert outcome.assessment.standings.get("new_candidate") == 1
    assert (outcome.fan_out.signalled, outcome.fan_out.nominated) == (0, 0)
    assert outcome.scorecards is None and outcome.scorecards_delivered is None
    state = await programs.state(program.provider_id, slipping)
    assert state.status is PartnerStatus.PREFERRED and state.last_review_id is None
    assert program.listing(rising) is None
    assert [n.kind for n in program.notifications(slipping)] == ["welcome"]
    assert program.notifications(rising) == []
    assert all(row.signalled_at is None for row in snapshots(program, outcome.review_id).values())
    with program.db.transaction() as session:
        record = reviews_service.find_review(session, program.provider_id, older)
    assert record is not None and record.audit
    assert record.audit_reason and "past-period audit" in record.audit_reason
    assert (record.window_start, record.window_end) == (older.start, older.end)


async def test_the_review_of_the_quarter_just_ended_acts_on_the_window_ending_with_it(
    env, programs, program, reviews
):
    quarter = ReviewPeriod.last_ended(ReviewCadence.QUARTERLY, await program.now())
    if await program.now() < quarter.end + timedelta(days=2):
        await program.sleep(timedelta(days=2))  # room for orders after the quarter, whatever today
    now = await program.now()
    team = await program.add_reseller("team-rising", SOLID, days=1)  # orders after the quarter
    with program.db.transaction() as session:
        for name, end in (
            ("first-days", quarter.start + timedelta(days=3)),
            ("day-after", quarter.end + timedelta(days=1)),
            ("day-before", quarter.start),
        ):
            session.add_all(
                generate_orders(
                    program.provider_id,
                    team,
                    program.public_offer,
                    GOLDEN,
                    end=end,
                    days=1,
                    id_prefix=f"{program.provider_id}-{name}",
                )
            )
    in_quarter = round(GOLDEN.orders_per_month / 30)

    outcome = await reviews.run(
        ReviewRequest(provider_id=program.provider_id, cadence=ReviewCadence.QUARTERLY), now=now
    )

    assert snapshots(program, outcome.review_id)[team].total_orders == in_quarter
    with program.db.transaction() as session:
        record = reviews_service.find_review(session, program.provider_id, quarter)
    assert record is not None and not record.audit
    assert (record.window_start, record.window_end) == (quarter.start, quarter.end)
    assert record.window == window_text(quarter.start, quarter.end)


def test_a_reviews_window_ends_with_its_period_and_only_the_last_one_ended_acts(db):
    program = Program(db, None, ProgramSettings()).create()
    q3 = ReviewPeriod.parse(ReviewCadence.QUARTERLY, "2026-Q3")
    with db.transaction() as session:
        add_reseller(session, "team-q3", joined_at=datetime(2024, 1, 1, tzinfo=UTC))
        session.flush()
        for name, end in (
            ("3-july", datetime(2026, 7, 4, tzinfo=UTC)),
            ("30-june", datetime(2026, 7, 1, tzinfo=UTC)),
            ("1-october", datetime(2026, 10, 2, tzinfo=UTC)),
        ):
            session.add_all(
                generate_orders(
                    program.provider_id,
                    "team-q3",
                    program.public_offer,
                    GOLDEN,
                    end=end,
                    days=1,
                    id_prefix=f"{program.provider_id}-{name}",
                )
            )

    plan = open_review(
        db,
        OpenReview(
            provider_id=program.provider_id,
            period=q3,
            batch_size=250,
            started_at=datetime(2026, 10, 1, 3, tzinfo=UTC),
        ),
    )
    # The quarter itself: 30 June's and 1 October's orders are not the quarter's.
    assert (plan.window_start, plan.window_end) == (
        datetime(2026, 7, 1, tzinfo=UTC),
        datetime(2026, 10, 1, tzinfo=UTC),
    )
    assert window_text(plan.window_start, plan.window_end) == "1 July – 30 September 2026"
    assert plan.acts
    assess(db, plan)
    assert snapshots(program, plan.review_id)["team-q3"].total_orders == 2  # 3 July's alone

    # A Schedule catching up a week late still acts; an older quarter is an audit.
    assert acts_on(q3, datetime(2026, 10, 8, 3, tzinfo=UTC))
    assert not acts_on(q3, datetime(2027, 1, 1, 3, tzinfo=UTC))
    assert not acts_on(q3.previous(), datetime(2026, 10, 1, 3, tzinfo=UTC))
    monthly = ReviewPeriod.parse(ReviewCadence.MONTHLY, "2026-11")
    assert window_text(monthly.start, monthly.end) == "1 – 30 November 2026"


async def test_a_review_never_acts_on_data_older_than_the_partners_latest_decision(
    env, programs, program, reviews
):
    """Enrolled today, judged on the month that ended before: the enrollment stands."""
    await program.month_end()  # clear of a month's end: the review follows today's month
    slipping = await program.add_reseller("team-slipping", FALTERING, days=HISTORY_DAYS)
    rising = await program.add_reseller("team-rising", SOLID, days=HISTORY_DAYS)
    await programs.enroll(program.provider_id, slipping, EnrollmentRequest(tier=Tier.SILVER))
    await program.sent(slipping, "welcome")
    now = await program.now()

    outcome = await reviews.run(
        ReviewRequest(provider_id=program.provider_id, cadence=ReviewCadence.MONTHLY), now=now
    )

    rows = snapshots(program, outcome.review_id)
    assert rows[slipping].standing == "decided_since"
    assert (rows[slipping].status_after, rows[slipping].tier_after) == ("preferred", "silver")
    assert rows[slipping].failed_criteria  # what it misses is still reported
    assert rows[rising].standing == "new_candidate"  # no decision on it yet: the review acts
    assert (outcome.fan_out.signalled, outcome.fan_out.nominated) == (0, 1)
    state = await programs.state(program.provider_id, slipping)
    assert state.status is PartnerStatus.PREFERRED and state.last_review_id is None
    assert program.notifications(slipping, "at_risk_warning") == []

    # The partner's workflow holds to the same rule on a signal that reaches it anyway.
    stale = await program.review_signal(slipping, review_id="review/older-data")
    enrolled_at = state.transitions[-1].at
    metrics = stale.metrics.model_copy(
        update={"window_start": enrolled_at - timedelta(days=90), "window_end": enrolled_at}
    )
    await programs.review(
        program.provider_id, slipping, stale.model_copy(update={"metrics": metrics})
    )
    after = await wait_for_state(
        programs, program.provider_id, slipping, lambda s: s.last_review_id == "review/older-data"
    )
    assert after.status is PartnerStatus.PREFERRED
    assert after.transitions == state.transitions
    # The same figures over a window that ends after the enrollment do put it at risk.
    fresh = await program.review(programs, slipping, review_id="review/newer-data")
    assert fresh.status is PartnerStatus.AT_RISK
