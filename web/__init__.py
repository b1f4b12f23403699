"""The provider's web dashboard: server-rendered pages over the services the API uses.

The API's app mounts it (`install`): `/sign-in`, `/` (overview), `/partners`,
`/partners/{team}`, `/resellers`, `/reviews`, `/program`, `/messages`, `/announcements`,
`/newsletter`, `/keys`, `/offers`, `/agreements`, `/templates`, `/feedback`, and its stylesheet
under `/static/`. No Node.js, no script and nothing fetched from elsewhere: charts are inline SVG
drawn here.

The reseller's portal is served beside it under `/portal` (`portal_pages`, `portal_record_pages`,
`portal_feedback`), for a reseller team signed in with its own key, in a session of its own.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError
from temporalio.service import RPCError

from store.secret_box import SecretKeyError
from web import (
    agreement_pages,
    announcement_pages,
    feedback_pages,
    key_pages,
    message_pages,
    newsletter_pages,
    offer_pages,
    pages,
    partner_pages,
    portal_feedback,
    portal_pages,
    portal_record_pages,
    program_pages,
    reseller_pages,
    review_pages,
    template_pages,
)
from web.context import STATIC, PageError, is_page, render
from web.portal_context import in_portal
from web.session import SignInNeeded

ExceptionHandler = Callable[[Request, Any], Response | Awaitable[Response]]


async def _sign_in(request: Request, error: Exception) -> Response:
    assert isinstance(error, SignInNeeded)
    return RedirectResponse(error.sign_in_path, status_code=303)


async def _error_page(request: Request, error: Exception) -> HTMLResponse:
    assert isinstance(error, PageError)
    template = "portal_error" if in_portal(request.url.path) else "error"
    return render(
        request, template, {"status": error.status, "message": error.message}, error.status
    )


OUTAGES = (RPCError, SQLAlchemyError, SecretKeyError)
"""What the API answers with a 503 that names the dependency; a page answers it as a page."""


def _on_pages(handler: ExceptionHandler) -> ExceptionHandler:
    """The API's answer to an outage, as the dashboard's or the portal's error page where the
    request was for a page (the API's own paths keep their JSON)."""

    async def handle(request: Request, error: Exception) -> Response:
        answer = handler(request, error)
        if inspect.isawaitable(answer):
            answer = await answer
        if not is_page(request.url.path) or answer.status_code < 500:
            return answer
        detail = json.loads(bytes(answer.body)).get("detail", "") if answer.body else ""
        template = "portal_error" if in_portal(request.url.path) else "error"
        return render(
            request, template, {"status": answer.status_code, "message": detail}, answer.status_code
        )

    return handle


def install(app: FastAPI) -> None:
    """Serve the dashboard's pages and stylesheet from `app`, outside its OpenAPI document."""
    for module in (
        pages,
        partner_pages,
        reseller_pages,
        review_pages,
        program_pages,
        message_pages,
        announcement_pages,
        newsletter_pages,
        feedback_pages,
        key_pages,
        offer_pages,
        agreement_pages,
        template_pages,
        portal_pages,
        portal_record_pages,
        portal_feedback,
    ):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="dashboard-static")
    app.add_exception_handler(SignInNeeded, _sign_in)
    app.add_exception_handler(PageError, _error_page)
    for outage in OUTAGES:
        if outage in app.exception_handlers:
            app.add_exception_handler(outage, _on_pages(app.exception_handlers[outage]))
