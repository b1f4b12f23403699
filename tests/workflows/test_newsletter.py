"""The monthly newsletter on the time-skipping server with the real worker and database: a month
sent by hand reaches each partner on the list once, written for it; a provider that opted out
sends nothing. (The Schedule that sends it monthly needs the dev server: tests/workers.)"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.newsletters import NewsletterActivities
from clients.newsletters import Newsletters
from devstack.demo_data import SLIPPING, OrderProfile, add_offer
from models.database import Database
from models.newsletter import (
    NewsletterOutcome,
    NewsletterRef,
    NewsletterStatus,
    month_before,
    month_bounds,
    month_label,
    newsletter_key,
)
from models.program import ProgramSettings
from models.schema import Newsletter, Notification
from store.newsletters import set_newsletter
from tests.helpers import Program, listed_partner, replay_histories
from workers.wiring import build_worker

STEADY = OrderProfile(orders_per_month=30, acceptance=0.97, completion=0.97, rating=4.9)


def _messages(db: Database, provider_id: str) -> list[Notification]:
    with db.transaction() as session:
        return list(
            session.scalars(
                select(Notification)
                .where(Notification.provider_id == provider_id, Notification.kind == "newsletter")
                .order_by(Notification.reseller_team_id)
            )
        )


async def _program(env: WorkflowEnvironment, db: Database) -> tuple[Program, str]:
    """Two partners on the list with orders over the last months, one reseller off it, and an
    offer created within the month just ended."""
    program = Program(db, env, ProgramSettings()).create()
    now = await program.now()
    month = month_before(now)
    start, end = month_bounds(month)
    await program.add_reseller("team-a", STEADY, end=end, days=90)
    await program.add_reseller("team-b", SLIPPING, end=end, days=90)
    await program.add_reseller("team-off", STEADY, end=end, days=90)
    with db.transaction() as session:
        session.add_all(listed_partner(program.provider_id, team) for team in ("team-a", "team-b"))
        offer = add_offer(session, program.provider_id, f"{program.provider_id}-2g", price=80.0)
        offer.name = "Fiber 2 Gig"
        offer.created_at = start + timedelta(days=3)
        set_newsletter(session, program.provider_id, True, now)
    return program, month


async def test_a_months_newsletter_reaches_each_partner_once_written_for_it(
    env: WorkflowEnvironment, db: Database, task_queue: str
) -> None:
    program, month = await _program(env, db)
    provider = program.provider_id
    newsletters = Newsletters(env.client, task_queue)
    async with build_worker(env.client, db, task_queue=task_queue):
        with db.transaction() as session:
            handle = await newsletters.send(session, provider, month, await program.now())
        assert handle.id == f"newsletter/{provider}/{month}"
        outcome = NewsletterOutcome.model_validate(await handle.result())
        assert (outcome.status, outcome.recipients, outcome.sent) == (NewsletterStatus.SENT, 2, 2)

        # The same month again names the same workflow and sends nobody anything.
        with db.transaction() as session:
            again = await newsletters.send(session, provider, month, await program.now())
        assert again.id == handle.id
        await again.result()

    messages = _messages(db, provider)
    assert [m.reseller_team_id for m in messages] == ["team-a", "team-b"]
    assert [m.idempotency_key for m in messages] == [
        newsletter_key(provider, month, "team-a"),
        newsletter_key(provider, month, "team-b"),
    ]
    assert {m.status for m in messages} == {"sent"}
    for message in messages:
        assert message.subject == f"Provider {provider} partner newsletter: {month_label(month)}"
        assert "Fiber 2 Gig: $" in message.body
        assert "Your month against the one before:" in message.body
        assert "orders: " in message.body
    # The slipping partner is told where to focus: a criterion of its silver tier it misses.
    assert "Where to focus:" in messages[1].body
    assert "the silver line" in messages[1].body
    with db.transaction() as session:
        row = session.get_one(Newsletter, (provider, month))
        assert (row.status, row.recipients) == ("sent", 2) and row.settled_at is not None

    # Recording again, as a retry after a crash would: nobody gets a second newsletter.
    recorded = ActivityEnvironment().run(
        NewsletterActivities(db).record_newsletter, NewsletterRef(provider_id=provider, month=month)
    )
    assert (recorded.status, recorded.recipients) == (NewsletterStatus.SENT, 2)
    assert len(_messages(db, provider)) == 2
    assert await replay_histories(env.client, {handle.id}, label="newsletter-sent-by-hand") == 1


async def test_a_provider_that_opted_out_sends_no_newsletter(
    env: WorkflowEnvironment, db: Database, task_queue: str
) -> None:
    program, month = await _program(env, db)
    provider = program.provider_id
    with db.transaction() as session:
        handle = await Newsletters(env.client, task_queue).send(
            session, provider, month, await program.now()
        )
    # Opted out after the month was started and before any worker recorded it.
    with db.transaction() as session:
        set_newsletter(session, provider, False, await program.now())
    async with build_worker(env.client, db, task_queue=task_queue):
        outcome = NewsletterOutcome.model_validate(await handle.result())
    assert outcome.status is NewsletterStatus.SKIPPED
    assert _messages(db, provider) == []
    with db.transaction() as session:
        assert session.get(Newsletter, (provider, month)) is None
