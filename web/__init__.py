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

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

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
from web.context import STATIC, PageError, render
from web.portal_context import in_portal
from web.session import SignInNeeded


async def _sign_in(request: Request, error: Exception) -> Response:
    assert isinstance(error, SignInNeeded)
    return RedirectResponse(error.sign_in_path, status_code=303)


async def _error_page(request: Request, error: Exception) -> HTMLResponse:
    assert isinstance(error, PageError)
    template = "portal_error" if in_portal(request.url.path) else "error"
    return render(
        request, template, {"status": error.status, "message": error.message}, error.status
    )


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
