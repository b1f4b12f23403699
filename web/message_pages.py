"""The outbox: every message to the partners, filtered by partner, kind and status, a page at a
time; one message with its body; and a bounced or failed one sent again, as
`POST /provider/notifications/{id}/resend` does (`outbox.resendable_entry`, then the delivery
workflow's start)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from clients.deliveries import MessageDeliveries
from models.delivery import OutboxEntry, OutboxFilter, OutboxStatus
from models.notifications import NotificationKind
from services import outbox
from services.errors import NotFoundError
from web.context import REFUSALS, PageError, WebServices, read_form, refusal, render, web_services
from web.pages import ViewerDep
from web.session import Viewer, check_csrf

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
KINDS = [kind.value for kind in NotificationKind]
STATUSES = [status.value for status in OutboxStatus]
MessageId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Filter = Annotated[str, Query(max_length=200)]


@router.get("/messages")
def message_list(
    request: Request,
    who: ViewerDep,
    partner: Filter = "",
    kind: Filter = "",
    status: Filter = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """An unknown kind or status is said beside the filters; the others still apply."""
    params = {"partner": partner.strip(), "kind": kind, "status": status}
    errors = []
    if kind and kind not in KINDS:
        errors.append(f"kind: one of {', '.join(KINDS)}")
    if status and status not in STATUSES:
        errors.append(f"status: one of {', '.join(STATUSES)}")
    where = OutboxFilter(
        reseller_team_id=params["partner"] or None,
        kind=NotificationKind(kind) if kind in KINDS else None,
        status=OutboxStatus(status) if status in STATUSES else None,
    )
    with web_services(request).db.transaction() as session:
        entries, total = outbox.outbox_page(
            session, who.provider_id, where, page=page, page_size=PAGE_SIZE
        )
    context = {
        "viewer": who,
        "entries": entries,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "params": params,
        "kinds": KINDS,
        "statuses": STATUSES,
        "error": "; ".join(errors) or None,
    }
    return render(request, "messages", context, status=422 if errors else 200)


def _entry(svc: WebServices, who: Viewer, message_id: int) -> OutboxEntry:
    try:
        with svc.db.transaction() as session:
            return outbox.outbox_entry(session, who.provider_id, message_id)
    except NotFoundError as error:
        raise PageError(404, str(error)) from None


def _message_context(entry: OutboxEntry, who: Viewer) -> dict[str, Any]:
    return {"viewer": who, "entry": entry, "error": None, "resent": None}


@router.get("/messages/{message_id}")
def message_page(
    request: Request, message_id: MessageId, who: ViewerDep, resent: str = ""
) -> HTMLResponse:
    context = _message_context(_entry(web_services(request), who, message_id), who)
    context["resent"] = resent or None
    return render(request, "message", context)


@router.post("/messages/{message_id}/resend")
async def resend(request: Request, message_id: MessageId, who: ViewerDep) -> Response:
    """Back to pending with two more days of tries, through the channel and to the address in
    force now; a message sent, pending or under way is refused with the API's words."""
    form = await read_form(request)
    check_csrf(who.csrf, form)
    svc = web_services(request)

    def find() -> OutboxEntry:
        with svc.db.transaction() as session:
            return outbox.resendable_entry(session, who.provider_id, message_id)

    try:
        entry = await run_in_threadpool(find)
        workflow_id = await MessageDeliveries(svc.client, svc.task_queue).resend(
            who.provider_id, entry
        )
    except NotFoundError as error:
        raise PageError(404, str(error)) from None
    except REFUSALS as error:
        message, status = refusal(error)
        context = _message_context(await run_in_threadpool(_entry, svc, who, message_id), who)
        context["error"] = message
        return render(request, "message", context, status=status)
    return RedirectResponse(f"/messages/{message_id}?resent={workflow_id}", status_code=303)
