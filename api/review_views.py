"""Program reviews as the API shows them, and the body that starts one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, ConfigDict, Field

from api.views import ApiModel
from clients.review_schedules import ReviewScheduleState, ScheduleRun
from models.review import (
    MONTH_LABEL,
    PERIOD_LABEL,
    QUARTER_LABEL,
    Assessment,
    FanOut,
    ProgramReport,
    ReviewCadence,
    ReviewPeriod,
    TierFigures,
    acts_on,
    audit_reason,
    window_text,
)
from services.review_preview import ReviewPreview
from services.reviews import ReviewRecord, SnapshotRecord

PERIOD = Field(
    default=None,
    max_length=20,
    json_schema_extra={"pattern": PERIOD_LABEL},
    description="2026-11 (monthly) or 2026-Q4 (quarterly); left out: the last period ended.",
)


class ReviewBody(ApiModel):
    model_config = ApiModel.model_config | ConfigDict(
        json_schema_extra={
            "if": {"properties": {"cadence": {"const": ReviewCadence.MONTHLY.value}}},
            "then": {"properties": {"period": {"pattern": MONTH_LABEL}}},
            "else": {"properties": {"period": {"pattern": QUARTER_LABEL}}},
        }
    )

    cadence: ReviewCadence
    period: str | None = PERIOD
    dry_run: bool = Field(
        default=False,
        description="Only preview: answer 200 with what the review would decide for each "
        "reseller and the counts by standing, with no signal, message or write.",
    )


class ReviewStarted(ApiModel):
    review_id: str
    cadence: ReviewCadence
    period: str
    started: bool = Field(
        description="False when this period's review had already been started: nothing new runs."
    )
    location: str = Field(description="Where to read the review.")
    audit: bool = Field(
        default=False,
        description="True when the period is not the last one ended: the review is a "
        "past-period audit that assesses and reports, wakes no partner and sends no message.",
    )
    audit_reason: str | None = Field(default=None, description="Why it is an audit.")


class ReviewStatus(StrEnum):
    OPENING = "opening"
    RUNNING = "running"
    COMPLETED = "completed"
    STOPPED = "stopped"


class AssessmentView(Assessment):
    """Every reseller assessed, counted by standing."""

    model_config = ApiModel.model_config


class FanOutView(FanOut):
    """The partners woken: review signals, and signal-with-start for new candidates."""

    model_config = ApiModel.model_config


class TierFiguresView(TierFigures):
    model_config = ApiModel.model_config


class ReportView(ProgramReport):
    """The program report: enrollment, retention, graduations, and the orders by tier."""

    model_config = ApiModel.model_config

    # The same figures, shown in camelCase like the rest.
    by_tier: list[TierFiguresView]  # type: ignore[assignment]


class ReviewListItem(ApiModel):
    review_id: str
    cadence: ReviewCadence
    period: str
    period_start: AwareDatetime
    period_end: AwareDatetime
    program_version: int
    started_at: AwareDatetime
    completed_at: AwareDatetime | None
    resellers: int | None = Field(description="Resellers assessed; null until assessed.")
    standings: dict[str, int] | None

    @classmethod
    def of(cls, record: ReviewRecord) -> ReviewListItem:
        assessment = record.assessment
        return cls(
            **record.model_dump(
                include={
                    "review_id",
                    "cadence",
                    "period",
                    "period_start",
                    "period_end",
                    "program_version",
                    "started_at",
                    "completed_at",
                }
            ),
            resellers=assessment.resellers if assessment else None,
            standings=assessment.standings if assessment else None,
        )


class ReviewView(ApiModel):
    """One review. Until it has opened (`status: opening`) its window, program version and
    stages are null; each stage's figures appear as it finishes."""

    review_id: str
    provider_id: str
    cadence: ReviewCadence
    period: str
    period_start: AwareDatetime
    period_end: AwareDatetime
    status: ReviewStatus = Field(
        description="opening (started, not recorded yet), running, completed, or stopped "
        "(it failed or was terminated: POST /provider/reviews starts it again)."
    )
    window_start: AwareDatetime | None = Field(description="The metrics window's start.")
    window_end: AwareDatetime | None = Field(description="Its end, exclusive.")
    window: str = Field(
        description="The metrics window as people read it, first and last day: the period "
        "itself, e.g. '1 July – 30 September 2026'."
    )
    program_version: int | None = Field(description="The program version the review applies.")
    started_at: AwareDatetime | None
    completed_at: AwareDatetime | None
    audit: bool = Field(
        description="True for a past-period audit (its period was not the last one ended when "
        "it started): it assesses and reports, and changes no partner's status."
    )
    audit_reason: str | None = Field(description="Why it is an audit; null when it acts.")
    assessment: AssessmentView | None
    fan_out: FanOutView | None
    report: ReportView | None

    @classmethod
    def of(cls, record: ReviewRecord, status: ReviewStatus) -> ReviewView:
        return cls.model_validate({**record.model_dump(), "status": status})

    @classmethod
    def opening(
        cls, review_id: str, provider_id: str, period: ReviewPeriod, at: datetime
    ) -> ReviewView:
        """A review whose workflow runs but has not recorded it yet: only its period is known,
        and whether it acts, as of `at`."""
        audit = not acts_on(period, at)
        return cls(
            review_id=review_id,
            provider_id=provider_id,
            cadence=period.cadence,
            period=period.label,
            period_start=period.start,
            period_end=period.end,
            status=ReviewStatus.OPENING,
            window_start=None,
            window_end=None,
            window=window_text(period.start, period.end),
            program_version=None,
            started_at=None,
            completed_at=None,
            audit=audit,
            audit_reason=audit_reason(period) if audit else None,
            assessment=None,
            fan_out=None,
            report=None,
        )


class SnapshotView(SnapshotRecord):
    """One reseller at the review: its standing before and after, and its metrics then."""

    model_config = ApiModel.model_config


class ReviewDryRun(ReviewPreview):
    """A review's dry run: each reseller's standing as the review would find it, the criteria
    it would fail with value and threshold, and the counts by standing. Nothing was written,
    signalled or sent; the review run afterwards on the same data decides the same."""

    model_config = ApiModel.model_config

    dry_run: bool = Field(default=True, description="Always true: a preview, nothing done.")
    partners: Sequence[SnapshotView]
    page: int = Field(ge=1)
    page_size: int = Field(ge=1)

    @classmethod
    def of(cls, preview: ReviewPreview, page: int, page_size: int) -> ReviewDryRun:
        return cls.model_validate({**preview.model_dump(), "page": page, "page_size": page_size})


class ScheduleRunView(ScheduleRun):
    model_config = ApiModel.model_config


class ScheduleView(ReviewScheduleState):
    model_config = ApiModel.model_config

    recent_runs: list[ScheduleRunView] = Field(  # type: ignore[assignment]
        description="The latest first."
    )


class ReviewSchedules(ApiModel):
    """The provider's review Schedules: operators pause and resume them in the Temporal UI."""

    provider_id: str
    schedules: list[ScheduleView]
