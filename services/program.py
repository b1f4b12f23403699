"""A provider's program settings, and the history of every version put in force.

`Provider.program` holds the settings the workflows read on their next action;
`Provider.program_version` and the settings' own `version` name that version,
and `ProgramVersion` keeps each one. A change writes all three in one
transaction, and a change that changes nothing writes nothing.

A change with a future effective date is kept apart (`ProgramChangeRow`, see
store/program_changes.py) until the program-change workflow puts it in force;
one waits at a time, and a change that tightens is recorded there too, for its
announcement.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, Field
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.program import Frozen, ProgramSettings
from models.program_change import ProgramChangeStatus, tightens
from models.schema import ProgramChangeRow, ProgramVersion, Provider
from services.errors import ConflictError, NotFoundError
from store.program_changes import INITIAL_AUTHOR as INITIAL_AUTHOR
from store.program_changes import (
    change_settings,
    keep_initial,
    next_version,
    scheduled_change,
)


class ProgramRecord(Frozen):
    """One version of a provider's program: the settings, who put them in force, and when."""

    version: int = Field(ge=1)
    settings: ProgramSettings
    changed_by: str
    created_at: datetime


class ProgramChange(Frozen):
    """New settings for a provider's program.

    `expected_version`, when given, is the version the new settings were based on: if the
    program has moved on since, the change is refused instead of undoing another's change.
    """

    settings: ProgramSettings
    changed_by: str = Field(min_length=1, max_length=200)
    expected_version: int | None = Field(default=None, ge=1)


class ProgramUpdate(Frozen):
    """What a change did: the program now, and whether it made a new version."""

    current: ProgramRecord
    changed: bool


_RACED = (
    "the program was changed by another request at the same moment: read it again and "
    "apply your change to it"
)


def _provider(session: Session, provider_id: str, *, lock: bool = False) -> Provider:
    # Locked for a change, so that two changes at once make two versions, one after the other,
    # each from the settings the other left (read afresh, not from the session's memory).
    provider = session.get(Provider, provider_id, with_for_update=lock, populate_existing=lock)
    if provider is None:
        raise NotFoundError(f"unknown provider {provider_id!r}")
    return provider


def _settings(provider: Provider) -> ProgramSettings:
    """The program in force, named by the provider's version column."""
    settings = ProgramSettings.model_validate(provider.program)
    return settings.model_copy(update={"version": provider.program_version})


def _initial(provider: Provider) -> ProgramRecord:
    """The settings in force when no version of them was recorded (providers created by
    seeding code before versions were kept)."""
    return ProgramRecord(
        version=provider.program_version,
        settings=_settings(provider),
        changed_by=INITIAL_AUTHOR,
        created_at=provider.created_at,
    )


def _record(row: ProgramVersion) -> ProgramRecord:
    settings = ProgramSettings.model_validate(row.program)
    return ProgramRecord(
        version=row.version,
        settings=settings.model_copy(update={"version": row.version}),
        changed_by=row.changed_by,
        created_at=row.created_at,
    )


def _current_row(session: Session, provider: Provider) -> ProgramVersion | None:
    return session.get(ProgramVersion, (provider.id, provider.program_version))


def current_program(session: Session, provider_id: str, *, lock: bool = False) -> ProgramRecord:
    """The program in force, with who put it in force and when; `lock` holds it until the
    transaction ends, for a change computed from it."""
    provider = _provider(session, provider_id, lock=lock)
    row = _current_row(session, provider)
    return _record(row) if row is not None else _initial(provider)


def change_program(session: Session, provider_id: str, change: ProgramChange) -> ProgramUpdate:
    """Put new settings in force as the next version; the same settings again change nothing."""
    provider = _provider(session, provider_id, lock=True)
    current = _settings(provider)
    if change.expected_version is not None and change.expected_version != current.version:
        raise ConflictError(
            f"the program is at version {current.version}, and these settings were based on "
            f"version {change.expected_version}: read it again and apply your change to it"
        )
    wanted = change.settings.model_copy(update={"version": current.version})
    if wanted.model_dump() == current.model_dump():
        return ProgramUpdate(current=current_program(session, provider_id), changed=False)
    latest = session.scalar(
        select(func.max(ProgramVersion.version)).where(ProgramVersion.provider_id == provider.id)
    )
    if latest is not None and latest > current.version:
        # Another change committed between reading the provider and reading its versions:
        # a version after it, built from the settings read, would undo that change.
        raise ConflictError(_RACED)
    version = next_version(session, provider)
    new = wanted.model_copy(update={"version": version})
    if _current_row(session, provider) is None:
        session.add(
            ProgramVersion(
                provider_id=provider.id,
                version=current.version,
                program=current.model_dump(mode="json"),
                changed_by=INITIAL_AUTHOR,
                created_at=provider.created_at,
            )
        )
    row = ProgramVersion(
        provider_id=provider.id,
        version=version,
        program=new.model_dump(mode="json"),
        changed_by=change.changed_by,
    )
    session.add(row)
    provider.program = new.model_dump(mode="json")
    provider.program_version = version
    try:
        # Written only here: the versions' primary key decides a race that the lock could not
        # prevent (SQLite has no row locks).
        session.flush()
    except IntegrityError as error:
        raise ConflictError(_RACED) from error
    return ProgramUpdate(current=_record(row), changed=True)


def program_history(
    session: Session, provider_id: str, *, page: int = 1, page_size: int = 50
) -> tuple[list[ProgramRecord], int]:
    """One page of the program's versions, newest first, and how many there are in all."""
    provider = _provider(session, provider_id)
    # Settings in force but never recorded are listed as their version, ahead of older ones.
    unrecorded = [] if _current_row(session, provider) is not None else [_initial(provider)]
    query = select(ProgramVersion).where(ProgramVersion.provider_id == provider.id)
    total = (session.scalar(select(func.count()).select_from(query.subquery())) or 0) + len(
        unrecorded
    )
    start = (page - 1) * page_size
    head = unrecorded[start : start + page_size]
    rows = session.scalars(
        query.order_by(ProgramVersion.version.desc())
        .offset(max(start - len(unrecorded), 0))
        .limit(page_size - len(head))
    )
    return head + [_record(row) for row in rows], total


class ScheduledChange(Frozen):
    """A change kept apart from the program in force: waiting for its date, or settled."""

    version: int = Field(ge=1)
    based_on: int = Field(ge=1)
    settings: ProgramSettings
    changed_by: str
    created_at: datetime
    effective_at: AwareDatetime
    status: ProgramChangeStatus


class ProgramSaved(Frozen):
    """What saving a change did: the program in force now, the change waiting for its date
    (if it has one), and whether the program-change workflow must announce or apply it."""

    current: ProgramRecord
    scheduled: ScheduledChange | None = None
    changed: bool
    version: int = Field(ge=1, description="The version the change made (or the one in force).")
    announce: bool = False


def _scheduled(row: ProgramChangeRow) -> ScheduledChange:
    return ScheduledChange(
        version=row.version,
        based_on=row.based_on,
        settings=change_settings(row),
        changed_by=row.changed_by,
        created_at=row.created_at,
        effective_at=row.effective_at,
        status=ProgramChangeStatus(row.status),
    )


def pending_change(session: Session, provider_id: str) -> ScheduledChange | None:
    """The change waiting for its date, if any."""
    row = scheduled_change(session, provider_id)
    return _scheduled(row) if row is not None else None


def _refuse_while_scheduled(session: Session, provider_id: str) -> None:
    pending = scheduled_change(session, provider_id, lock=True)
    if pending is not None:
        raise ConflictError(
            f"version {pending.version} of the program is scheduled to take effect on "
            f"{pending.effective_at:%Y-%m-%d %H:%M} UTC: cancel it first with "
            "DELETE /provider/program/scheduled, then save your change"
        )


def _record_change(
    session: Session,
    provider: Provider,
    settings: ProgramSettings,
    *,
    based_on: int,
    changed_by: str,
    status: ProgramChangeStatus,
    effective_at: datetime,
) -> ProgramChangeRow:
    row = ProgramChangeRow(
        provider_id=provider.id,
        version=settings.version,
        based_on=based_on,
        program=settings.model_dump(mode="json"),
        changed_by=changed_by,
        status=status.value,
        effective_at=effective_at,
        settled_at=effective_at if status is ProgramChangeStatus.APPLIED else None,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError as error:
        raise ConflictError(_RACED) from error
    return row


def save_change(
    session: Session,
    provider_id: str,
    change: ProgramChange,
    *,
    effective_at: datetime | None,
    now: datetime,
) -> ProgramSaved:
    """Put a change in force now, or keep it for its effective date.

    Refused while another change is scheduled (cancel that one first): a change is always
    based on the program that will be in force when it applies. A change that tightens the
    criteria is recorded apart too, as the announcement its workflow sends.
    """
    provider = _provider(session, provider_id, lock=True)
    _refuse_while_scheduled(session, provider_id)
    old = _settings(provider)
    if effective_at is None or effective_at <= now:
        update = change_program(session, provider_id, change)
        new = update.current.settings
        announce = update.changed and tightens(old, new)
        if announce:
            _record_change(
                session,
                provider,
                new,
                based_on=old.version,
                changed_by=change.changed_by,
                status=ProgramChangeStatus.APPLIED,
                effective_at=now,
            )
        return ProgramSaved(
            current=update.current, changed=update.changed, version=new.version, announce=announce
        )
    if change.expected_version is not None and change.expected_version != old.version:
        change_program(session, provider_id, change)  # refuses it, with the same words
    wanted = change.settings.model_copy(update={"version": old.version})
    if wanted.model_dump() == old.model_dump():
        return ProgramSaved(
            current=current_program(session, provider_id), changed=False, version=old.version
        )
    keep_initial(session, provider)
    new = wanted.model_copy(update={"version": next_version(session, provider)})
    row = _record_change(
        session,
        provider,
        new,
        based_on=old.version,
        changed_by=change.changed_by,
        status=ProgramChangeStatus.SCHEDULED,
        effective_at=effective_at,
    )
    return ProgramSaved(
        current=current_program(session, provider_id),
        scheduled=_scheduled(row),
        changed=True,
        version=new.version,
        announce=tightens(old, new),
    )


def cancel_scheduled(session: Session, provider_id: str, now: datetime) -> ScheduledChange:
    """Cancel the change waiting for its date: it is never put in force."""
    _provider(session, provider_id, lock=True)
    row = scheduled_change(session, provider_id, lock=True)
    if row is None:
        raise NotFoundError("no change of the program is scheduled")
    row.status, row.settled_at = ProgramChangeStatus.CANCELLED.value, now
    session.flush()
    return _scheduled(row)
