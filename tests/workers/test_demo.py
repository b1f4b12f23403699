"""The demo program that `partnerflow dev` loads and enrolls, without the dev server."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

import devstack.demo as demo_module
from clients.requests import poll_until
from devstack.demo import (
    DEMO_AGREEMENTS,
    DEMO_ISSUE,
    DEMO_ISSUE_PARTNER,
    DEMO_OFFERS,
    DEMO_PROVIDER_ID,
    DEMO_RESELLERS,
    DEMO_REVIEW_CADENCE,
    create_demo_agreements,
    demo_program,
    enroll_demo,
    load_demo,
    plan_enrollments,
    report_demo_issue,
    run_demo_review,
)
from devstack.demo_data import SLIPPING
from models.contract import partner_workflow_id
from models.metrics import evaluate, failed, qualifying_tier
from models.notifications import NotificationKind
from models.partner import IssueResponse, PartnerState, PartnerStatus
from models.program import Tier
from models.review import ReviewPeriod, review_id
from models.schema import (
    Notification,
    Offer,
    Order,
    PartnerNote,
    ProgramReview,
    Provider,
    Reseller,
)
from tests.helpers import skip_to_a_months_first

pytestmark = pytest.mark.both_databases  # the demo's SQL: loading, planning, enrolling


def _counts(db) -> dict[str, int]:
    with db.transaction() as session:
        return {
            model.__name__: int(session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (Provider, Offer, Reseller, Order)
        }


def test_the_demo_loads_once(db):
    now = datetime.now(UTC)
    first = load_demo(db, now)
    counts = _counts(db)
    second = load_demo(db, now)

    assert first.created and not second.created
    assert _counts(db) == counts
    assert counts["Provider"] == 1
    assert counts["Offer"] == len(DEMO_OFFERS) == 5
    assert counts["Reseller"] == len(DEMO_RESELLERS) >= 30
    assert counts["Order"] == first.orders > 1000
    assert len({r.team_id for r in DEMO_RESELLERS}) == len(DEMO_RESELLERS)


def test_the_demo_has_gold_silver_and_slipping_resellers(db):
    now = datetime.now(UTC)
    load_demo(db, now)
    program = demo_program(db)
    plan = plan_enrollments(db, program, now)

    qualified = [p for p in plan if not p.legacy]
    legacy = [p for p in plan if p.legacy]
    assert Counter(p.tier for p in qualified).keys() == {Tier.SILVER, Tier.GOLD}
    for partner in qualified:
        assert qualifying_tier(partner.metrics, program, include_tenure=True) is partner.tier
    assert {p.reseller.team_id for p in legacy} == {
        r.team_id for r in DEMO_RESELLERS if r.profile is SLIPPING
    }
    for partner in legacy:
        assert qualifying_tier(partner.metrics, program, include_tenure=True) is Tier.BRONZE
        assert failed(evaluate(partner.metrics, program.silver, include_tenure=False))
    planned = {p.reseller.team_id for p in plan}
    assert len(planned) < len(DEMO_RESELLERS), "some resellers stay below the criteria"


def test_a_demo_loaded_by_an_earlier_version_gets_its_new_offers(db):
    now = datetime.now(UTC)
    load_demo(db, now)
    with db.transaction() as session:
        session.delete(session.get_one(Offer, "acme-smart-home"))
    assert not load_demo(db, now).created
    assert _counts(db)["Offer"] == len(DEMO_OFFERS)


async def test_the_demo_exclusives_are_granted_once(env, db, programs, agreements):
    now = await env.get_current_time()
    load_demo(db, now)
    program = demo_program(db)
    await enroll_demo(programs, plan_enrollments(db, program, now), program, now)

    first = await create_demo_agreements(agreements)
    second = await create_demo_agreements(agreements)

    assert set(first) == set(DEMO_AGREEMENTS)
    for agreement_id, state in first.items():
        assert not isinstance(state, str), state
        again = second[agreement_id]
        assert not isinstance(again, str) and again.agreement_uid == state.agreement_uid
        assert state.reseller_team_id == DEMO_AGREEMENTS[agreement_id].reseller_team_id
    with db.transaction() as session:
        granted = session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.kind == "exclusive_granted")
        )
    assert granted == len(DEMO_AGREEMENTS)


async def test_enrolling_the_demo_twice_makes_each_partner_once(env, db, programs):
    now = await env.get_current_time()
    load_demo(db, now)
    program = demo_program(db)
    plan = plan_enrollments(db, program, now)

    first = await enroll_demo(programs, plan, program, now)
    second = await enroll_demo(programs, plan, program, now)

    assert all(o.error is None for o in first + second)
    for outcome in first:
        assert outcome.state is not None
        expected = PartnerStatus.AT_RISK if outcome.partner.legacy else PartnerStatus.PREFERRED
        assert outcome.state.status is expected
        assert outcome.state.tier is outcome.partner.tier
        if outcome.partner.legacy:
            named = {c.name for c in outcome.state.failed_criteria}
            assert "completion_rate" in named
            assert outcome.state.grace_deadline is not None
    assert [(o.state.status, o.state.tier) for o in second if o.state] == [
        (o.state.status, o.state.tier) for o in first if o.state
    ]

    def welcomes() -> int:
        with db.transaction() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(Notification)
                    .where(
                        Notification.provider_id == DEMO_PROVIDER_ID,
                        Notification.kind == "welcome",
                    )
                )
                or 0
            )

    # Welcomes leave after each enrollment has answered: wait for them, then for any extra.
    async def count() -> int:
        return welcomes()

    await poll_until(count, lambda n: n >= len(plan), timeout=15)
    await asyncio.sleep(0.5)
    assert welcomes() == len(plan)


def _friendly_notices(db) -> list[tuple[str, str]]:
    with db.transaction() as session:
        return [
            (row.reseller_team_id, row.subject)
            for row in session.scalars(
                select(Notification).where(
                    Notification.provider_id == DEMO_PROVIDER_ID,
                    Notification.kind == NotificationKind.FRIENDLY_NOTICE.value,
                )
            )
        ]


async def test_the_demo_reviews_its_program_and_reports_an_issue_once(env, db, programs, reviews):
    # The demo's orders end now, and its review covers the month just ended: late in a month,
    # the resellers whose orders all began since would have none in the window.
    now = await skip_to_a_months_first(env)
    load_demo(db, now)
    program = demo_program(db)
    await enroll_demo(programs, plan_enrollments(db, program, now), program, now)

    review = await run_demo_review(reviews, now)
    issue = await report_demo_issue(programs)

    period = ReviewPeriod.last_ended(DEMO_REVIEW_CADENCE, now)
    assert review.error is None, review.error
    assert review.review_id == review_id(DEMO_PROVIDER_ID, period)
    assert review.outcome is not None
    assert review.outcome.assessment.resellers == len(DEMO_RESELLERS)
    assert sum(review.outcome.report.enrollment_by_tier.values()) > 0
    with db.transaction() as session:
        stored = session.scalars(
            select(ProgramReview).where(ProgramReview.provider_id == DEMO_PROVIDER_ID)
        ).all()
        assert [(r.id, r.completed_at is not None) for r in stored] == [(review.review_id, True)]
        assert stored[0].report is not None

    assert isinstance(issue, PartnerState), issue
    assert issue.reseller_team_id == DEMO_ISSUE_PARTNER
    assert [(i.reason, i.response) for i in issue.issues] == [
        (DEMO_ISSUE.reason, IssueResponse.FRIENDLY_NOTICE)
    ]
    notices = await poll_until(lambda: asyncio.to_thread(_friendly_notices, db), bool, timeout=15)
    assert [team for team, _ in notices] == [DEMO_ISSUE_PARTNER]

    # `make run` again: the same review is found, the same issue is not reported twice.
    again = await run_demo_review(reviews, now)
    assert again.review_id == review.review_id
    assert again.outcome == review.outcome
    second = await report_demo_issue(programs)
    assert isinstance(second, PartnerState) and len(second.issues) == 1
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(ProgramReview)) == 1
        issue_notes = session.scalar(
            select(func.count())
            .select_from(PartnerNote)
            .where(PartnerNote.reseller_team_id == DEMO_ISSUE_PARTNER, PartnerNote.kind == "issue")
        )
    assert issue_notes == 1
    await asyncio.sleep(0.5)  # a second notice would have been recorded by now
    assert _friendly_notices(db) == notices


async def test_the_demo_issue_is_reported_once_per_partnership(env, db, programs, monkeypatch):
    """The update ID stops a repeat within a run; the issue note stops one the server cannot
    tell apart (a run continued as new knows no earlier update ID)."""
    now = await env.get_current_time()
    load_demo(db, now)
    refused = await report_demo_issue(programs)
    assert refused == (
        f"no issue reported on {DEMO_ISSUE_PARTNER}: "
        f"{DEMO_ISSUE_PARTNER} is not a partner of provider {DEMO_PROVIDER_ID}"
    )

    program = demo_program(db)
    plan = [
        p for p in plan_enrollments(db, program, now) if p.reseller.team_id == DEMO_ISSUE_PARTNER
    ]
    await enroll_demo(programs, plan, program, now)
    first = await report_demo_issue(programs)
    assert isinstance(first, PartnerState) and len(first.issues) == 1

    monkeypatch.setattr(
        demo_module,
        "DEMO_ISSUE",
        DEMO_ISSUE.model_copy(update={"request_id": "demo-issue-under-another-id"}),
    )
    second = await report_demo_issue(programs)
    assert isinstance(second, PartnerState) and len(second.issues) == 1


async def test_the_demo_messages_name_no_internal_id(env, db, programs):
    """A reseller reads "the review of 2026-12-01 found…", never a review, workflow or message
    ID (the demo's legacy partners are put at risk by a review)."""
    now = await env.get_current_time()
    load_demo(db, now)
    program = demo_program(db)
    plan = plan_enrollments(db, program, now)
    outcomes = await enroll_demo(programs, plan, program, now)
    legacy = [o for o in outcomes if o.partner.legacy]
    assert legacy

    def sent() -> list[Notification]:
        with db.transaction() as session:
            return list(
                session.scalars(
                    select(Notification).where(Notification.provider_id == DEMO_PROVIDER_ID)
                )
            )

    async def rows() -> list[Notification]:
        return sent()

    await poll_until(
        rows,
        lambda found: sum(n.kind == "at_risk_warning" for n in found) >= len(legacy),
        timeout=15,
    )
    messages = sent()
    for outcome in legacy:
        assert outcome.state is not None
        assert outcome.state.at_risk_reason == (
            f"the review of {now:%Y-%m-%d} found the partner below the "
            f"{outcome.partner.tier.value} standard"
        )
    internal = {"demo-review", "review/"} | {n.idempotency_key for n in messages}
    internal |= {
        partner_workflow_id(DEMO_PROVIDER_ID, o.state.reseller_team_id) for o in outcomes if o.state
    }
    for message in messages:
        for text in (message.subject, message.body):
            assert not [i for i in internal if i in text], (message.kind, text)
