"""Recording an announcement whose row is committed after its workflow started (an offer's
announcement starts it before the request's transaction commits): the activity waits for the
row, heartbeating, and gives up for good when it never comes."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

import activities.announcements
from activities.announcements import AnnouncementActivities
from devstack.demo_data import add_reseller
from models.announcement import AnnouncementKind, AnnouncementRef, AnnouncementStatus
from models.database import Database
from models.program import ProgramSettings
from models.schema import Announcement
from tests.helpers import Program, listed_partner

COMMIT_AFTER = 1.0


def _provider(env: WorkflowEnvironment, db: Database) -> str:
    program = Program(db, env, ProgramSettings()).create()
    with db.transaction() as session:
        add_reseller(session, "team-a", "Reseller A")
        session.flush()
        session.add(listed_partner(program.provider_id, "team-a"))
    return program.provider_id


def _commit_later(db: Database, provider_id: str, announcement_id: str) -> threading.Thread:
    def commit() -> None:
        time.sleep(COMMIT_AFTER)
        with db.transaction() as session:
            session.add(
                Announcement(
                    provider_id=provider_id,
                    id=announcement_id,
                    kind=AnnouncementKind.PROMOTION.value,
                    subject="Spring promotion",
                    body="Half price installs in April.",
                    audience={"all": True},
                    send_at=datetime.now(UTC),
                    status=AnnouncementStatus.SCHEDULED.value,
                    created_by="tests",
                    created_at=datetime.now(UTC),
                )
            )

    thread = threading.Thread(target=commit)
    thread.start()
    return thread


async def test_recording_waits_for_a_row_committed_a_moment_later(
    env: WorkflowEnvironment, db: Database
) -> None:
    provider = _provider(env, db)
    heartbeats: list[object] = []
    activity_env = ActivityEnvironment()
    activity_env.on_heartbeat = lambda *details: heartbeats.append(details)
    thread = _commit_later(db, provider, "late")
    started = time.monotonic()
    recorded = activity_env.run(
        AnnouncementActivities(db).record_announcement,
        AnnouncementRef(provider_id=provider, announcement_id="late"),
    )
    thread.join()
    assert time.monotonic() - started >= COMMIT_AFTER
    assert (recorded.status, recorded.recipients) == (AnnouncementStatus.SENDING, 1)
    assert heartbeats, "it heartbeats while it waits"


async def test_recording_gives_up_for_good_when_the_row_never_comes(
    env: WorkflowEnvironment, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = _provider(env, db)
    monkeypatch.setattr(activities.announcements, "ROW_WAIT_SECONDS", 0.3)
    with pytest.raises(ApplicationError) as refused:
        ActivityEnvironment().run(
            AnnouncementActivities(db).record_announcement,
            AnnouncementRef(provider_id=provider, announcement_id="never"),
        )
    assert refused.value.type == "UnknownAnnouncement" and refused.value.non_retryable
    assert "no announcement 'never'" in str(refused.value)
