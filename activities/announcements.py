"""The announcement workflow's work on the database: put one message per recipient in the
outbox when the announcement's time comes, and mark it sent once every message is settled.
Delivery itself is the outbox's own (NotificationActivities.deliver_outbox), as for every
message. Both may be retried at will."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from models.announcement import (
    AnnouncementRecorded,
    AnnouncementRef,
    AnnouncementSettled,
    AnnouncementStatus,
    Audience,
)
from models.contract import ActivityName
from models.database import Database
from models.schema import Announcement
from store.announcements import (
    Renderer,
    audience_of,
    locked,
    move,
    record_chunk,
    recorded,
)
from store.outbox_rows import chunks

S = AnnouncementStatus
ROW_WAIT_SECONDS = 30.0
"""How long recording waits for its announcement's row: an offer's announcement starts its
workflow before the request's transaction commits, so the row may appear a moment later (and
never, if that transaction rolls back)."""
ROW_POLL_SECONDS = 0.25


def _now() -> datetime:
    return datetime.now(UTC)


def _unknown(ref: AnnouncementRef) -> ApplicationError:
    return ApplicationError(
        f"no announcement {ref.announcement_id!r} of {ref.provider_id} is recorded",
        type="UnknownAnnouncement",
        non_retryable=True,
    )


class AnnouncementActivities:
    """Records and settles announcements; every write checks the announcement's status under
    its lock, so a cancelled one records nothing and a retry finds its work done."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def _start_recording(self, ref: AnnouncementRef) -> AnnouncementStatus:
        """Move the announcement to recording, once its row is committed (waiting for it, with
        heartbeats, up to ROW_WAIT_SECONDS; then it is unknown for good)."""
        deadline = time.monotonic() + ROW_WAIT_SECONDS
        while True:
            with self._db.transaction() as session:
                row = locked(session, ref.provider_id, ref.announcement_id)
                if row is not None:
                    move(row, S.RECORDING, (S.SCHEDULED,), _now())
                    return AnnouncementStatus(row.status)
            if time.monotonic() >= deadline:
                raise _unknown(ref)
            activity.heartbeat("waiting for the announcement to be committed")
            time.sleep(ROW_POLL_SECONDS)

    def record(self, ref: AnnouncementRef) -> AnnouncementRecorded:
        """One outbox row per recipient, inserted in chunks where its key is absent."""
        if self._start_recording(ref) is S.RECORDING:
            with self._db.transaction() as session:
                row = session.get_one(Announcement, (ref.provider_id, ref.announcement_id))
                audience = Audience.model_validate(row.audience)
                recipients = audience_of(session, ref.provider_id, audience)
            for chunk in chunks(recipients):
                activity.heartbeat(chunk[0].reseller_team_id)
                with self._db.transaction() as session:
                    row = session.get_one(Announcement, (ref.provider_id, ref.announcement_id))
                    record_chunk(session, row, Renderer(session, row), chunk)
        with self._db.transaction() as session:
            latest = locked(session, ref.provider_id, ref.announcement_id)
            assert latest is not None, "checked when recording started"
            if S(latest.status) is S.CANCELLED:
                return AnnouncementRecorded(status=S.CANCELLED)
            count, batches = recorded(session, ref.provider_id, ref.announcement_id)
            latest.recipients = count
            move(latest, S.SENDING, (S.RECORDING,), _now())
            return AnnouncementRecorded(status=S(latest.status), recipients=count, batches=batches)

    @activity.defn(name=ActivityName.RECORD_ANNOUNCEMENT)
    def record_announcement(self, ref: AnnouncementRef) -> AnnouncementRecorded:
        return self.record(ref)

    def settle(self, ref: AnnouncementRef) -> AnnouncementSettled:
        """Mark the announcement sent (every message delivered, bounced or failed for good), or
        cancelled if its time never came; anything else stays as it is."""
        with self._db.transaction() as session:
            row = locked(session, ref.provider_id, ref.announcement_id)
            if row is None:
                raise _unknown(ref)
            if not move(row, S.SENT, (S.SENDING,), _now()):
                move(row, S.CANCELLED, (S.SCHEDULED,), _now())
            return AnnouncementSettled(status=S(row.status))

    @activity.defn(name=ActivityName.SETTLE_ANNOUNCEMENT)
    def settle_announcement(self, ref: AnnouncementRef) -> AnnouncementSettled:
        return self.settle(ref)
