"""The reseller's portal: signing in with a reseller key, the programs it sees, and where it
stands in one of them (status, tier, the grace deadline and what to fix, the criteria of its
tier and of the next as bars, its figures, the offers it sees, notes and scorecards).

Every page reads `services.portal` for the signed-in team alone: a provider whose program it
does not see is the portal's 404 page, whether the provider exists or not.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from services import portal, portal_records
from services.reseller_keys import reseller_for_key
from web.context import read_form, render, web_services
from web.portal_context import PORTAL, PortalViewerDep, ProviderPath, bars, portal_render, reading
from web.session import (
    RESELLER,
    SESSION_HOURS,
    check_csrf,
    check_sign_in_token,
    end_session,
    remember_sign_in,
    sign_in_token,
    start_portal_session,
)

router = APIRouter(include_in_schema=False)
SIGN_IN = f"{PORTAL}/sign-in"
UNKNOWN_KEY = "That reseller key is unknown or has been revoked."
RECENT_SCORECARDS = 4


@router.get(SIGN_IN)
def sign_in_page(request: Request) -> HTMLResponse:
    token, cookie = sign_in_token(request, RESELLER)
    context = {"sign_in_token": token, "error": None, "hours": SESSION_HOURS}
    page = render(request, "portal_sign_in", context)
    if cookie is not None:
        remember_sign_in(request, page, cookie, RESELLER)
    return page


@router.post(SIGN_IN)
async def sign_in(request: Request) -> Response:
    """The key comes in the form's body, never in the URL; a portal session cookie goes back."""
    form = await read_form(request)
    check_sign_in_token(request, form, RESELLER)
    key = form.get("reseller_key", "")

    def lookup() -> Any:
        with web_services(request).db.transaction() as session:
            return reseller_for_key(session, key) if key else None

    signed = await run_in_threadpool(lookup)
    if signed is None:
        error = UNKNOWN_KEY if key else "Enter your reseller key."
        if key.startswith("pf_"):
            error = "That is a provider's API key: providers sign in to the dashboard at /sign-in."
        context = {"sign_in_token": form.get("csrf", ""), "error": error, "hours": SESSION_HOURS}
        return render(request, "portal_sign_in", context, status=401)
    response = RedirectResponse(PORTAL, status_code=303)
    start_portal_session(request, response, signed)
    return response


@router.post(f"{PORTAL}/sign-out")
async def sign_out(request: Request, who: PortalViewerDep) -> Response:
    check_csrf(who.csrf, await read_form(request))
    response = RedirectResponse(SIGN_IN, status_code=303)
    end_session(response, RESELLER)
    return response


@router.get(PORTAL)
def programs(request: Request, who: PortalViewerDep) -> HTMLResponse:
    with reading(request) as session:
        rows = portal.program_summaries(
            session, who.reseller_team_id, web_services(request).clock()
        )
    return portal_render(request, who, "programs", {"programs": rows})


@router.get(f"{PORTAL}/programs/{{provider_id}}")
def program(request: Request, provider_id: ProviderPath, who: PortalViewerDep) -> HTMLResponse:
    team = who.reseller_team_id
    with reading(request) as session:
        standing = portal.standing(session, provider_id, team, web_services(request).clock())
        offers = portal_records.seen_offers(session, provider_id, team)
        cards = portal_records.scorecards(session, team, provider_id, limit=RECENT_SCORECARDS)
    context = {
        "standing": standing,
        "offers": offers,
        "scorecards": cards,
        "own_bars": bars(standing.current_tier),
        "next_bars": bars(standing.next_tier),
    }
    return portal_render(request, who, "program", context)
