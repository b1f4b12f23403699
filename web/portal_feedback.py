"""The reseller's feedback in its portal: a form to tell a provider whose program it sees
what services it needs, which ZIP codes have demand, what competitors offer, or how the
program could work better; and the list of what it has sent.

The form goes through `services.feedback.send_feedback` with `NewFeedback`, as the API's
handler does: a refusal (the model's, a provider it does not see, too many sends) is shown
beside the form with what was typed kept, and nothing is written."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from models.feedback import FeedbackKind, NewFeedback
from services import portal
from services.errors import NotFoundError, RateLimitedError
from services.feedback import reseller_feedback, send_feedback
from web.context import REFUSALS, read_form, refusal, web_services
from web.portal_context import PORTAL, PortalViewerDep, portal_render
from web.session import PortalViewer, check_csrf

router = APIRouter(include_in_schema=False)
FEEDBACK = f"{PORTAL}/feedback"
PAGE_SIZE = 25
KINDS = {
    FeedbackKind.SERVICES_NEEDED: "Services we need",
    FeedbackKind.ZIP_DEMAND: "ZIP codes with high demand",
    FeedbackKind.COMPETITIVE_OFFERING: "A competitor's offering",
    FeedbackKind.PROCESS_IMPROVEMENT: "A process improvement",
}
ZIP_SEPARATORS = re.compile(r"[\s,;]+")


def zip_codes(text: str) -> list[str]:
    """ZIP codes as typed, separated by commas, semicolons or blanks."""
    return [part for part in ZIP_SEPARATORS.split(text) if part]


def new_feedback(form: dict[str, str]) -> NewFeedback:
    """The form as the service takes it; a ValidationError (a ValueError) when it does not fit."""
    return NewFeedback.model_validate(
        {
            "provider_id": form.get("provider_id", ""),
            "kind": form.get("kind", ""),
            "text": form.get("text", ""),
            "zip_codes": zip_codes(form.get("zip_codes", "")),
            "service_category": form.get("service_category") or None,
        }
    )


def _page(
    request: Request,
    who: PortalViewer,
    page: int,
    *,
    error: str | None = None,
    values: dict[str, str] | None = None,
    done: bool = False,
    status: int = 200,
) -> HTMLResponse:
    svc = web_services(request)
    with svc.db.transaction() as session:
        programs = portal.program_summaries(session, who.reseller_team_id, svc.clock())
        sent, total = reseller_feedback(
            session, who.reseller_team_id, page=page, page_size=PAGE_SIZE
        )
    context: dict[str, Any] = {
        "programs": programs,
        "kinds": [(kind.value, text) for kind, text in KINDS.items()],
        "kind_names": {kind.value: text for kind, text in KINDS.items()},
        "sent": sent,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "params": {},
        "error": error,
        "values": values or {},
        "done": "Feedback sent: the provider reads it in its dashboard." if done else None,
    }
    return portal_render(request, who, "feedback", context, status)


@router.get(FEEDBACK)
def feedback(
    request: Request,
    who: PortalViewerDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    return _page(request, who, page, done=request.query_params.get("done") == "sent")


@router.post(FEEDBACK)
async def send(request: Request, who: PortalViewerDep) -> Response:
    """Send the form; back to the page saying it was sent, or the form again saying why not."""
    form = await read_form(request)
    check_csrf(who.csrf, form)

    def keep() -> None:
        new = new_feedback(form)
        with web_services(request).db.transaction() as session:
            send_feedback(session, who.reseller_team_id, new)

    try:
        await run_in_threadpool(keep)
    except REFUSALS as error:
        problem, status = refusal(error)
    except NotFoundError as error:
        problem, status = str(error), 404
    except RateLimitedError as error:
        problem, status = str(error), 429
    else:
        return RedirectResponse(f"{FEEDBACK}?done=sent", status_code=303)
    return await run_in_threadpool(
        lambda: _page(request, who, 1, error=problem, values=form, status=status)
    )
