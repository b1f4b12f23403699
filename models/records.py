"""What the partner workflow writes to the program database, and what it reads back."""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from models.metrics import PartnerMetrics
from models.notifications import NotificationRequest
from models.offers import OfferAccessChange
from models.partner import Note, PartnerStatus, Transition
from models.program import Frozen, ProgramSettings, Tier


class PartnerRef(Frozen):
    provider_id: str
    reseller_team_id: str


class MetricsRequest(PartnerRef):
    as_of: AwareDatetime
    window_days: int = Field(ge=1)


class TransitionRecord(PartnerRef):
    """A transition, and the preferred-list row as it stands after it."""

    idempotency_key: str
    workflow_id: str
    partnership_id: str
    transition: Transition
    status: PartnerStatus
    tier: Tier
    enrolled_at: AwareDatetime | None
    grace_deadline: AwareDatetime | None


class NoteRecord(PartnerRef):
    idempotency_key: str
    note: Note


class WriteResult(Frozen):
    written: bool = Field(description="False when a retry found the row already written.")


class PartnerContext(Frozen):
    """What the workflow needs from the database before acting on a partner."""

    provider_name: str
    reseller_name: str
    program: ProgramSettings


class EnrollmentWrite(PartnerRef):
    """Everything an enrollment writes, done by one local activity in one workflow task.

    The activity checks the tier against the program, computes the metrics over
    the window ending at `as_of`, and records the transition, the offer access
    and the note, then puts the welcome in the outbox with those metrics; each
    write is keyed, so a retry writes nothing twice.
    """

    tier: Tier
    as_of: AwareDatetime
    transition: TransitionRecord
    access: OfferAccessChange
    note: NoteRecord | None = None
    welcome: NotificationRequest | None = None
    """Absent in histories from before PATCH_WELCOME_WITH_ENROLLMENT, whose workflow records
    the welcome by an activity of its own."""


class PartnerWrites(PartnerRef):
    """What one step of the workflow decided, written by one local activity in the workflow
    task that decided it: the transitions (log and list), the offer access, the notes and
    the messages in the outbox, in one transaction. Each write is keyed or idempotent, so a
    retry writes nothing twice."""

    transitions: list[TransitionRecord] = Field(default_factory=list)
    access: list[OfferAccessChange] = Field(default_factory=list)
    notes: list[NoteRecord] = Field(default_factory=list)
    messages: list[NotificationRequest] = Field(default_factory=list)


class PartnerWritten(Frozen):
    """What a PartnerWrites wrote, for the operator who opens its step in the UI."""

    transitions: list[Transition] = Field(
        description="The transitions written: all of them, unless a retry found them already."
    )
    messages: list[str] = Field(description="The outbox keys of the messages recorded.")


class EnrollmentWritten(Frozen):
    context: PartnerContext
    metrics: PartnerMetrics
