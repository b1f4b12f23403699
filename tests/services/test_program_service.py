"""Program settings in the program database: versions, their history, and what workflows read."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import ORMExecuteState

from activities.partners import load_context
from devstack.demo_data import add_provider, add_reseller
from models.database import Database
from models.program import ProgramSettings
from models.records import PartnerRef
from models.schema import ProgramVersion, Provider
from models.sqlite_writes import turns_for
from services.errors import ConflictError, NotFoundError
from services.program import (
    INITIAL_AUTHOR,
    ProgramChange,
    ProgramUpdate,
    change_program,
    current_program,
    program_history,
)
from services.providers import create_provider

SEEDED = "seeded"
"""A provider written by seeding code: settings in force, no version recorded."""


@pytest.fixture
def seeded(db: Database) -> Database:
    with db.transaction() as session:
        add_provider(session, SEEDED, "Seeded")
        add_reseller(session, "team-a")
    return db


def change(db: Database, provider_id: str = SEEDED, **fields) -> ProgramUpdate:
    settings = ProgramSettings(**{"grace_period_days": 31, **fields})
    request = ProgramChange(settings=settings, changed_by="ops")
    with db.transaction() as session:
        return change_program(session, provider_id, request)


def recorded(db: Database, provider_id: str = SEEDED) -> list[tuple[int, str, int]]:
    """Each recorded version: its number, author, and the version inside its settings."""
    with db.transaction() as session:
        rows = session.scalars(
            select(ProgramVersion)
            .where(ProgramVersion.provider_id == provider_id)
            .order_by(ProgramVersion.version)
        )
        return [(row.version, row.changed_by, row.program["version"]) for row in rows]


def test_the_first_change_records_the_settings_it_replaces(seeded):
    with seeded.transaction() as session:
        before = current_program(session, SEEDED)
        created_at = session.get_one(Provider, SEEDED).created_at
    assert (before.version, before.changed_by, before.created_at) == (1, INITIAL_AUTHOR, created_at)

    update = change(seeded)
    assert update.changed and update.current.version == 2
    assert update.current.settings.grace_period_days == 31
    assert recorded(seeded) == [(1, INITIAL_AUTHOR, 1), (2, "ops", 2)]
    with seeded.transaction() as session:
        provider = session.get_one(Provider, SEEDED)
        assert (provider.program_version, provider.program["version"]) == (2, 2)
        assert provider.program["grace_period_days"] == 31
        initial = session.get_one(ProgramVersion, (SEEDED, 1))
        assert initial.program["grace_period_days"] == 45 and initial.created_at == created_at


def test_the_same_settings_again_make_no_version(seeded):
    change(seeded)
    again = change(seeded)
    assert not again.changed and again.current.version == 2
    assert again.current.changed_by == "ops"
    assert recorded(seeded) == [(1, INITIAL_AUTHOR, 1), (2, "ops", 2)]

    untouched = change(seeded, SEEDED, grace_period_days=45)
    assert untouched.changed and untouched.current.version == 3


def test_the_workflows_read_the_new_settings(seeded):
    change(seeded, auto_enroll=True)
    with seeded.transaction() as session:
        context = load_context(session, PartnerRef(provider_id=SEEDED, reseller_team_id="team-a"))
    assert (context.program.grace_period_days, context.program.auto_enroll) == (31, True)
    assert context.program.version == 2


def test_a_change_based_on_an_old_version_is_refused_and_writes_nothing(seeded):
    change(seeded)
    stale = ProgramChange(settings=ProgramSettings(), changed_by="late", expected_version=1)
    with pytest.raises(ConflictError, match="at version 2.*based on version 1"):
        with seeded.transaction() as session:
            change_program(session, SEEDED, stale)
    assert recorded(seeded)[-1] == (2, "ops", 2)
    fresh = stale.model_copy(update={"expected_version": 2})
    with seeded.transaction() as session:
        assert change_program(session, SEEDED, fresh).current.version == 3


@pytest.mark.real_clock  # a thread waits, with timeouts, on the real clock
@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_a_change_that_comes_while_another_is_computed_waits_and_builds_on_it(seeded):
    """SQLite has no row lock: reading the provider FOR UPDATE takes SQLite's write lock
    instead, so a rival change that comes while this one is computed waits for it and is
    then made from the settings it left, as PostgreSQL's row lock would have it."""
    rival: list[ProgramUpdate] = []
    thread = threading.Thread(target=lambda: rival.append(change(seeded, auto_enroll=True)))
    turns = turns_for(str(seeded.engine.url.database))

    def rival_comes(state: ORMExecuteState) -> None:
        if not thread.is_alive() and "max(program_versions.version)" in str(state.statement):
            thread.start()
            deadline = time.monotonic() + 30
            while turns.waiting == 0:  # the rival is queued behind this change's lock
                assert time.monotonic() < deadline, "the rival never waited"
                time.sleep(0.005)

    request = ProgramChange(settings=ProgramSettings(grace_period_days=33), changed_by="late")
    with seeded.transaction() as session:
        event.listen(session, "do_orm_execute", rival_comes)
        assert change_program(session, SEEDED, request).current.version == 2
        assert not rival, "the rival wrote while this change held the program"
    thread.join(timeout=30)
    assert [update.current.version for update in rival] == [3]
    assert recorded(seeded) == [(1, INITIAL_AUTHOR, 1), (2, "late", 2), (3, "ops", 3)]


def test_a_provider_created_with_its_first_version_is_not_recorded_twice(db):
    with db.transaction() as session:
        provider_id = create_provider(session, "Initech").provider_id
    change(db, provider_id)
    assert [v for v, _, _ in recorded(db, provider_id)] == [1, 2]
    assert recorded(db, provider_id)[0][1] == "partnerflow providers create"


def test_history_lists_unrecorded_settings_as_the_newest_version(db):
    with db.transaction() as session:
        add_provider(session, SEEDED, "Seeded", ProgramSettings(version=3))
    with db.transaction() as session:
        assert [r.version for r in program_history(session, SEEDED)[0]] == [3]
    change(db)
    change(db, grace_period_days=32)
    with db.transaction() as session:
        page, total = program_history(session, SEEDED, page=1, page_size=2)
        rest, _ = program_history(session, SEEDED, page=2, page_size=2)
    assert total == 3
    assert [(r.version, r.changed_by) for r in page + rest] == [
        (5, "ops"),
        (4, "ops"),
        (3, INITIAL_AUTHOR),
    ]
    assert page[0].settings.version == 5 and page[0].settings.grace_period_days == 32


def test_unknown_providers_are_not_found(db):
    with db.transaction() as session:
        with pytest.raises(NotFoundError, match="unknown provider 'nobody'"):
            current_program(session, "nobody")
