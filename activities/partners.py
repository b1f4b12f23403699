"""The partner's rows in the program database: context, preferred list, transition log, notes."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from activities.counters import count_transition
from activities.idempotent import already_recorded, insert_once
from models.contract import ActivityName
from models.database import Database
from models.notifications import NotificationRequest
from models.program import ProgramSettings
from models.records import (
    EnrollmentWrite,
    EnrollmentWritten,
    MetricsRequest,
    NoteRecord,
    PartnerContext,
    PartnerRef,
    PartnerWrites,
    PartnerWritten,
    TransitionRecord,
    WriteResult,
)
from models.schema import (
    Notification,
    PartnerNote,
    PreferredListEntry,
    Provider,
    Reseller,
    TransitionLogEntry,
)
from store.metrics import partner_metrics_in
from store.offer_access import apply_access_change


class UnknownPartyError(ApplicationError):
    """A provider or reseller that the program database does not know: retrying cannot help."""

    def __init__(self, message: str) -> None:
        super().__init__(message, type="UnknownParty", non_retryable=True)


def load_context(session: Session, ref: PartnerRef) -> PartnerContext:
    provider = session.get(Provider, ref.provider_id)
    if provider is None:
        raise UnknownPartyError(f"unknown provider {ref.provider_id!r}")
    reseller = session.get(Reseller, ref.reseller_team_id)
    if reseller is None:
        raise UnknownPartyError(f"unknown reseller {ref.reseller_team_id!r}")
    return PartnerContext(
        provider_name=provider.name,
        reseller_name=reseller.name,
        program=ProgramSettings.model_validate(provider.program),
    )


def _upsert_listing(session: Session, record: TransitionRecord) -> None:
    entry = session.get(PreferredListEntry, (record.provider_id, record.reseller_team_id))
    if entry is None:
        entry = PreferredListEntry(
            provider_id=record.provider_id,
            reseller_team_id=record.reseller_team_id,
            workflow_id=record.workflow_id,
            last_sequence=0,
        )
        session.add(entry)
    elif (
        entry.partnership_id == record.partnership_id
        and entry.last_sequence > record.transition.sequence
    ):
        return  # a later transition of this partnership is already on the list
    entry.partnership_id = record.partnership_id
    entry.status = record.status.value
    entry.tier = record.tier.value
    entry.enrolled_at = record.enrolled_at
    entry.grace_deadline = record.grace_deadline
    entry.last_sequence = record.transition.sequence
    entry.updated_at = record.transition.at


def _transition_row(record: TransitionRecord) -> TransitionLogEntry:
    t = record.transition
    return TransitionLogEntry(
        idempotency_key=record.idempotency_key,
        workflow_id=record.workflow_id,
        provider_id=record.provider_id,
        reseller_team_id=record.reseller_team_id,
        sequence=t.sequence,
        at=t.at,
        from_status=t.from_status.value if t.from_status else None,
        to_status=t.to_status.value,
        from_tier=t.from_tier.value,
        to_tier=t.to_tier.value,
        reason=t.reason,
        actor=t.actor.value,
        actor_id=t.actor_id,
    )


def _note_row(record: NoteRecord) -> PartnerNote:
    note = record.note
    return PartnerNote(
        idempotency_key=record.idempotency_key,
        provider_id=record.provider_id,
        reseller_team_id=record.reseller_team_id,
        kind=note.kind.value,
        text=note.text,
        author=note.author,
        visibility=note.visibility.value,
        created_at=note.at,
    )


def _write(session: Session, writes: PartnerWrites) -> list[TransitionRecord]:
    """The transitions, the offer access and the notes not yet written; the transitions it
    wrote."""
    written = []
    for record in writes.transitions:
        if not already_recorded(session, TransitionLogEntry, record.idempotency_key):
            session.add(_transition_row(record))
            _upsert_listing(session, record)
            written.append(record)
    for change in writes.access:
        apply_access_change(session, change)
    for note in writes.notes:
        if not already_recorded(session, PartnerNote, note.idempotency_key):
            session.add(_note_row(note))
    return written


def _tell(written: list[TransitionRecord]) -> None:
    """Count and log the transitions once they are committed."""
    for record in written:
        t = record.transition
        count_transition(t.to_status.value, t.actor.value)
        activity.logger.info(
            "%s: %s -> %s (%s)", record.workflow_id, t.from_status, t.to_status, t.reason
        )


class Outbox(Protocol):
    def record_in(self, session: Session, request: NotificationRequest) -> Notification: ...


class PartnerRecordActivities:
    """Keeps the preferred list, the transition log and the notes current."""

    def __init__(self, db: Database, outbox: Outbox) -> None:
        self._db = db
        self._outbox = outbox

    @activity.defn(name=ActivityName.LOAD_PARTNER_CONTEXT)
    def load_partner_context(self, ref: PartnerRef) -> PartnerContext:
        with self._db.transaction() as session:
            return load_context(session, ref)

    @activity.defn(name=ActivityName.RECORD_TRANSITION)
    def record_transition(self, record: TransitionRecord) -> WriteResult:
        """Append the transition to the log and update the preferred list, in one transaction."""
        written = insert_once(
            self._db,
            _transition_row(record),
            also=lambda session: _upsert_listing(session, record),
        )
        _tell([record] if written else [])
        return WriteResult(written=written)

    @activity.defn(name=ActivityName.RECORD_NOTE)
    def record_note(self, record: NoteRecord) -> WriteResult:
        return WriteResult(written=insert_once(self._db, _note_row(record)))

    @activity.defn(name=ActivityName.ENROLL_PARTNER)
    def enroll_partner(self, write: EnrollmentWrite) -> EnrollmentWritten:
        """An enrollment's reads and writes at once (run as a local activity) in one
        transaction: the program, the tier check, the metrics, then the welcome in the outbox,
        told those metrics, the transition, the listing, the offer access and the note. A retry
        finds its keys and writes nothing twice."""
        with self._db.transaction() as session:
            context = load_context(session, write)
            if write.tier not in context.program.partner_tiers:
                raise ApplicationError(
                    f"this program has a single tier: {write.tier.value} is not available, "
                    "use silver",
                    type="InvalidRequest",
                    non_retryable=True,
                    category=ApplicationErrorCategory.BENIGN,
                )
            metrics = partner_metrics_in(
                session,
                MetricsRequest(
                    provider_id=write.provider_id,
                    reseller_team_id=write.reseller_team_id,
                    as_of=write.as_of,
                    window_days=context.program.metrics_window_days,
                ),
            )
            messages = []
            if write.welcome is not None:
                told = write.welcome.context.model_copy(update={"metrics": metrics})
                messages.append(write.welcome.model_copy(update={"context": told}))
            written = self._write_with_messages(
                session,
                PartnerWrites(
                    provider_id=write.provider_id,
                    reseller_team_id=write.reseller_team_id,
                    transitions=[write.transition],
                    access=[write.access],
                    notes=[write.note] if write.note else [],
                    messages=messages,
                ),
            )
        _tell(written)
        return EnrollmentWritten(context=context, metrics=metrics)

    @activity.defn(name=ActivityName.RECORD_PARTNER_WRITES)
    def record_partner_writes(self, writes: PartnerWrites) -> PartnerWritten:
        """One step's writes at once (run as a local activity), in one transaction: the
        messages in the outbox, the transitions, the offer access and the notes. A retry finds
        its keys and writes nothing twice."""
        with self._db.transaction() as session:
            written = self._write_with_messages(session, writes)
        _tell(written)
        return PartnerWritten(
            transitions=[record.transition for record in written],
            messages=[message.idempotency_key for message in writes.messages],
        )

    def _write_with_messages(
        self, session: Session, writes: PartnerWrites
    ) -> list[TransitionRecord]:
        """The messages into the outbox, then the transitions, the offer access and the notes,
        all in the session's transaction; the transitions written."""
        for message in writes.messages:
            self._outbox.record_in(session, message)
        return _write(session, writes)
