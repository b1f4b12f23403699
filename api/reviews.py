"""`/provider/reviews`: the provider's program reviews, their reports and snapshots, starting
one now, and the Schedules that start them on time.

Reviews are read from the database, which the review workflow writes stage by
stage. Only a review that has not completed is looked up in Temporal as well, to
tell one that is still running from one that stopped. Starting a review answers
as soon as its workflow has started: a review of many resellers takes minutes,
and no request (nor database connection) is held while it works.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from fastapi.concurrency import run_in_threadpool
from temporalio.client import WorkflowExecutionStatus

from api.deps import ProviderDep, Services, ServicesDep, SessionDep
from api.review_views import (
    ReviewBody,
    ReviewDryRun,
    ReviewListItem,
    ReviewSchedules,
    ReviewStarted,
    ReviewStatus,
    ReviewView,
    ScheduleView,
    SnapshotView,
)
from api.views import Page, Problem
from clients.review_schedules import SchedulesUnavailable, describe_schedules
from clients.reviews import ReviewRejected
from models.review import (
    PERIOD_LABEL,
    ReviewCadence,
    ReviewPeriod,
    ReviewRequest,
    acts_on,
    audit_reason,
    review_id,
)
from models.standing import Standing
from services import reviews
from services.errors import InputError, NotFoundError
from services.review_preview import ReviewPreview, preview_review

router = APIRouter(prefix="/provider/reviews", tags=["reviews"])

PeriodPath = Annotated[
    str,
    Path(
        max_length=20,
        json_schema_extra={"pattern": PERIOD_LABEL},
        description="2026-11 (monthly) or 2026-Q4 (quarterly), as the cadence says.",
    ),
]
PageNumber = Annotated[int, Query(ge=1, le=100_000)]
PageSize = Annotated[int, Query(ge=1, le=500, alias="pageSize")]


def _location(period: ReviewPeriod) -> str:
    return f"{router.prefix}/{period.cadence.value}/{period.label}"


_previewing: set[str] = set()
"""Providers with a dry run under way: one each at a time, as it reads all their orders."""


async def _dry_run(
    svc: Services,
    provider: str,
    period: ReviewPeriod,
    now: datetime,
    standing: Standing | None,
    page: int,
    page_size: int,
) -> ReviewDryRun:
    if provider in _previewing:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "a dry run of this provider's reviews is already under way: send this one again "
            "once it has answered",
            headers={"Retry-After": "5"},
        )

    def preview() -> ReviewPreview:
        with svc.db.transaction() as session:
            return preview_review(
                session, provider, period, now, standing=standing, page=page, page_size=page_size
            )

    _previewing.add(provider)
    try:
        answer = await run_in_threadpool(preview)
    finally:
        _previewing.discard(provider)
    return ReviewDryRun.of(answer, page, page_size)


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Start a review now, or preview it (dryRun)",
    responses={
        200: {
            "model": ReviewDryRun,
            "description": "`dryRun`: what the review would decide; nothing done.",
        },
        422: {"model": Problem, "description": "A malformed period, or one that has not ended."},
        429: {"model": Problem, "description": "`dryRun`: one is already under way."},
    },
)
async def start_review(
    body: ReviewBody,
    provider: ProviderDep,
    svc: ServicesDep,
    response: Response,
    standing: Annotated[
        Standing | None, Query(description="`dryRun`: list only the resellers of this standing.")
    ] = None,
    page: PageNumber = 1,
    page_size: PageSize = 50,
) -> ReviewStarted | ReviewDryRun:
    """Reviews `period` (by default the last one ended) in the background; read it at
    `location`. A period already reviewed, or under review, is not reviewed again: the
    answer names that review, with `started: false`. A review that stopped is started anew.
    A period other than the last one ended is reviewed as a past-period audit (`audit: true`):
    assessed and reported, with no partner woken and no message sent.

    With `"dryRun": true` it answers 200 with what the review would decide, starting nothing:
    each reseller's standing and failed criteria (a page of them, by team ID, filtered by
    `standing`), the counts by standing, the window and the program version it would apply."""
    request = ReviewRequest(provider_id=provider, cadence=body.cadence, period=body.period)
    now = svc.clock()
    period = reviews.period_to_review(request, now)
    if body.dry_run:
        response.status_code = status.HTTP_200_OK
        return await _dry_run(svc, provider, period, now, standing, page, page_size)
    try:
        handle = await svc.reviews.start(
            request.model_copy(update={"period": period.label}), now=now
        )
    except ReviewRejected as error:
        raise InputError(str(error)) from None
    location = _location(period)
    response.headers["Location"] = location
    started = handle.result_run_id is not None
    audit = not acts_on(period, now)
    if not started:  # the review already there says whether it acts
        with svc.db.transaction() as session:
            record = reviews.find_review(session, provider, period)
        if record is not None:
            audit = record.audit
    return ReviewStarted(
        review_id=handle.id,
        cadence=period.cadence,
        period=period.label,
        # A handle to a review that was already there is looked up by ID, with no run of its own.
        started=started,
        location=location,
        audit=audit,
        audit_reason=audit_reason(period) if audit else None,
    )


@router.get("", summary="The provider's reviews, the latest period first")
def list_reviews(
    provider: ProviderDep,
    session: SessionDep,
    cadence: ReviewCadence | None = None,
    page: PageNumber = 1,
    page_size: PageSize = 50,
) -> Page[ReviewListItem]:
    records, total = reviews.list_reviews(
        session, provider, cadence=cadence, page=page, page_size=page_size
    )
    return Page[ReviewListItem](
        items=[ReviewListItem.of(record) for record in records],
        total=total,
        page=page,
        page_size=page_size,
    )


@router.get(
    "/schedules",
    summary="The review Schedules: paused or not, next runs, recent runs",
    responses={
        503: {"model": Problem, "description": "Temporal is unavailable, or has no Schedules."}
    },
)
async def get_schedules(provider: ProviderDep, svc: ServicesDep) -> ReviewSchedules:
    """The monthly and quarterly Schedules that start the provider's reviews. Operators pause
    and resume them in the Temporal UI (Schedules); `exists: false` means the worker has not
    created them yet (it does at start)."""
    try:
        states = await describe_schedules(svc.reviews, provider)
    except SchedulesUnavailable as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(error)) from None
    return ReviewSchedules(
        provider_id=provider,
        schedules=[ScheduleView.model_validate(state.model_dump()) for state in states],
    )


@router.get("/{cadence}/{period}", summary="One review: its stages and the program report")
async def get_review(
    cadence: ReviewCadence, period: PeriodPath, provider: ProviderDep, svc: ServicesDep
) -> ReviewView:
    """The period and metrics window, the program version applied, when it started and
    completed, resellers assessed by standing, partners woken, and the program report."""
    wanted = reviews.review_period(cadence, period)
    with svc.db.transaction() as session:
        record = reviews.find_review(session, provider, wanted)
    if record is not None and record.completed_at is not None:
        return ReviewView.of(record, ReviewStatus.COMPLETED)
    running = await svc.reviews.status(review_id(provider, wanted))
    if record is None:
        if running is not WorkflowExecutionStatus.RUNNING:
            raise NotFoundError(f"no {cadence.value} review of {wanted.label}")
        return ReviewView.opening(review_id(provider, wanted), provider, wanted, svc.clock())
    if running is WorkflowExecutionStatus.RUNNING:
        return ReviewView.of(record, ReviewStatus.RUNNING)
    if running is WorkflowExecutionStatus.COMPLETED:  # completed between the two reads
        with svc.db.transaction() as session:
            record = reviews.get_review(session, provider, wanted)
        return ReviewView.of(record, ReviewStatus.COMPLETED)
    return ReviewView.of(record, ReviewStatus.STOPPED)


@router.get("/{cadence}/{period}/partners", summary="Every reseller the review assessed")
def list_review_partners(
    cadence: ReviewCadence,
    period: PeriodPath,
    provider: ProviderDep,
    session: SessionDep,
    standing: Standing | None = None,
    page: PageNumber = 1,
    page_size: PageSize = 50,
) -> Page[SnapshotView]:
    """Each reseller's metrics over the review's window, its status and tier before and after,
    the standing the review found and the criteria it failed, by reseller ID."""
    wanted = reviews.review_period(cadence, period)
    records, total = reviews.list_snapshots(
        session, provider, wanted, standing=standing, page=page, page_size=page_size
    )
    return Page[SnapshotView](
        items=[SnapshotView.model_validate(record.model_dump()) for record in records],
        total=total,
        page=page,
        page_size=page_size,
    )
