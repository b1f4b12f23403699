"""A provider's program settings, and the history of every version put in force.

`Provider.program` holds the settings the workflows read on their next action;
`Provider.program_version` and the settings' own `version` name that version,
and `ProgramVersion` keeps each one. A change writes all three in one
transaction, and a change that changes nothing writes nothing.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.program import Frozen, ProgramSettings
from models.schema import ProgramVersion, Provider
from services.errors import ConflictError, NotFoundError

INITIAL_AUTHOR = "initial settings"
"""Who the history names for the settings a provider started with, where none was recorded."""


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
    version = current.version + 1
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
