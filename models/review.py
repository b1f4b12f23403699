"""Program reviews: the period a review covers, what it asks for and what it reports."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, Field

from models.delivery import OutboxDelivered
from models.program import Frozen, ProgramSettings

MONTH_LABEL = r"^(2[0-9]{3})-(0[1-9]|1[0-2])$"
QUARTER_LABEL = r"^(2[0-9]{3})-Q([1-4])$"
PERIOD_LABEL = r"^2[0-9]{3}-(0[1-9]|1[0-2]|Q[1-4])$"
"""A period's label, monthly or quarterly, as the OpenAPI document states it."""
_MONTH = re.compile(MONTH_LABEL)
_QUARTER = re.compile(QUARTER_LABEL)


class ReviewCadence(StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"

    @property
    def months(self) -> int:
        return 1 if self is ReviewCadence.MONTHLY else 3


def _month_start(year: int, month: int) -> datetime:
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return datetime(year, month, 1, tzinfo=UTC)


class ReviewPeriod(Frozen):
    """A calendar month (`2026-11`) or quarter (`2026-Q4`) in UTC, end exclusive."""

    cadence: ReviewCadence
    label: str
    start: AwareDatetime
    end: AwareDatetime

    @classmethod
    def starting(cls, cadence: ReviewCadence, start: datetime) -> ReviewPeriod:
        end = _month_start(start.year, start.month + cadence.months)
        if cadence is ReviewCadence.MONTHLY:
            label = f"{start.year}-{start.month:02d}"
        else:
            label = f"{start.year}-Q{(start.month - 1) // 3 + 1}"
        return cls(cadence=cadence, label=label, start=start, end=end)

    @classmethod
    def parse(cls, cadence: ReviewCadence, label: str) -> ReviewPeriod:
        """The period a label names, or a ValueError that shows the expected form."""
        if cadence is ReviewCadence.MONTHLY:
            match = _MONTH.match(label)
            if not match:
                raise ValueError(
                    f"a monthly review's period is YYYY-MM from 2000 on, like 2026-11: {label!r}"
                )
            return cls.starting(cadence, _month_start(int(match[1]), int(match[2])))
        match = _QUARTER.match(label)
        if not match:
            raise ValueError(
                f"a quarterly review's period is YYYY-Qn from 2000 on, like 2026-Q4: {label!r}"
            )
        return cls.starting(cadence, _month_start(int(match[1]), (int(match[2]) - 1) * 3 + 1))

    @classmethod
    def last_ended(cls, cadence: ReviewCadence, at: datetime) -> ReviewPeriod:
        """The latest period that ended at or before `at`: what a review fired at `at` covers."""
        at = at.astimezone(UTC)
        first_month = at.month - (at.month - 1) % cadence.months
        current = _month_start(at.year, first_month)
        return cls.starting(cadence, _month_start(current.year, current.month - cadence.months))

    def previous(self) -> ReviewPeriod:
        return ReviewPeriod.starting(
            self.cadence, _month_start(self.start.year, self.start.month - self.cadence.months)
        )


def window_text(start: datetime, end: datetime) -> str:
    """A [start, end) window as people read it, first and last day inclusive:
    "1 July – 30 September 2026". An end at midnight is not a day of the window."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    last = end - timedelta(days=1) if end.time() == datetime.min.time() and end > start else end
    if start.year != last.year:
        return f"{start.day} {start:%B %Y} – {last.day} {last:%B %Y}"
    if start.month != last.month:
        return f"{start.day} {start:%B} – {last.day} {last:%B %Y}"
    if start.day != last.day:
        return f"{start.day} – {last.day} {last:%B %Y}"
    return f"{last.day} {last:%B %Y}"


def acts_on(period: ReviewPeriod, started_at: datetime) -> bool:
    """Whether a review of `period` started at `started_at` acts on its decisions: only when
    the period is the last one ended at that moment (a Schedule catching up late for it
    included). A review of any older period is an audit: it assesses and reports, and
    changes nobody's status."""
    return ReviewPeriod.last_ended(period.cadence, started_at) == period


def audit_reason(period: ReviewPeriod) -> str:
    """Why a review is an audit, in a sentence for its answer."""
    return (
        f"{period.label} is not the {period.cadence.value.removesuffix('ly')} that ended last: "
        "its review is a past-period audit that assesses and reports, and changes no partner's "
        "status and sends no message."
    )


def review_id(provider_id: str, period: ReviewPeriod) -> str:
    """`review/{provider_id}/{cadence}/{period}`: the workflow ID, and the review's key."""
    if not provider_id or "/" in provider_id:
        raise ValueError(f"provider_id must be non-empty and contain no '/': {provider_id!r}")
    return f"review/{provider_id}/{period.cadence.value}/{period.label}"


def review_summary(provider_id: str, period: ReviewPeriod) -> str:
    """The review's one-line summary in the Temporal UI."""
    return f"{period.cadence.value.capitalize()} review of provider {provider_id}, {period.label}"


def review_details(provider_id: str, period: ReviewPeriod) -> str:
    """The review's static details in the Temporal UI: what it does and where to read it."""
    return (
        f"The {period.cadence.value} program review of provider {provider_id} for "
        f"{period.label} ({period.start:%Y-%m-%d} to {period.end:%Y-%m-%d}): one aggregation "
        "of every reseller's orders, a signal to each partner whose standing changed, "
        + ("each partner's scorecard, " if period.cadence is ReviewCadence.QUARTERLY else "")
        + "and the program report.\n\n"
        "**Current Details** show the stage; each activity's summary says what it did. "
        f"The report is the result, and `GET /provider/reviews/{period.cadence.value}/"
        f"{period.label}` shows it with every reseller's standing."
    )


class ReviewRequest(Frozen):
    """What starts a review. Without a period (a Schedule's start) it covers the last one ended."""

    provider_id: str = Field(min_length=1, max_length=100, pattern=r"^[^/]+$")
    cadence: ReviewCadence
    period: str | None = Field(
        default=None, description="2026-11 (monthly) or 2026-Q4 (quarterly); none: the last ended."
    )
    batch_size: int = Field(
        default=250, ge=1, le=5000, description="Partners signalled between two heartbeats."
    )


def resolve_period(request: ReviewRequest, now: datetime) -> ReviewPeriod:
    """The period a request reviews; a ValueError if it is malformed or has not ended by `now`."""
    if request.period is None:
        return ReviewPeriod.last_ended(request.cadence, now)
    period = ReviewPeriod.parse(request.cadence, request.period)
    if period.end > now:
        raise ValueError(
            f"period {period.label} ends {period.end:%Y-%m-%d}: it can be reviewed from then on"
        )
    return period


class OpenReview(Frozen):
    provider_id: str
    period: ReviewPeriod
    batch_size: int
    started_at: AwareDatetime | None = Field(
        default=None,
        description="When the review started, on the workflow's clock: whether it acts or "
        "audits follows from it (`acts_on`).",
    )


class ReviewPlan(Frozen):
    """A review as opened: its period, metrics window and the program version it applies."""

    review_id: str
    provider_id: str
    period: ReviewPeriod
    window_start: AwareDatetime
    window_end: AwareDatetime
    program: ProgramSettings
    program_version: int
    batch_size: int = 250
    acts: bool = Field(
        default=True,
        description="False for a past-period audit: the review assesses and reports, wakes "
        "no partner and sends no scorecard.",
    )


class Assessment(Frozen):
    """Every reseller's metrics and standing, stored; only counts travel through the history."""

    resellers: int
    standings: dict[str, int]
    aggregation_seconds: float
    decision_seconds: float
    store_seconds: float


class FanOut(Frozen):
    """The partners woken: review signals to workflows, signal-with-start for new candidates."""

    signalled: int
    nominated: int
    missing: int = Field(default=0, description="Listed partners with no workflow to signal.")
    batches: int
    resumed_after: int = Field(default=0, description="Partners already woken by an earlier try.")
    seconds: float


class ScorecardsSent(Frozen):
    sent: int = Field(description="Scorecards sent, or put in the outbox where delivery is apart.")
    seconds: float


def scorecard_key_prefix(review: str) -> str:
    """What the outbox keys of a review's scorecards start with."""
    return f"{review}/scorecard/"


class TierFigures(Frozen):
    """One tier's resellers and their orders over the review's metrics window."""

    tier: str
    resellers: int
    orders: int
    acceptance_rate: float | None
    completion_rate: float | None
    revenue: float


class ProgramReport(Frozen):
    """The program's state at a review: who is where, how it moved, how the orders went."""

    review_id: str
    provider_id: str
    cadence: ReviewCadence
    period: str
    window_start: AwareDatetime
    window_end: AwareDatetime
    program_version: int
    enrollment_by_tier: dict[str, int] = Field(
        description="Partners on the preferred list by tier once the review's decisions apply."
    )
    candidates: int
    partners_at_risk: int
    partners_removed: int = Field(description="Removals during the period.")
    retention_rate: float | None = Field(
        description="Share of the partners listed at the last quarterly review still listed."
    )
    graduations: int = Field(description="Moves onto the preferred list during the period.")
    graduation_rate_per_month: float
    order_volume: int
    by_tier: list[TierFigures]
    standings: dict[str, int]


class ReviewClosing(Frozen):
    """What the review's last step records besides the report."""

    plan: ReviewPlan
    fan_out: FanOut


class ReviewOutcome(Frozen):
    """What a review did, stage by stage, with the time each stage took."""

    review_id: str
    assessment: Assessment
    fan_out: FanOut
    scorecards: ScorecardsSent | None
    scorecards_delivered: OutboxDelivered | None = None
    report: ProgramReport
    report_seconds: float
