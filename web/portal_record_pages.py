"""The reseller's records in its portal: its exclusive agreements with their terms and
scorecards, the messages the programs sent it, and its quarterly scorecards (printable).

Another team's message or scorecard is the portal's 404 page, as one that does not exist."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from models.review import ReviewCadence, ReviewPeriod, review_id
from services import portal_records
from web.context import PageError
from web.portal_context import PORTAL, PortalViewerDep, ProviderPath, bars, portal_render, reading

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 25
QuarterPath = Annotated[str, Path(min_length=1, max_length=20)]
"""Like 2026-Q3; anything else is a page that says so (404), not the API's 422."""


@router.get(f"{PORTAL}/agreements")
def agreements(request: Request, who: PortalViewerDep) -> HTMLResponse:
    with reading(request) as session:
        rows = portal_records.reseller_agreements(session, who.reseller_team_id)
    return portal_render(request, who, "agreements", {"agreements": rows})


@router.get(f"{PORTAL}/messages")
def messages(
    request: Request,
    who: PortalViewerDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    with reading(request) as session:
        rows, total = portal_records.inbox(
            session, who.reseller_team_id, page=page, page_size=PAGE_SIZE
        )
    context = {
        "messages": rows,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "params": {},
    }
    return portal_render(request, who, "messages", context)


@router.get(f"{PORTAL}/messages/{{message_id}}")
def message(
    request: Request,
    message_id: Annotated[int, Path(ge=1, le=2**62)],
    who: PortalViewerDep,
) -> HTMLResponse:
    with reading(request) as session:
        found = portal_records.inbox_message(session, who.reseller_team_id, message_id)
    return portal_render(request, who, "message", {"message": found})


@router.get(f"{PORTAL}/scorecards")
def scorecards(request: Request, who: PortalViewerDep) -> HTMLResponse:
    with reading(request) as session:
        cards = portal_records.scorecards(session, who.reseller_team_id)
    return portal_render(request, who, "scorecards", {"scorecards": cards})


@router.get(f"{PORTAL}/programs/{{provider_id}}/scorecards/{{quarter}}")
def scorecard(
    request: Request, provider_id: ProviderPath, quarter: QuarterPath, who: PortalViewerDep
) -> HTMLResponse:
    try:
        period = ReviewPeriod.parse(ReviewCadence.QUARTERLY, quarter)
        wanted = review_id(provider_id, period)
    except ValueError as error:
        raise PageError(404, f"no scorecard of {quarter}: {error}") from None
    with reading(request) as session:
        card = portal_records.scorecard(session, who.reseller_team_id, wanted)
    context = {
        "card": card,
        "own_bars": bars(card.tier_criteria),
        "next_bars": bars(card.next_tier),
    }
    return portal_render(request, who, "scorecard", context)
