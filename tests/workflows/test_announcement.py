"""An announcement on the time-skipping server with the real worker and database: it waits for
its time on a durable timer that outlives the worker, then reaches each partner once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.announcements import AnnouncementActivities
from clients.announcements import Announcements
from devstack.demo_data import add_reseller
from models.announcement import (
    AnnouncementKind,
    AnnouncementOutcome,
    AnnouncementRef,
    AnnouncementStatus,
    announcement_key,
)
from models.database import Database
from models.program import ProgramSettings
from models.schema import Announcement, Notification
from tests.helpers import Program, listed_partner, replay_histories
from workers.wiring import build_worker

TEAMS = ("team-a", "team-b", "team-c")


def _program(env: WorkflowEnvironment, db: Database) -> Program:
    program = Program(db, env, ProgramSettings()).create()
    with db.transaction() as session:
        for team in TEAMS:
            add_reseller(session, team, f"Reseller {team}")
        session.flush()
        session.add_all(listed_partner(program.provider_id, team) for team in TEAMS)
    return program


def _messages(db: Database, provider_id: str) -> list[Notification]:
    with db.transaction() as session:
        return list(
            session.scalars(
                select(Notification)
                .where(Notification.provider_id == provider_id)
                .order_by(Notification.reseller_team_id)
            )
        )


async def test_a_scheduled_announcement_is_sent_at_its_time_once_after_a_worker_restart(
    env: WorkflowEnvironment, db: Database, task_queue: str
) -> None:
    program = _program(env, db)
    provider = program.provider_id
    announcements = Announcements(env.client, task_queue)
    send_at = await program.now() + timedelta(days=3)
    # No cache: the test server would keep routing tasks to the stopped worker's sticky queue.
    async with build_worker(env.client, db, task_queue=task_queue, max_cached_workflows=0):
        record = await announcements.to_partners(
            db,
            provider,
            list(TEAMS),
            kind=AnnouncementKind.DOWNTIME,
            subject="Ordering down on Sunday",
            body="From 02:00 to 04:00 UTC orders cannot be placed.",
            send_at=send_at,
            announcement_id="sunday-downtime",
        )
        handle = env.client.get_workflow_handle(record.workflow_id)
        assert record.workflow_id == f"announcement/{provider}/sunday-downtime"
        assert record.status is AnnouncementStatus.SCHEDULED
        await program.sleep(timedelta(days=1))
    # A day without a worker, ending before the time (the test server stops skipping at a task
    # no worker takes); the timer is the server's, not the worker's.
    await program.sleep(timedelta(days=1))
    assert _messages(db, provider) == []
    async with build_worker(env.client, db, task_queue=task_queue):
        await program.sleep(send_at - await program.now() + timedelta(minutes=1))
        outcome = AnnouncementOutcome.model_validate(await handle.result())
    assert (outcome.status, outcome.recipients, outcome.sent) == (AnnouncementStatus.SENT, 3, 3)
    messages = _messages(db, provider)
    assert [m.reseller_team_id for m in messages] == list(TEAMS)
    assert {m.status for m in messages} == {"sent"}
    assert all(m.subject == "Ordering down on Sunday" for m in messages)
    assert "Dear Reseller team-a" in messages[0].body
    with db.transaction() as session:
        row = session.get_one(Announcement, (provider, "sunday-downtime"))
        assert (row.status, row.recipients) == ("sent", 3) and row.settled_at is not None

    # Recording again, as a retry after a crash would: nobody gets a second message.
    activities = AnnouncementActivities(db)
    again = ActivityEnvironment().run(
        activities.record_announcement,
        AnnouncementRef(provider_id=provider, announcement_id="sunday-downtime"),
    )
    assert (again.status, again.recipients) == (AnnouncementStatus.SENT, 3)
    assert len(_messages(db, provider)) == 3
    assert await replay_histories(env.client, {handle.id}) == 1


async def test_a_recording_interrupted_halfway_records_nobody_twice(
    env: WorkflowEnvironment, db: Database
) -> None:
    program = _program(env, db)
    provider = program.provider_id
    with db.transaction() as session:
        session.add(
            Announcement(
                provider_id=provider,
                id="promo",
                kind=AnnouncementKind.PROMOTION.value,
                subject="Spring promotion",
                body="Half price installs in April.",
                audience={"all": True},
                send_at=await program.now(),
                status=AnnouncementStatus.RECORDING.value,
                created_by="tests",
            )
        )
        # One recipient was recorded before the crash.
        session.add(
            Notification(
                idempotency_key=announcement_key(provider, "promo", "team-b"),
                provider_id=provider,
                reseller_team_id="team-b",
                recipient="partner",
                kind="announcement",
                channel="log",
                subject="Spring promotion",
                body="already",
                status="sent",
                attempts=1,
            )
        )
    recorded = ActivityEnvironment().run(
        AnnouncementActivities(db).record_announcement,
        AnnouncementRef(provider_id=provider, announcement_id="promo"),
    )
    assert (recorded.status, recorded.recipients) == (AnnouncementStatus.SENDING, 3)
    messages = _messages(db, provider)
    assert [(m.reseller_team_id, m.status) for m in messages] == [
        ("team-a", "pending"),
        ("team-b", "sent"),
        ("team-c", "pending"),
    ]
    assert messages[1].body == "already"
