"""The provider's announcements: the list with each one's progress, a form that sends one now
or schedules it, and a cancel button for one still waiting, through clients/announcements.py as
`/provider/announcements` does."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from clients.announcements import Announcements
from models.announcement import AnnouncementKind, AnnouncementRequest, Audience
from models.partner import PartnerStatus
from models.program import Tier
from models.wire import PATH_ID_PATTERN
from services.announcements import list_announcements
from services.errors import NotFoundError
from web.context import REFUSALS, PageError, WebServices, read_form, refusal, render, web_services
from web.pages import ViewerDep
from web.session import Viewer, check_csrf

router = APIRouter(include_in_schema=False)
AnnouncementId = Annotated[str, Path(min_length=1, max_length=100, pattern=PATH_ID_PATTERN)]
AUDIENCES = {
    "all": "every partner on the list",
    "tiers": "tiers (comma-separated)",
    "statuses": "statuses (comma-separated)",
    "offerId": "the partners who see an offer (its ID)",
    "resellerTeamIds": "these partners (team IDs, comma-separated)",
}
SHOWN = 100


def _client(svc: WebServices) -> Announcements:
    return Announcements(svc.client, svc.task_queue)


def _context(svc: WebServices, who: Viewer, form: dict[str, str] | None = None) -> dict[str, Any]:
    with svc.db.transaction() as session:
        records, total = list_announcements(session, who.provider_id, page=1, page_size=SHOWN)
    return {
        "viewer": who,
        "announcements": records,
        "total": total,
        "kinds": list(AnnouncementKind),
        "audiences": AUDIENCES,
        "tiers": [tier.value for tier in Tier],
        "statuses": [status.value for status in PartnerStatus],
        "form": form or {"audience": "all"},
        "error": None,
    }


def _audience(form: dict[str, str]) -> Audience:
    form_of = form.get("audience", "all")
    values = [part.strip() for part in form.get("audienceValue", "").split(",") if part.strip()]
    if form_of == "all":
        return Audience(all=True)
    if form_of == "offerId":
        return Audience.model_validate({"offerId": form.get("audienceValue", "")})
    return Audience.model_validate({form_of: values})


def _request(form: dict[str, str]) -> AnnouncementRequest:
    send_at = form.get("sendAt") or None
    return AnnouncementRequest.model_validate(
        {
            "kind": form.get("kind"),
            "subject": form.get("subject"),
            "body": form.get("body"),
            "audience": _audience(form),
            # The form's datetime-local field has no zone: it is read as UTC, as labelled.
            "sendAt": datetime.fromisoformat(send_at).replace(tzinfo=UTC) if send_at else None,
            "createdBy": "dashboard",
        }
    )


@router.get("/announcements")
def announcement_list(request: Request, who: ViewerDep) -> HTMLResponse:
    return render(request, "announcements", _context(web_services(request), who))


@router.post("/announcements")
async def send_announcement(request: Request, who: ViewerDep) -> Response:
    """Send it now, or schedule it; a refusal shows the form again with what was typed."""
    form = await read_form(request)
    check_csrf(who.csrf, form)
    svc = web_services(request)
    try:
        await _client(svc).send(svc.db, who.provider_id, _request(form), now=svc.clock())
    except REFUSALS as error:
        message, status = refusal(error)
        context = await run_in_threadpool(_context, svc, who, form)
        context["error"] = message
        return render(request, "announcements", context, status=status)
    return RedirectResponse("/announcements", status_code=303)


@router.post("/announcements/{announcement_id}/cancel")
async def cancel_announcement(
    request: Request, announcement_id: AnnouncementId, who: ViewerDep
) -> Response:
    form = await read_form(request)
    check_csrf(who.csrf, form)
    svc = web_services(request)
    try:
        await _client(svc).cancel(svc.db, who.provider_id, announcement_id)
    except NotFoundError as error:
        raise PageError(404, str(error)) from None
    except REFUSALS as error:
        message, status = refusal(error)
        context = await run_in_threadpool(_context, svc, who)
        context["error"] = message
        return render(request, "announcements", context, status=status)
    return RedirectResponse("/announcements", status_code=303)
