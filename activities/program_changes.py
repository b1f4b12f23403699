"""The program-change workflow's work on the database: tell the partners a tightening change
affects, and put a scheduled change in force at its date. Both may be retried at will."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.notifications import NotificationActivities
from models.contract import ActivityName
from models.database import Database
from models.notifications import NotificationContext, NotificationKind, NotificationRequest
from models.program_change import (
    ChangeApplied,
    NoticesRecorded,
    ProgramChangeRef,
    program_change_key_prefix,
    program_change_notice_key,
    threshold_changes,
)
from models.schema import ProgramChangeRow
from store.program_changes import (
    AffectedPartner,
    affected_partners,
    apply_change,
    change_settings,
    program_before,
)


def _now() -> datetime:
    return datetime.now(UTC)


class ProgramChangeActivities:
    """Announces and applies program changes; each side effect is keyed by the change's version
    (and the partner), so a retry finds it done."""

    def __init__(self, db: Database, outbox: NotificationActivities) -> None:
        self._db = db
        self._outbox = outbox

    def _notices(self, ref: ProgramChangeRef) -> list[NotificationRequest]:
        with self._db.transaction() as session:
            row = session.get(ProgramChangeRow, (ref.provider_id, ref.version))
            if row is None:
                raise ApplicationError(
                    f"no change to version {ref.version} of the program of {ref.provider_id} "
                    "is recorded",
                    type="UnknownProgramChange",
                    non_retryable=True,
                )
            old, new = program_before(session, row), change_settings(row)
            if old is None:
                return []
            changes = threshold_changes(old, new)
            affected: list[AffectedPartner] = affected_partners(
                session, ref.provider_id, old, new, _now()
            )
            effective_at = row.effective_at
        return [
            NotificationRequest(
                idempotency_key=program_change_notice_key(
                    ref.provider_id, ref.version, partner.reseller_team_id
                ),
                provider_id=ref.provider_id,
                reseller_team_id=partner.reseller_team_id,
                kind=NotificationKind.PROGRAM_CHANGE_NOTICE,
                context=NotificationContext(
                    tier=partner.tier,
                    effective_date=effective_at,
                    failed_criteria=partner.missed,
                    metrics=partner.metrics,
                    program_changes=changes,
                ),
            )
            for partner in affected
        ]

    def record_notices(self, ref: ProgramChangeRef) -> NoticesRecorded:
        """Put a notice of the change in the outbox for each partner it would take below its
        tier; a partner already told of this version is not told again."""
        requests = self._notices(ref)
        for request in requests:
            activity.heartbeat(request.reseller_team_id)
            self._outbox.record(request)
        return NoticesRecorded(
            partners=len(requests),
            key_prefix=program_change_key_prefix(ref.provider_id, ref.version),
        )

    @activity.defn(name=ActivityName.RECORD_PROGRAM_NOTICES)
    def record_program_notices(self, ref: ProgramChangeRef) -> NoticesRecorded:
        return self.record_notices(ref)

    def apply(self, ref: ProgramChangeRef) -> ChangeApplied:
        """Put the change in force if it is still the one scheduled; otherwise do nothing."""
        with self._db.transaction() as session:
            return apply_change(session, ref.provider_id, ref.version, _now())

    @activity.defn(name=ActivityName.APPLY_PROGRAM_CHANGE)
    def apply_program_change(self, ref: ProgramChangeRef) -> ChangeApplied:
        return self.apply(ref)
