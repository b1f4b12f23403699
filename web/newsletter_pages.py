"""The provider's monthly newsletter: on or off, the months sent with their progress, a month
sent now, and what one partner would read, through clients/newsletters.py as
`/provider/newsletter` does."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from clients.newsletters import Newsletters
from clients.review_schedules import SchedulesUnavailable
from models.newsletter import month_before
from services.errors import NotFoundError
from services.newsletters import NewsletterPreview, newsletter_state, preview_newsletter
from web.context import REFUSALS, PageError, WebServices, read_form, refusal, render, web_services
from web.pages import ViewerDep
from web.session import Viewer, check_csrf

router = APIRouter(include_in_schema=False)


def _context(
    svc: WebServices, who: Viewer, preview: NewsletterPreview | None = None
) -> dict[str, Any]:
    with svc.db.transaction() as session:
        state = newsletter_state(session, who.provider_id, svc.clock())
    return {
        "viewer": who,
        "state": state,
        "last_month": month_before(svc.clock()),
        "preview": preview,
        "error": None,
    }


def _client(svc: WebServices) -> Newsletters:
    return Newsletters(svc.client, svc.task_queue)


async def _refused(
    request: Request, svc: WebServices, who: Viewer, message: str, status: int
) -> HTMLResponse:
    context = await run_in_threadpool(_context, svc, who)
    context["error"] = message
    return render(request, "newsletter", context, status=status)


@router.get("/newsletter")
def newsletter_page(request: Request, who: ViewerDep) -> HTMLResponse:
    svc = web_services(request)
    team = request.query_params.get("preview")
    preview = None
    if team:
        month = request.query_params.get("month") or month_before(svc.clock())
        with svc.db.transaction() as session:
            try:
                preview = preview_newsletter(session, who.provider_id, team, month)
            except NotFoundError as error:
                raise PageError(404, str(error)) from None
    return render(request, "newsletter", _context(svc, who, preview))


@router.post("/newsletter")
async def turn_newsletter(request: Request, who: ViewerDep) -> Response:
    """Turn it on (its Schedule created) or off (deleted)."""
    form = await read_form(request)
    check_csrf(who.csrf, form)
    svc = web_services(request)
    enabled = form.get("enabled") == "on"
    try:
        with svc.db.transaction() as session:
            await _client(svc).turn(session, who.provider_id, enabled, svc.clock())
    except SchedulesUnavailable as error:
        return await _refused(request, svc, who, str(error), 503)
    return RedirectResponse("/newsletter", status_code=303)


@router.post("/newsletter/send")
async def send_newsletter(request: Request, who: ViewerDep) -> Response:
    """Send the month just ended now (once per month)."""
    form = await read_form(request)
    check_csrf(who.csrf, form)
    svc = web_services(request)
    try:
        with svc.db.transaction() as session:
            await _client(svc).send(
                session, who.provider_id, month_before(svc.clock()), svc.clock()
            )
    except REFUSALS as error:
        message, status = refusal(error)
        return await _refused(request, svc, who, message, status)
    return RedirectResponse("/newsletter", status_code=303)
