"""The demo program that `partnerflow dev` loads and enrolls, without the dev server."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import func, select

from models.metrics import evaluate, failed, qualifying_tier
from models.partner import PartnerStatus
from models.program import Tier
from models.schema import Notification, Offer, Order, Provider, Reseller
from workers.demo import (
    DEMO_AGREEMENTS,
    DEMO_OFFERS,
    DEMO_PROVIDER_ID,
    DEMO_RESELLERS,
    create_demo_agreements,
    demo_program,
    enroll_demo,
    load_demo,
    plan_enrollments,
)
from workers.demo_data import SLIPPING
from workers.workflow_requests import poll_until


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
