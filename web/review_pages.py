"""The reviews: the list, a form that previews a review (its dry run) and then runs it, and one
review's report with the resellers by standing.

A run starts the review's workflow as `POST /provider/reviews` does and answers at once;
the review's page refreshes itself (a meta refresh, no script) until the report is there.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool
from temporalio.client import WorkflowExecutionStatus

from clients.reviews import ReviewRejected
from models.review import PERIOD_LABEL, ReviewCadence, ReviewRequest, review_id
from models.standing import Standing
from services import reviews
from services.errors import InputError
from services.review_preview import preview_review
from web.charts import report_charts
from web.context import PageError, WebServices, read_form, render, web_services
from web.pages import ViewerDep
from web.session import check_csrf

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
CADENCES = [cadence.value for cadence in ReviewCadence]
STANDINGS = [standing.value for standing in Standing]
NOT_UNCHANGED = [standing for standing in Standing if standing is not Standing.UNCHANGED]


def _list_context(svc: WebServices, provider_id: str, page: int) -> dict[str, Any]:
    with svc.db.transaction() as session:
        records, total = reviews.list_reviews(session, provider_id, page=page, page_size=PAGE_SIZE)
    return {
        "records": records,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "cadences": CADENCES,
        "form": {"cadence": "monthly", "period": ""},
        "error": None,
        "preview": None,
    }


@router.get("/reviews")
def review_list(
    request: Request, who: ViewerDep, page: Annotated[int, Query(ge=1, le=100_000)] = 1
) -> HTMLResponse:
    context = _list_context(web_services(request), who.provider_id, page)
    return render(request, "reviews", {"viewer": who, **context})


@router.post("/reviews")
async def start_review(request: Request, who: ViewerDep) -> Response:
    """`action=dry_run` shows what the review would decide; `action=run` starts it."""
    form = await read_form(request)
    check_csrf(who.csrf, form)
    svc = web_services(request)
    now = svc.clock()
    context = await run_in_threadpool(_list_context, svc, who.provider_id, 1)
    context["form"] = {"cadence": form.get("cadence", ""), "period": form.get("period", "")}
    try:
        cadence = ReviewCadence(form.get("cadence", ""))
        wanted = ReviewRequest(
            provider_id=who.provider_id, cadence=cadence, period=form.get("period") or None
        )
        period = reviews.period_to_review(wanted, now)
        if form.get("action") == "run":
            await svc.reviews.start(wanted.model_copy(update={"period": period.label}), now=now)
            return RedirectResponse(f"/reviews/{cadence.value}/{period.label}", status_code=303)

        def preview() -> Any:
            with svc.db.transaction() as session:
                return preview_review(
                    session, who.provider_id, period, now, standing=NOT_UNCHANGED, page_size=200
                )

        context["preview"] = await run_in_threadpool(preview)
        context["form"]["period"] = period.label
        return render(request, "reviews", {"viewer": who, **context})
    except ValueError as error:  # an unknown cadence, a malformed period or one not ended
        message = str(error) if isinstance(error, InputError) else "cadence: monthly or quarterly"
    except ReviewRejected as error:
        message = str(error)
    context["error"] = message
    return render(request, "reviews", {"viewer": who, **context}, status=422)


PeriodPath = Annotated[str, Path(max_length=20, pattern=PERIOD_LABEL)]


@router.get("/reviews/{cadence}/{period}")
async def review_page(
    request: Request,
    cadence: ReviewCadence,
    period: PeriodPath,
    who: ViewerDep,
    standing: Annotated[Standing | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    svc = web_services(request)
    try:
        wanted = reviews.review_period(cadence, period)
    except InputError as error:
        raise PageError(404, str(error)) from None

    def read() -> Any:
        with svc.db.transaction() as session:
            record = reviews.find_review(session, who.provider_id, wanted)
            if record is None:
                return None, [], 0
            found = reviews.list_snapshots(
                session, who.provider_id, wanted, standing=standing, page=page, page_size=PAGE_SIZE
            )
            return record, *found

    record, snapshots, total = await run_in_threadpool(read)
    status = "completed"
    if record is None or record.completed_at is None:
        running = await svc.reviews.status(review_id(who.provider_id, wanted))
        if record is None and running is not WorkflowExecutionStatus.RUNNING:
            raise PageError(404, f"no {cadence.value} review of {wanted.label}")
        status = "running" if running is WorkflowExecutionStatus.RUNNING else "stopped"
        if running is WorkflowExecutionStatus.COMPLETED:
            status = "running"  # completed between the two reads: the next refresh shows it
    report = record.report if record else None
    charts = report_charts(report) if report is not None else {}
    context = {
        "viewer": who,
        "cadence": cadence.value,
        "period": wanted,
        "record": record,
        "report": report,
        "status": status,
        "charts": charts,
        "snapshots": snapshots,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "standing": standing.value if standing else "",
        "standings": STANDINGS,
    }
    return render(request, "review", context)
