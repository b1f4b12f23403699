"""The partner's rows in the program database: written once per key, whatever the retries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.channels import LogChannel
from activities.notifications import NotificationActivities
from activities.partners import PartnerRecordActivities
from devstack.demo_data import add_provider, add_reseller
from models.database import Database
from models.delivery import OutboxStatus
from models.notifications import (
    NotificationContext,
    NotificationKind,
    NotificationRequest,
    Recipient,
)
from models.offers import OfferAccessChange
from models.partner import ActorKind, Note, NoteKind, PartnerStatus, Transition
from models.program import ProgramSettings, Tier
from models.records import (
    EnrollmentWrite,
    NoteRecord,
    PartnerRef,
    PartnerWrites,
    TransitionRecord,
)
from models.schema import Notification, PartnerNote, PreferredListEntry, TransitionLogEntry

PROVIDER = "acme"
RESELLER = "team-a"
WORKFLOW_ID = f"partner/{PROVIDER}/{RESELLER}"
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
PROGRAM = ProgramSettings(grace_period_days=40, tiers="single")


@pytest.fixture
def activities(db: Database) -> PartnerRecordActivities:
    with db.transaction() as session:
        add_provider(session, PROVIDER, "Acme Internet", PROGRAM)
        add_reseller(session, RESELLER, "Team A")
    return PartnerRecordActivities(db, NotificationActivities(db, LogChannel()))


def transition(
    sequence: int,
    to_status: PartnerStatus,
    *,
    tier: Tier = Tier.SILVER,
    partnership_id: str = "p1",
    grace_deadline: datetime | None = None,
) -> TransitionRecord:
    at = T0 + timedelta(days=sequence)
    return TransitionRecord(
        provider_id=PROVIDER,
        reseller_team_id=RESELLER,
        idempotency_key=f"{WORKFLOW_ID}/{partnership_id}/{sequence}/transition",
        workflow_id=WORKFLOW_ID,
        partnership_id=partnership_id,
        transition=Transition(
            sequence=sequence,
            at=at,
            from_status=None if sequence == 1 else PartnerStatus.PREFERRED,
            to_status=to_status,
            from_tier=Tier.BRONZE,
            to_tier=tier,
            reason=f"step {sequence}",
            actor=ActorKind.PROVIDER,
            actor_id="ops@acme",
        ),
        status=to_status,
        tier=tier,
        enrolled_at=T0,
        grace_deadline=grace_deadline,
    )


def log_rows(db: Database) -> list[TransitionLogEntry]:
    with db.transaction() as session:
        return list(session.scalars(select(TransitionLogEntry).order_by(TransitionLogEntry.id)))


def listing(db: Database) -> PreferredListEntry:
    with db.transaction() as session:
        entry = session.get(PreferredListEntry, (PROVIDER, RESELLER))
    assert entry is not None
    return entry


def welcome_message() -> NotificationRequest:
    return NotificationRequest(
        provider_id=PROVIDER,
        reseller_team_id=RESELLER,
        idempotency_key=f"{WORKFLOW_ID}/p1/welcome/1",
        kind=NotificationKind.WELCOME,
        recipient=Recipient.PARTNER,
        context=NotificationContext(tier=Tier.SILVER),
    )


def enrollment(welcome: NotificationRequest) -> EnrollmentWrite:
    """The enrollment as silver that the partner's first transition records."""
    ref = PartnerRef(provider_id=PROVIDER, reseller_team_id=RESELLER)
    return EnrollmentWrite(
        **ref.model_dump(),
        tier=Tier.SILVER,
        as_of=T0,
        transition=transition(1, PartnerStatus.PREFERRED),
        access=OfferAccessChange(**ref.model_dump(), tier=Tier.SILVER, reason="enrolled"),
        welcome=welcome,
    )


def removal(sequence: int = 2) -> PartnerWrites:
    """A removal by the grace deadline and the partner's notice of it."""
    return PartnerWrites(
        provider_id=PROVIDER,
        reseller_team_id=RESELLER,
        transitions=[transition(sequence, PartnerStatus.REMOVED)],
        messages=[
            NotificationRequest(
                provider_id=PROVIDER,
                reseller_team_id=RESELLER,
                idempotency_key=f"{WORKFLOW_ID}/p1/removed/{sequence}",
                kind=NotificationKind.REMOVED,
                recipient=Recipient.PARTNER,
                context=NotificationContext(tier=Tier.SILVER, reason="grace ended"),
            )
        ],
    )


def test_record_transition_twice_writes_one_row(
    db: Database, activities: PartnerRecordActivities
) -> None:
    env = ActivityEnvironment()
    record = transition(1, PartnerStatus.PREFERRED)
    assert env.run(activities.record_transition, record).written is True
    assert env.run(activities.record_transition, record).written is False

    rows = log_rows(db)
    assert len(rows) == 1
    row = rows[0]
    assert (row.idempotency_key, row.sequence) == (record.idempotency_key, 1)
    assert (row.from_status, row.to_status) == (None, "preferred")
    assert (row.from_tier, row.to_tier) == ("bronze", "silver")
    assert (row.actor, row.actor_id, row.reason) == ("provider", "ops@acme", "step 1")
    assert row.at == record.transition.at

    entry = listing(db)
    assert (entry.status, entry.tier, entry.last_sequence) == ("preferred", "silver", 1)
    assert entry.enrolled_at == T0
    assert entry.workflow_id == WORKFLOW_ID


def test_listing_follows_the_latest_sequence(
    db: Database, activities: PartnerRecordActivities
) -> None:
    env = ActivityEnvironment()
    deadline = T0 + timedelta(days=45)
    first = transition(1, PartnerStatus.PREFERRED)
    second = transition(2, PartnerStatus.AT_RISK, grace_deadline=deadline)
    env.run(activities.record_transition, first)
    env.run(activities.record_transition, second)

    entry = listing(db)
    assert (entry.status, entry.last_sequence, entry.grace_deadline) == ("at_risk", 2, deadline)

    # A late retry of the first transition (under a key the log has not seen, as
    # when its first attempt failed before committing) is logged, but the list
    # row keeps the later state.
    late = first.model_copy(update={"idempotency_key": f"{first.idempotency_key}/late"})
    assert env.run(activities.record_transition, late).written is True
    entry = listing(db)
    assert (entry.status, entry.last_sequence, entry.grace_deadline) == ("at_risk", 2, deadline)
    assert [r.sequence for r in log_rows(db)] == [1, 2, 1]


def test_a_new_partnership_replaces_the_listing(
    db: Database, activities: PartnerRecordActivities
) -> None:
    env = ActivityEnvironment()
    env.run(activities.record_transition, transition(5, PartnerStatus.REMOVED))
    # Enrolling again starts a new partnership whose sequence starts over.
    env.run(
        activities.record_transition,
        transition(1, PartnerStatus.PREFERRED, tier=Tier.GOLD, partnership_id="p2"),
    )
    entry = listing(db)
    assert (entry.partnership_id, entry.status, entry.tier, entry.last_sequence) == (
        "p2",
        "preferred",
        "gold",
        1,
    )


def test_record_note_twice_writes_one_note(
    db: Database, activities: PartnerRecordActivities
) -> None:
    env = ActivityEnvironment()
    record = NoteRecord(
        provider_id=PROVIDER,
        reseller_team_id=RESELLER,
        idempotency_key=f"{WORKFLOW_ID}/p1/3/note",
        note=Note(
            sequence=3, at=T0, kind=NoteKind.CALL, text="Discussed install delays", author="ops"
        ),
    )
    assert env.run(activities.record_note, record).written is True
    assert env.run(activities.record_note, record).written is False
    other = record.model_copy(update={"idempotency_key": f"{WORKFLOW_ID}/p1/4/note"})
    assert env.run(activities.record_note, other).written is True

    with db.transaction() as session:
        notes = list(session.scalars(select(PartnerNote).order_by(PartnerNote.id)))
        per_key = dict(
            session.execute(
                select(PartnerNote.idempotency_key, func.count()).group_by(
                    PartnerNote.idempotency_key
                )
            ).all()
        )
    assert per_key == {record.idempotency_key: 1, other.idempotency_key: 1}
    note = notes[0]
    assert (note.kind, note.text, note.author, note.created_at) == (
        "call",
        "Discussed install delays",
        "ops",
        T0,
    )


def test_load_partner_context(activities: PartnerRecordActivities) -> None:
    context = ActivityEnvironment().run(
        activities.load_partner_context,
        PartnerRef(provider_id=PROVIDER, reseller_team_id=RESELLER),
    )
    assert (context.provider_name, context.reseller_name) == ("Acme Internet", "Team A")
    assert context.program == PROGRAM


@pytest.mark.parametrize(
    ("provider_id", "reseller_team_id", "named"),
    [
        ("nobody", RESELLER, "unknown provider 'nobody'"),
        (PROVIDER, "ghost", "unknown reseller 'ghost'"),
    ],
)
def test_load_partner_context_unknown_party(
    activities: PartnerRecordActivities, provider_id: str, reseller_team_id: str, named: str
) -> None:
    with pytest.raises(ApplicationError, match=named) as raised:
        ActivityEnvironment().run(
            activities.load_partner_context,
            PartnerRef(provider_id=provider_id, reseller_team_id=reseller_team_id),
        )
    assert raised.value.non_retryable
    assert raised.value.type == "UnknownParty"


def test_an_enrollment_puts_its_welcome_in_the_outbox_once_with_its_metrics(
    db: Database, activities: PartnerRecordActivities
) -> None:
    welcome = welcome_message()
    write = enrollment(welcome)
    written = ActivityEnvironment().run(activities.enroll_partner, write)
    again = ActivityEnvironment().run(activities.enroll_partner, write)  # a retry

    assert again.metrics == written.metrics
    assert len(log_rows(db)) == 1
    with db.transaction() as session:
        rows = list(session.scalars(select(Notification)))
    assert [(r.idempotency_key, r.kind, r.status) for r in rows] == [
        (welcome.idempotency_key, "welcome", OutboxStatus.PENDING.value)
    ]
    assert "figures: none measured yet" not in rows[0].body  # told the enrollment's metrics
    assert "acceptance: " in rows[0].body


def test_a_steps_writes_are_made_once_across_a_retry(
    db: Database, activities: PartnerRecordActivities
) -> None:
    """A review's verdict: the transition (log and list), the offer access, a note and the
    notice in the outbox, by one activity; its retry writes nothing twice."""
    ref = PartnerRef(provider_id=PROVIDER, reseller_team_id=RESELLER)
    at_risk = transition(2, PartnerStatus.AT_RISK, grace_deadline=T0 + timedelta(days=45))
    notice = NotificationRequest(
        **ref.model_dump(),
        idempotency_key=f"{WORKFLOW_ID}/p1/at_risk_warning/2",
        kind=NotificationKind.AT_RISK_WARNING,
        recipient=Recipient.PARTNER,
        context=NotificationContext(tier=Tier.SILVER, reason="below standard"),
    )
    writes = PartnerWrites(
        **ref.model_dump(),
        transitions=[at_risk],
        access=[OfferAccessChange(**ref.model_dump(), tier=Tier.SILVER, reason="at risk")],
        notes=[
            NoteRecord(
                **ref.model_dump(),
                idempotency_key=f"{WORKFLOW_ID}/p1/3/note",
                note=Note(sequence=3, at=T0, kind=NoteKind.OTHER, text="why", author="review"),
            )
        ],
        messages=[notice],
    )
    first = ActivityEnvironment().run(activities.record_partner_writes, writes)
    again = ActivityEnvironment().run(activities.record_partner_writes, writes)  # a retry
    assert first.transitions == [at_risk.transition]
    assert again.transitions == []
    assert first.messages == again.messages == [notice.idempotency_key]

    assert [(row.sequence, row.to_status) for row in log_rows(db)] == [(2, "at_risk")]
    with db.transaction() as session:
        listed = session.get_one(PreferredListEntry, (PROVIDER, RESELLER))
        assert (listed.status, listed.grace_deadline) == ("at_risk", T0 + timedelta(days=45))
        assert [note.text for note in session.scalars(select(PartnerNote))] == ["why"]
        rows = list(session.scalars(select(Notification)))
    assert [(r.idempotency_key, r.kind, r.status) for r in rows] == [
        (notice.idempotency_key, "at_risk_warning", OutboxStatus.PENDING.value)
    ]


class _OutboxDownOnce(NotificationActivities):
    """The outbox's first recording fails, as on an outage at that moment."""

    failed = False

    def record_in(self, session: Session, request: NotificationRequest) -> Notification:
        if not self.failed:
            self.failed = True
            raise OperationalError("INSERT INTO notifications", {}, Exception("server closed"))
        return super().record_in(session, request)


def test_a_steps_message_and_transition_are_written_together_or_not_at_all(
    db: Database, activities: PartnerRecordActivities
) -> None:
    flaky = PartnerRecordActivities(db, _OutboxDownOnce(db, LogChannel()))
    writes = removal()

    with pytest.raises(OperationalError):
        ActivityEnvironment().run(flaky.record_partner_writes, writes)
    assert log_rows(db) == []  # no transition the partner was never told of

    ActivityEnvironment().run(flaky.record_partner_writes, writes)  # the retry
    assert [row.to_status for row in log_rows(db)] == ["removed"]
    with db.transaction() as session:
        keys = list(session.scalars(select(Notification.idempotency_key)))
    assert keys == [writes.messages[0].idempotency_key]


def test_an_enrollment_and_a_step_each_commit_once(
    db: Database, activities: PartnerRecordActivities
) -> None:
    """Each commit is a round trip on PostgreSQL and a sync of SQLite's log."""
    commits: list[object] = []
    event.listen(db.engine, "commit", commits.append)
    ActivityEnvironment().run(activities.enroll_partner, enrollment(welcome_message()))
    assert len(commits) == 1
    ActivityEnvironment().run(activities.record_partner_writes, removal())
    assert len(commits) == 2
