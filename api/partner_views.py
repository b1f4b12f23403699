"""Partners as the API shows them, and the bodies of the requests that steer them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from api.views import ApiModel
from models.metrics import CriterionResult, MetricsView, PartnerMetrics, next_tier
from models.partner import (
    REASON_PATTERN,
    ActorKind,
    IssueResponse,
    IssueSeverity,
    NoteKind,
    NoteVisibility,
    PartnerState,
    PartnerStatus,
    reason_problem,
)
from models.program import NOT_BLANK, GraceDays, ProgramSettings, Text, Tier
from models.wire import PATH_ID_PATTERN
from services.enrollment import override_problem

TEAM_ID_PATTERN = PATH_ID_PATTERN
TEAM_ID = Field(min_length=1, max_length=200, pattern=TEAM_ID_PATTERN)
TEXT = Field(min_length=1, max_length=4000, json_schema_extra={"pattern": NOT_BLANK})
"""A reason or a note: some text that is not all blank, with no NUL."""


def _stated(reason: str) -> str:
    problem = reason_problem(reason)
    if problem:
        raise ValueError(problem)
    return reason


StatedReason = Annotated[
    Text,
    Field(
        min_length=5,
        max_length=4000,
        description="Why, in at least three words: the partner is told.",
        json_schema_extra={"pattern": REASON_PATTERN},
    ),
    AfterValidator(_stated),
]
"""The reason for a removal, a block or a flag at risk, which the partner reads."""
OfferId = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]


def _aware(value: AwareDatetime | date | None) -> datetime | None:
    """A bare date means midnight UTC of that day."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.combine(value, time(), tzinfo=UTC)


PartnerTier = Annotated[
    Tier,
    WithJsonSchema(
        {"type": "string", "enum": ["silver", "gold", "preferred", "strategic"]}, mode="validation"
    ),
]
"""A tier a partner can hold: silver or gold, by the program documents' names too."""


class EnrollBody(ApiModel):
    reseller_team_id: str = TEAM_ID
    tier: PartnerTier = Field(
        default=Tier.SILVER, description='silver or gold; "preferred" and "strategic" also work'
    )
    effective_date: AwareDatetime | date | None = Field(
        default=None, description="Enroll on this date instead of now (a date means 00:00 UTC)."
    )
    notes: Text | None = Field(default=None, max_length=4000)
    override: bool = Field(
        default=False,
        description="Enroll although the reseller misses the tier's criteria (a 409 lists "
        "them otherwise); `notes` must say why.",
    )
    requested_by: Text = Field(default="api", min_length=1, max_length=200)
    request_id: Text | None = Field(
        default=None, max_length=200, description="Repeat a request with the same ID safely."
    )

    @model_validator(mode="after")
    def _override_says_why(self) -> EnrollBody:
        problem = override_problem(self.override, self.notes)
        if problem:
            raise ValueError(problem)
        return self

    @property
    def effective_at(self) -> datetime | None:
        return _aware(self.effective_date)


class ActionBody(ApiModel):
    requested_by: Text = Field(default="api", min_length=1, max_length=200)
    request_id: Text | None = Field(default=None, max_length=200)


class ReasonBody(ActionBody):
    reason: Text = TEXT


class AtRiskBody(ReasonBody):
    reason: StatedReason
    grace_days: GraceDays | None = Field(
        default=None, description="30-60; the program's by default."
    )


class GraceBody(ReasonBody):
    deadline: AwareDatetime | date

    @field_validator("deadline")
    @classmethod
    def _as_datetime(cls, value: AwareDatetime | date) -> datetime:
        aware = _aware(value)
        assert aware is not None
        return aware


class BlockBody(ReasonBody):
    reason: StatedReason
    offer_ids: list[OfferId] = Field(
        default_factory=list, max_length=1000, description="Leave empty to block every offer."
    )


class TierBody(ReasonBody):
    tier: PartnerTier


NOTE_VISIBILITY = (
    "internal notes are the provider's own; `partner` notes are shown to the reseller in its portal"
)


class NoteBody(ActionBody):
    kind: NoteKind = NoteKind.OTHER
    text: Text = TEXT
    visibility: NoteVisibility = Field(default=NoteVisibility.INTERNAL, description=NOTE_VISIBILITY)


class IssueBody(ReasonBody):
    severity: IssueSeverity = Field(
        default=IssueSeverity.MINOR,
        description="minor climbs the progressive response one step, serious two.",
    )


class CriterionView(ApiModel):
    name: str
    label: str
    required: float
    actual: float | None
    met: bool
    no_data: bool = Field(
        default=False,
        description="Nothing to measure yet (no ratings yet, no orders): `actual` is null.",
    )
    text: str = Field(default="", description="As a person reads it: 'rating: no ratings yet'.")

    @model_validator(mode="before")
    @classmethod
    def _from_result(cls, value: Any) -> Any:
        if isinstance(value, CriterionResult):
            fields = value.model_dump(exclude={"at_most"})
            return {**fields, "no_data": value.no_data, "text": value.describe()}
        return value


class NextTierView(ApiModel):
    tier: Tier
    criteria: list[CriterionView] = Field(description="What the tier requires, against today.")


class TransitionView(ApiModel):
    sequence: int
    at: datetime
    from_status: PartnerStatus | None
    to_status: PartnerStatus
    from_tier: Tier
    to_tier: Tier
    reason: str
    actor: ActorKind
    actor_id: str | None


class NoteView(ApiModel):
    sequence: int
    at: datetime
    kind: NoteKind
    text: str
    author: str
    visibility: NoteVisibility = Field(description=NOTE_VISIBILITY)


class IssueView(ApiModel):
    sequence: int = Field(description="The note that records it.")
    at: datetime
    reason: str
    severity: IssueSeverity
    response: IssueResponse


class PartnerView(ApiModel):
    provider_id: str
    reseller_team_id: str
    reseller_name: str | None = Field(default=None, description="The reseller's name.")
    status: PartnerStatus
    tier: Tier
    enrolled_at: datetime | None
    scheduled_enrollment_date: datetime | None
    grace_deadline: datetime | None
    at_risk_reason: str | None
    failed_criteria: list[CriterionView]
    blocked_offer_ids: list[str]
    metrics: MetricsView | None
    next_tier: NextTierView | None
    transitions: list[TransitionView]
    notes: list[NoteView]
    issues: list[IssueView] = Field(
        description="Issues reported within the program's issue window, and the response."
    )


class PartnerListItem(ApiModel):
    reseller_team_id: str
    reseller_name: str | None = Field(default=None, description="The reseller's name.")
    status: PartnerStatus
    tier: Tier
    enrolled_at: datetime | None
    grace_deadline: datetime | None
    updated_at: datetime


def next_tier_view(
    tier: Tier, metrics: PartnerMetrics | None, program: ProgramSettings | None
) -> NextTierView | None:
    """The tier above the partner's and each of its criteria against its metrics."""
    above = next_tier(tier, metrics, program) if metrics and program else None
    if above is None:
        return None
    return NextTierView(tier=above[0], criteria=[CriterionView.model_validate(r) for r in above[1]])


def partner_view(
    state: PartnerState, metrics: PartnerMetrics | None = None, reseller_name: str | None = None
) -> PartnerView:
    """The partner's state, with `metrics` if fresh ones were read, else the last ones it saw."""
    metrics = metrics or state.last_metrics
    scheduled = state.scheduled_enrollment
    return PartnerView(
        provider_id=state.provider_id,
        reseller_team_id=state.reseller_team_id,
        reseller_name=reseller_name,
        status=state.status,
        tier=state.tier,
        enrolled_at=state.enrolled_at,
        scheduled_enrollment_date=scheduled.effective_date if scheduled else None,
        grace_deadline=state.grace_deadline,
        at_risk_reason=state.at_risk_reason,
        failed_criteria=[CriterionView.model_validate(c) for c in state.failed_criteria],
        blocked_offer_ids=state.blocked_offer_ids,
        metrics=MetricsView.model_validate(metrics) if metrics else None,
        next_tier=next_tier_view(state.tier, metrics, state.program),
        transitions=[TransitionView.model_validate(t) for t in state.transitions],
        notes=[NoteView.model_validate(n) for n in state.notes],
        issues=[IssueView.model_validate(i) for i in state.issues],
    )
