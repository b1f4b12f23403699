"""A partner's lifecycle: its states, its transitions, and the requests that drive it."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, Field, field_validator

from models.metrics import CriterionResult, PartnerMetrics
from models.program import Frozen, ProgramSettings, Text, Tier, storable, validate_grace_days

MAX_TEXT = 4000


class PartnerStatus(StrEnum):
    CANDIDATE = "candidate"
    PREFERRED = "preferred"
    AT_RISK = "at_risk"
    REMOVED = "removed"
    BLOCKED = "blocked"

    @property
    def on_preferred_list(self) -> bool:
        return self in (PartnerStatus.PREFERRED, PartnerStatus.AT_RISK)


class ActorKind(StrEnum):
    """Who caused a transition."""

    PROVIDER = "provider"
    REVIEW = "review"
    TIMER = "timer"
    PARTNER_LIFECYCLE = "partner_lifecycle"


class NoteKind(StrEnum):
    PERFORMANCE_REVIEW = "performance_review"
    WARNING = "warning"
    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    ISSUE = "issue"
    OTHER = "other"


class NoteVisibility(StrEnum):
    """Who reads a note: the provider alone, or the reseller too, in its portal."""

    INTERNAL = "internal"
    PARTNER = "partner"


class IssueSeverity(StrEnum):
    """How far one reported issue moves a partner up the progressive response."""

    MINOR = "minor"
    SERIOUS = "serious"

    @property
    def steps(self) -> int:
        return 2 if self is IssueSeverity.SERIOUS else 1


class IssueResponse(StrEnum):
    """The rungs of the progressive response that a reported issue can reach."""

    FRIENDLY_NOTICE = "friendly_notice"
    FORMAL_NOTICE = "formal_notice"
    AT_RISK = "at_risk"

    @classmethod
    def for_level(cls, level: int) -> IssueResponse:
        """The response to the `level`-th step of issues within the program's window."""
        return (cls.FRIENDLY_NOTICE, cls.FORMAL_NOTICE, cls.AT_RISK)[min(level, 3) - 1]


def _text(value: str, *, field: str) -> str:
    value = storable(value).strip()
    if not value:
        raise ValueError(f"{field} must not be empty")
    if len(value) > MAX_TEXT:
        raise ValueError(f"{field} is longer than {MAX_TEXT} characters")
    return value


REASON_MIN_WORDS = 3
REASON_PATTERN = r"^[^\x00]*[^\x00\s]+\s+[^\x00\s]+\s+[^\x00\s]+[^\x00]*$"
"""A reason the partner is told (removal, block, a flag at risk): at least three words, so
that it says why ("late deliveries since May", not "x"). The API and the CLI ask for it; the
workflows take any non-blank reason, as the histories recorded before the rule did."""


def reason_problem(reason: str) -> str | None:
    """What is wrong with `reason` as a reason a partner is told, or None if nothing."""
    if len(reason.split()) < REASON_MIN_WORDS:
        return (
            f"reason must say why in at least {REASON_MIN_WORDS} words, "
            'e.g. "late deliveries since May"'
        )
    return None


class ProviderAction(Frozen):
    """Base of every provider request: who asked, and an optional request ID for deduplication."""

    requested_by: Text = Field(default="provider", min_length=1, max_length=200)
    request_id: Text | None = Field(default=None, max_length=200)


class ReasonedAction(ProviderAction):
    reason: str

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        return _text(value, field="reason")


class EnrollmentRequest(ProviderAction):
    """Add a reseller to the preferred list, now or at a future effective date."""

    tier: Tier = Tier.SILVER
    effective_date: AwareDatetime | None = None
    notes: Text | None = Field(default=None, max_length=MAX_TEXT)
    override: bool = Field(
        default=False,
        description="The provider enrolls the reseller below the tier's criteria; `notes` "
        "says why, and the enrollment's transition records it.",
    )

    @field_validator("tier")
    @classmethod
    def _partner_tier(cls, tier: Tier) -> Tier:
        if tier is Tier.BRONZE:
            raise ValueError("enrollment tier must be silver (preferred) or gold (strategic)")
        return tier


class AtRiskFlag(ReasonedAction):
    """A provider flags a partner at risk; the grace period defaults to the program's."""

    grace_days: int | None = None

    @field_validator("grace_days")
    @classmethod
    def _grace(cls, days: int | None) -> int | None:
        return None if days is None else validate_grace_days(days)


class GraceChange(ReasonedAction):
    """Move a running grace period's deadline (it must stay 30-60 days after it began)."""

    deadline: AwareDatetime


class TierChange(ReasonedAction):
    tier: Tier

    @field_validator("tier")
    @classmethod
    def _partner_tier(cls, tier: Tier) -> Tier:
        if tier is Tier.BRONZE:
            raise ValueError("a partner's tier is silver or gold; remove the partner instead")
        return tier


class BlockRequest(ReasonedAction):
    """Block a partner from the listed offers, or from all the provider's offers if none.

    The partner's exclusive agreements on the blocked offers end with it.
    """

    offer_ids: list[Text] = Field(default_factory=list, max_length=1000)


class UnblockRequest(ReasonedAction):
    pass


class RemovalRequest(ReasonedAction):
    pass


class IssueReport(ReasonedAction):
    """A problem with a partner (late installs, a complaint): the progressive response answers
    it with a friendly notice, then a formal one, then puts the partner at risk."""

    severity: IssueSeverity = IssueSeverity.MINOR


class NoteInput(ProviderAction):
    kind: NoteKind = NoteKind.OTHER
    text: str
    visibility: NoteVisibility = NoteVisibility.INTERNAL

    @field_validator("text")
    @classmethod
    def _body(cls, value: str) -> str:
        return _text(value, field="note text")


class Nomination(Frozen):
    """A reseller that met the criteria in a review, or that someone nominated."""

    reason: str
    tier: Tier = Tier.SILVER
    metrics: PartnerMetrics | None = None
    review_id: str | None = None
    program: ProgramSettings | None = None
    """The program the review judged it by, which the workflow then need not read; absent
    from nominations made before it was carried."""


class ReviewSignal(Frozen):
    """A program review's finding for one partner: its metrics under the program then in force."""

    review_id: str = Field(min_length=1)
    reviewed_at: AwareDatetime
    metrics: PartnerMetrics
    program: ProgramSettings


class Note(Frozen):
    sequence: int
    at: AwareDatetime
    kind: NoteKind
    text: str
    author: str
    visibility: NoteVisibility = NoteVisibility.INTERNAL


class ReportedIssue(Frozen):
    """One reported issue as the workflow keeps it, to count the issues within the window."""

    sequence: int = Field(description="The sequence of the note that records it.")
    at: AwareDatetime
    reason: str
    severity: IssueSeverity
    response: IssueResponse


class Transition(Frozen):
    sequence: int
    at: AwareDatetime
    from_status: PartnerStatus | None
    to_status: PartnerStatus
    from_tier: Tier
    to_tier: Tier
    reason: str
    actor: ActorKind
    actor_id: str | None = None


class PartnerState(BaseModel):
    """Everything the workflow knows about one partner; carried over on continue-as-new."""

    provider_id: str
    reseller_team_id: str
    partnership_id: str = Field(
        description="Stable for one partnership across continue-as-new; keys its side effects."
    )
    status: PartnerStatus = PartnerStatus.CANDIDATE
    tier: Tier = Tier.BRONZE
    created_at: AwareDatetime
    candidate_since: AwareDatetime | None = None
    nominated: bool = False
    enrolled_at: AwareDatetime | None = None
    scheduled_enrollment: EnrollmentRequest | None = None
    at_risk_since: AwareDatetime | None = None
    grace_deadline: AwareDatetime | None = None
    failed_criteria: list[CriterionResult] = Field(default_factory=list)
    at_risk_reason: str | None = None
    status_before_block: PartnerStatus | None = None
    blocked_offer_ids: list[str] = Field(default_factory=list)
    last_metrics: PartnerMetrics | None = None
    last_review_id: str | None = None
    last_review_at: AwareDatetime | None = None
    program: ProgramSettings | None = None
    sequence: int = 0
    transitions: list[Transition] = Field(default_factory=list)
    notes: list[Note] = Field(default_factory=list)
    issues: list[ReportedIssue] = Field(
        default_factory=list, description="Issues reported within the program's issue window."
    )
    continued_runs: int = 0
    undelivered: list[str] = Field(
        default_factory=list,
        description="Outbox keys a run was still delivering when it continued as new.",
    )

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence

    def idempotency_key(self, workflow_id: str, event: str, sequence: int) -> str:
        return f"{workflow_id}/{self.partnership_id}/{sequence}/{event}"

    @property
    def is_closed(self) -> bool:
        return self.status is PartnerStatus.REMOVED


class PartnerWorkflowInput(Frozen):
    provider_id: str = Field(min_length=1, max_length=200, pattern=r"^[^/]+$")
    reseller_team_id: str = Field(min_length=1, max_length=200, pattern=r"^[^/]+$")
    state: PartnerState | None = None
    max_history_events: int = Field(
        default=10_000, ge=100, description="Continue-as-new once the history is this long."
    )


def days_left(deadline: datetime | None, now: datetime) -> int | None:
    """The calendar days (UTC) from `now` to a grace deadline, as the provider's dashboard and
    the reseller's portal both show them: 0 on its day."""
    if deadline is None:
        return None
    return max(0, (deadline.astimezone(UTC).date() - now.astimezone(UTC).date()).days)
