"""The newsletter workflow's work on the database: put one newsletter per partner on the
provider's list in the outbox, and mark the month sent once every message is settled. Delivery
is the outbox's own (NotificationActivities.deliver_outbox). Both may be retried at will: keys
are insert-if-absent and every status change checks the status it moves from."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity

from models.announcement import Audience
from models.contract import ActivityName
from models.database import Database
from models.newsletter import NewsletterRecorded, NewsletterRef, NewsletterStatus
from models.notifications import NotificationKind
from store.announcements import audience_of
from store.newsletter_content import newsletter_notices
from store.newsletters import (
    locked_month,
    newsletter_enabled,
    open_month,
    record_chunk,
    recorded,
)
from store.outbox_rows import BulkRenderer, chunks

S = NewsletterStatus
EVERY_PARTNER = Audience(all=True)


def _now() -> datetime:
    return datetime.now(UTC)


class NewsletterActivities:
    def __init__(self, db: Database) -> None:
        self._db = db

    def _start(self, ref: NewsletterRef) -> NewsletterStatus | None:
        """The month's status once recording may go on; None: the provider has opted out and
        nothing of the month was recorded."""
        with self._db.transaction() as session:
            row = locked_month(session, ref.provider_id, ref.month)
            if row is None and not newsletter_enabled(session, ref.provider_id):
                return None
            row = row or open_month(session, ref.provider_id, ref.month, _now())
            return S(row.status)

    def record(self, ref: NewsletterRef) -> NewsletterRecorded:
        """One newsletter per partner on the list, rendered and inserted in chunks."""
        status = self._start(ref)
        if status is None:
            return NewsletterRecorded(status=S.SKIPPED)
        if status is S.RECORDING:
            with self._db.transaction() as session:
                recipients = audience_of(session, ref.provider_id, EVERY_PARTNER)
            for chunk in chunks(recipients):
                activity.heartbeat(chunk[0].reseller_team_id)
                with self._db.transaction() as session:
                    notices = newsletter_notices(
                        session,
                        ref.provider_id,
                        ref.month,
                        [(r.reseller_team_id, r.tier) for r in chunk],
                    )
                    renderer = BulkRenderer(session, ref.provider_id, NotificationKind.NEWSLETTER)
                    record_chunk(session, ref.provider_id, ref.month, renderer, notices, chunk)
        with self._db.transaction() as session:
            row = locked_month(session, ref.provider_id, ref.month)
            assert row is not None, "opened when recording started"
            count, batches = recorded(session, ref.provider_id, ref.month)
            if S(row.status) is S.RECORDING:
                row.recipients = count
                row.status = S.SENDING.value
            return NewsletterRecorded(status=S(row.status), recipients=count, batches=batches)

    @activity.defn(name=ActivityName.RECORD_NEWSLETTER)
    def record_newsletter(self, ref: NewsletterRef) -> NewsletterRecorded:
        return self.record(ref)

    def settle(self, ref: NewsletterRef) -> NewsletterStatus:
        """Mark the month sent: every message was delivered, bounced or failed for good."""
        with self._db.transaction() as session:
            row = locked_month(session, ref.provider_id, ref.month)
            if row is None:
                return S.SKIPPED
            if S(row.status) is S.SENDING:
                row.status = S.SENT.value
                row.settled_at = _now()
            return S(row.status)

    @activity.defn(name=ActivityName.SETTLE_NEWSLETTER)
    def settle_newsletter(self, ref: NewsletterRef) -> NewsletterStatus:
        return self.settle(ref)
