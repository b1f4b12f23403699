"""Program changes kept for their date: scheduled apart from the program in force, put in force
once, and never when cancelled or overtaken."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from devstack.demo_data import add_provider
from models.database import Database
from models.program import ProgramSettings
from models.program_change import ProgramChangeStatus
from models.schema import ProgramVersion, Provider
from services.errors import ConflictError
from services.program import (
    ProgramChange,
    ProgramSaved,
    cancel_scheduled,
    current_program,
    pending_change,
    save_change,
)
from store.program_changes import apply_change

NOW = datetime(2026, 12, 1, tzinfo=UTC)
LATER = NOW + timedelta(days=30)


@pytest.fixture
def acme(db: Database) -> Database:
    with db.transaction() as session:
        add_provider(session, "acme", "Acme")
    return db


def save(db: Database, effective_at: datetime | None, **fields: object) -> ProgramSaved:
    change = ProgramChange(settings=ProgramSettings.model_validate(fields), changed_by="ops")
    with db.transaction() as session:
        return save_change(session, "acme", change, effective_at=effective_at, now=NOW)


def in_force(db: Database) -> int:
    with db.transaction() as session:
        return current_program(session, "acme").settings.version


def test_a_dated_change_waits_and_is_applied_once(acme):
    saved = save(acme, LATER, grace_period_days=30)
    assert saved.scheduled is not None and saved.announce  # a shorter grace period tightens
    assert (saved.version, saved.current.version, in_force(acme)) == (2, 1, 1)
    with acme.transaction() as session:
        assert session.get(ProgramVersion, ("acme", 1)) is not None  # what it replaces, kept
        first = apply_change(session, "acme", 2, LATER)
    with acme.transaction() as session:
        again = apply_change(session, "acme", 2, LATER)
        assert pending_change(session, "acme") is None
        assert current_program(session, "acme").settings.grace_period_days == 30
    assert (first.status, first.changed) == (ProgramChangeStatus.APPLIED, True)
    assert (again.status, again.changed) == (ProgramChangeStatus.APPLIED, False)
    assert in_force(acme) == 2


def test_a_cancelled_change_is_never_applied_and_its_number_is_not_reused(acme):
    save(acme, LATER, grace_period_days=60)
    with pytest.raises(ConflictError, match="DELETE /provider/program/scheduled"):
        save(acme, None, grace_period_days=50)
    with acme.transaction() as session:
        cancelled = cancel_scheduled(session, "acme", NOW)
        applied = apply_change(session, "acme", 2, LATER)
    assert cancelled.status is ProgramChangeStatus.CANCELLED
    assert (applied.status, applied.changed, in_force(acme)) == (
        ProgramChangeStatus.CANCELLED,
        False,
        1,
    )
    assert save(acme, None, grace_period_days=50).version == 3


def test_a_change_overtaken_by_another_version_is_superseded(acme):
    save(acme, LATER, grace_period_days=60)
    with acme.transaction() as session:  # as if a version had been put in force some other way
        session.get_one(Provider, "acme").program_version = 5
    with acme.transaction() as session:
        applied = apply_change(session, "acme", 2, LATER)
    assert applied.status is ProgramChangeStatus.SUPERSEDED and not applied.changed


def test_the_same_settings_or_a_past_date_change_as_before(acme):
    same = save(acme, LATER)
    assert (same.changed, same.scheduled, same.version) == (False, None, 1)
    past = save(acme, NOW - timedelta(days=1), grace_period_days=60)
    assert (past.changed, past.scheduled, past.announce, in_force(acme)) == (True, None, False, 2)
