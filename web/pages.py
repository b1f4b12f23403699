"""Signing in and out, the overview and the partners list (with its CSV export)."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from models.partner import PartnerStatus
from models.program import Tier
from services.dashboard import (
    PartnerQuery,
    PartnerSort,
    all_partners,
    at_risk_partners,
    find_partners,
    key_for_sign_in,
    partner_counts,
    recent_transitions,
)
from services.reviews import list_reviews
from web.charts import report_charts
from web.context import read_form, render, web_services
from web.session import (
    SESSION_HOURS,
    Viewer,
    check_csrf,
    check_sign_in_token,
    end_session,
    remember_sign_in,
    sign_in_token,
    start_session,
    viewer,
)

router = APIRouter(include_in_schema=False)
ViewerDep = Annotated[Viewer, Depends(viewer)]
PAGE_SIZE = 50
UNKNOWN_KEY = "That API key is unknown or has been revoked."


@router.get("/sign-in")
def sign_in_page(request: Request) -> HTMLResponse:
    token, cookie = sign_in_token(request)
    page = render(
        request, "sign_in", {"sign_in_token": token, "error": None, "hours": SESSION_HOURS}
    )
    if cookie is not None:
        remember_sign_in(request, page, cookie)
    return page


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    """The key comes in the form's body, never in the URL; a session cookie goes back."""
    form = await read_form(request)
    check_sign_in_token(request, form)
    key = form.get("api_key", "")

    def lookup() -> Any:
        with web_services(request).db.transaction() as session:
            return key_for_sign_in(session, key) if key else None

    signed = await run_in_threadpool(lookup)
    if signed is None:
        error = UNKNOWN_KEY if key else "Enter your provider API key."
        context = {"sign_in_token": form.get("csrf", ""), "error": error, "hours": SESSION_HOURS}
        return render(request, "sign_in", context, status=401)
    response = RedirectResponse("/", status_code=303)
    start_session(request, response, signed)
    return response


@router.post("/sign-out")
async def sign_out(request: Request, who: ViewerDep) -> Response:
    check_csrf(who.csrf, await read_form(request))
    response = RedirectResponse("/sign-in", status_code=303)
    end_session(response)
    return response


STATUSES = [status.value for status in PartnerStatus]
TIERS = [Tier.SILVER.value, Tier.GOLD.value, Tier.BRONZE.value]


@router.get("/")
def overview(request: Request, who: ViewerDep) -> HTMLResponse:
    svc = web_services(request)
    with svc.db.transaction() as session:
        counts = partner_counts(session, who.provider_id)
        at_risk = at_risk_partners(session, who.provider_id)
        transitions = recent_transitions(session, who.provider_id)
        latest, _ = list_reviews(session, who.provider_id, page=1, page_size=1)
    review = latest[0] if latest else None
    report = review.report if review else None
    charts = report_charts(report) if report is not None else {}
    context = {
        "viewer": who,
        "counts": counts,
        "statuses": STATUSES,
        "tiers": TIERS,
        "at_risk": at_risk,
        "transitions": transitions,
        "review": review,
        "report": report,
        "charts": charts,
        "now": svc.clock(),
    }
    return render(request, "overview", context)


Search = Annotated[str | None, Query(max_length=200)]


def partner_filters(
    q: Search = None,
    status: PartnerStatus | None = None,
    tier: Tier | None = None,
    sort: PartnerSort = PartnerSort.TEAM,
) -> PartnerQuery:
    """The partners page's filters from its query string: the same for its CSV export."""
    return PartnerQuery(q=(q or "").strip() or None, status=status, tier=tier, sort=sort)


FiltersDep = Annotated[PartnerQuery, Depends(partner_filters)]


@router.get("/partners")
def partners(
    request: Request,
    who: ViewerDep,
    where: FiltersDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    svc = web_services(request)
    with svc.db.transaction() as session:
        rows, total = find_partners(session, who.provider_id, where, page=page, page_size=PAGE_SIZE)
    params = {
        "q": where.q or "",
        "status": where.status.value if where.status else "",
        "tier": where.tier.value if where.tier else "",
        "sort": where.sort.value,
    }
    context = {
        "viewer": who,
        "rows": rows,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "params": params,
        "statuses": STATUSES,
        "tiers": TIERS,
        "now": svc.clock(),
    }
    return render(request, "partners", context)


CSV_COLUMNS = [
    "resellerTeamId",
    "name",
    "status",
    "tier",
    "enrolledAt",
    "graceDeadline",
    "updatedAt",
]


@router.get("/partners.csv")
def partners_csv(request: Request, who: ViewerDep, where: FiltersDep) -> Response:
    """Every partner that passes the page's filters, as CSV."""
    with web_services(request).db.transaction() as session:
        rows = all_partners(session, who.provider_id, where)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                row.reseller_team_id,
                row.name or "",
                row.status.value,
                row.tier.value,
                row.enrolled_at.isoformat() if row.enrolled_at else "",
                row.grace_deadline.isoformat() if row.grace_deadline else "",
                row.updated_at.isoformat(),
            ]
        )
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{who.provider_id}-partners.csv"'},
    )
