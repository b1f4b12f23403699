"""Program reviews as stored: a provider's reviews, one review in full, its resellers' snapshots.

The review workflow writes `program_reviews` and `review_snapshots`; this module
only reads them, always through the provider, so that one provider never sees
another's reviews. It also turns what a person types for a period into the
`ReviewPeriod` it names, with a message that says what is wrong when it names none.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar

from pydantic import AwareDatetime, Field
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from models.partner import PartnerStatus
from models.program import Frozen, Tier
from models.review import (
    Assessment,
    FanOut,
    ProgramReport,
    ReviewCadence,
    ReviewPeriod,
    ReviewRequest,
    acts_on,
    audit_reason,
    resolve_period,
    review_id,
    window_text,
)
from models.schema import ProgramReview, Provider, ReviewSnapshot
from models.standing import Standing
from services.errors import InputError, NotFoundError

T = TypeVar("T")


class ReviewRecord(Frozen):
    """One review as stored: its period, metrics window, program version and what it found.

    `assessment`, `fan_out` and `report` are filled in stage by stage; `completed_at` is set
    once the report is written.
    """

    review_id: str
    provider_id: str
    cadence: ReviewCadence
    period: str
    period_start: AwareDatetime
    period_end: AwareDatetime
    window_start: AwareDatetime
    window_end: AwareDatetime
    window: str = Field(description="The metrics window, first and last day: the period.")
    program_version: int
    started_at: AwareDatetime
    completed_at: AwareDatetime | None
    audit: bool = Field(
        default=False,
        description="A past-period audit: it assessed and reported, and changed nobody.",
    )
    audit_reason: str | None = None
    assessment: Assessment | None
    fan_out: FanOut | None
    report: ProgramReport | None


class SnapshotRecord(Frozen):
    """One reseller at one review: where it stood, what the review decided, and its metrics."""

    reseller_team_id: str
    standing: Standing
    status_before: PartnerStatus | None
    tier_before: Tier
    status_after: PartnerStatus | None
    tier_after: Tier
    failed_criteria: str | None
    signalled_at: AwareDatetime | None
    total_orders: int
    accepted_orders: int
    decided_orders: int
    fulfilled_orders: int
    orders_per_month: float
    acceptance_rate: float | None
    completion_rate: float | None
    cancellation_rate: float | None
    average_rating: float | None
    rated_orders: int
    average_order_value: float | None
    revenue: float
    month_over_month_growth: float | None
    tenure_months: int


def review_period(cadence: ReviewCadence, label: str) -> ReviewPeriod:
    """The period a label names (`2026-11`, `2026-Q4`), or an InputError showing the form."""
    try:
        period = ReviewPeriod.parse(cadence, label)
    except ValueError as error:  # a malformed label, or a year the calendar cannot hold
        raise InputError(str(error)) from None
    return period


def period_to_review(request: ReviewRequest, now: datetime) -> ReviewPeriod:
    """The period `request` reviews if started at `now`: its own, or by default the last ended.

    An InputError says why a period cannot be reviewed (malformed, too early, not ended yet).
    """
    if request.period is not None:
        review_period(request.cadence, request.period)
    try:
        return resolve_period(request, now)
    except ValueError as error:
        raise InputError(str(error)) from None


def parse_review_id(text: str) -> tuple[str, ReviewPeriod]:
    """The provider and period of `review/{provider_id}/{cadence}/{period}`."""
    parts = text.split("/")
    if len(parts) != 4 or parts[0] != "review" or not parts[1]:
        raise InputError(
            f"{text!r} is not a review ID: they read review/PROVIDER/CADENCE/PERIOD, "
            "like review/acme/monthly/2026-11"
        )
    _, provider_id, cadence, label = parts
    try:
        kind = ReviewCadence(cadence)
    except ValueError:
        raise InputError(f"{text!r}: a review is monthly or quarterly, not {cadence!r}") from None
    return provider_id, review_period(kind, label)


def _record(row: ProgramReview) -> ReviewRecord:
    period = ReviewPeriod.parse(ReviewCadence(row.cadence), row.period)
    audit = not acts_on(period, row.started_at)
    return ReviewRecord(
        review_id=row.id,
        provider_id=row.provider_id,
        cadence=period.cadence,
        period=row.period,
        period_start=period.start,
        period_end=period.end,
        window_start=row.window_start,
        window_end=row.window_end,
        window=window_text(row.window_start, row.window_end),
        program_version=row.program_version,
        started_at=row.started_at,
        completed_at=row.completed_at,
        audit=audit,
        audit_reason=audit_reason(period) if audit else None,
        assessment=Assessment.model_validate(row.assessment) if row.assessment else None,
        fan_out=FanOut.model_validate(row.fan_out) if row.fan_out else None,
        report=ProgramReport.model_validate(row.report) if row.report else None,
    )


def _page(session: Session, query: Select[T], page: int, page_size: int) -> tuple[Sequence[T], int]:
    """One page of an ordered query's rows, and how many rows there are in all."""
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.offset((page - 1) * page_size).limit(page_size)).all()
    return rows, total


def list_reviews(
    session: Session,
    provider_id: str,
    *,
    cadence: ReviewCadence | None = None,
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[ReviewRecord], int]:
    """One page of the provider's reviews, the latest period first, and how many there are."""
    query = select(ProgramReview).where(ProgramReview.provider_id == provider_id)
    if cadence is not None:
        query = query.where(ProgramReview.cadence == cadence.value)
    # A quarter and its last month end together: the quarter first, then by ID for a stable page.
    query = query.order_by(
        ProgramReview.window_end.desc(), ProgramReview.cadence.desc(), ProgramReview.id
    )
    rows, total = _page(session, query, page, page_size)
    return [_record(row) for row in rows], total


def _stored(session: Session, provider_id: str, period: ReviewPeriod) -> ProgramReview:
    row = session.get(ProgramReview, review_id(provider_id, period))
    if row is None or row.provider_id != provider_id:
        raise NotFoundError(f"no {period.cadence.value} review of {period.label} yet")
    return row


def get_review(session: Session, provider_id: str, period: ReviewPeriod) -> ReviewRecord:
    """The provider's review of `period`, or NotFoundError if it has not been opened."""
    return _record(_stored(session, provider_id, period))


def find_review(session: Session, provider_id: str, period: ReviewPeriod) -> ReviewRecord | None:
    row = session.get(ProgramReview, review_id(provider_id, period))
    return _record(row) if row is not None and row.provider_id == provider_id else None


def list_snapshots(
    session: Session,
    provider_id: str,
    period: ReviewPeriod,
    *,
    standing: Standing | Sequence[Standing] | None = None,
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[SnapshotRecord], int]:
    """One page of the resellers a review assessed, by team ID, and how many there are."""
    row = _stored(session, provider_id, period)
    query = select(ReviewSnapshot).where(ReviewSnapshot.review_id == row.id)
    if isinstance(standing, Standing):
        query = query.where(ReviewSnapshot.standing == standing.value)
    elif standing is not None:
        query = query.where(ReviewSnapshot.standing.in_([s.value for s in standing]))
    rows, total = _page(session, query.order_by(ReviewSnapshot.reseller_team_id), page, page_size)
    return [SnapshotRecord.model_validate(r, from_attributes=True) for r in rows], total


def provider_ids(session: Session) -> list[str]:
    """Every provider in the program database, by ID."""
    return list(session.scalars(select(Provider.id).order_by(Provider.id)))
