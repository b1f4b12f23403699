"""The marketplace's resellers: found by name or team ID, each with its metrics over the
program's window and the tier it meets, and "Add to preferred list" as the program documents
describe it (tier, effective date, notes).

The enrollment checks what `POST /provider/partners/preferred` checks, through the same
functions (services.enrollment): a reseller below the tier's criteria is refused with each
missed criterion, unless the provider overrides it and says why in the notes.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from models.metrics import evaluate, qualifying_tier
from models.partner import EnrollmentRequest
from models.program import ProgramSettings, Tier
from models.schema import Provider, Reseller
from services.dashboard import resellers_metrics
from services.enrollment import (
    override_problem,
    require_criteria_or_override,
    require_reseller,
)
from services.errors import InputError
from services.resellers import search_resellers
from web.charts import criterion_bars
from web.context import (
    REFUSALS,
    PageError,
    WebServices,
    read_form,
    refusal,
    render,
    web_services,
)
from web.pages import ViewerDep
from web.partner_pages import REQUESTED_BY, TeamPath, day_of
from web.session import check_csrf

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
OVERRIDE_BY_FORM = 'tick "Enroll below the criteria" and say why in the notes'
"""How a provider enrolls a reseller below the criteria here (the refusal ends with it)."""


def _program(session: Any, provider_id: str) -> ProgramSettings:
    provider = session.get(Provider, provider_id)
    if provider is None:
        raise PageError(404, f"unknown provider {provider_id!r}")
    return ProgramSettings.model_validate(provider.program)


@router.get("/resellers")
def resellers(
    request: Request,
    who: ViewerDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    svc = web_services(request)
    now = svc.clock()
    with svc.db.transaction() as session:
        program = _program(session, who.provider_id)
        listings, total = search_resellers(
            session, who.provider_id, (q or "").strip() or None, page=page, page_size=PAGE_SIZE
        )
        joined = {listing.reseller_team_id: listing.joined_at for listing in listings}
        metrics = resellers_metrics(
            session, who.provider_id, joined, now, program.metrics_window_days
        )
    meets = {team: qualifying_tier(figures, program) for team, figures in metrics.items()}
    context = {
        "viewer": who,
        "listings": listings,
        "metrics": metrics,
        "meets": meets,
        "program": program,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "params": {"q": q or ""},
    }
    return render(request, "resellers", context)


def _reseller_data(svc: WebServices, provider_id: str, team: str) -> dict[str, Any]:
    with svc.db.transaction() as session:
        reseller = session.get(Reseller, team)
        if reseller is None:
            raise PageError(404, f"unknown reseller {team!r}: no reseller has this team ID")
        program = _program(session, provider_id)
        metrics = resellers_metrics(
            session,
            provider_id,
            {team: reseller.joined_at},
            svc.clock(),
            program.metrics_window_days,
        )[team]
        name, region = reseller.name, reseller.region
    tiers = []
    for tier in program.partner_tiers:
        criteria = program.criteria_for(tier)
        if criteria is None:
            continue
        results = evaluate(
            metrics, criteria, unrated=program.unrated, basis_days=program.metrics_window_days
        )
        tiers.append((tier.value, results, criterion_bars(f"{tier.value} criteria", results)))
    return {"name": name, "region": region, "metrics": metrics, "tiers": tiers}


async def _render_reseller(
    request: Request, who: Any, team: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    data = await run_in_threadpool(_reseller_data, web_services(request), who.provider_id, team)
    page = {
        "viewer": who,
        "team": team,
        "request_id": uuid.uuid4().hex,
        "error": None,
        "typed": {"tier": "silver"},
        **data,
        **context,
    }
    return render(request, "reseller", page, status=status)


@router.get("/resellers/{team}")
async def reseller(request: Request, team: TeamPath, who: ViewerDep) -> HTMLResponse:
    return await _render_reseller(request, who, team, {})


def _enrollment(form: dict[str, str]) -> EnrollmentRequest:
    override = form.get("override") == "on"
    notes = form.get("notes") or None
    problem = override_problem(override, notes)
    if problem:
        raise InputError(problem)
    when = form.get("effective_date", "")
    return EnrollmentRequest(
        tier=Tier(form.get("tier") or "silver"),
        effective_date=day_of(when, "effectiveDate") if when else None,
        notes=notes,
        override=override,
        requested_by=REQUESTED_BY,
        request_id=form.get("request_id") or None,
    )


@router.post("/resellers/{team}/enroll")
async def enroll(request: Request, team: TeamPath, who: ViewerDep) -> Response:
    """Add the reseller to the preferred list, as the API's enrollment does."""
    form = await read_form(request)
    check_csrf(who.csrf, form)
    svc = web_services(request)
    try:
        wanted = _enrollment(form)
        await run_in_threadpool(require_reseller, svc.db, team)
        await run_in_threadpool(
            require_criteria_or_override,
            svc.db,
            who.provider_id,
            team,
            wanted.tier,
            override=wanted.override,
            how_to_override=OVERRIDE_BY_FORM,
        )
        await svc.programs.enroll(who.provider_id, team, wanted)
    except REFUSALS as error:
        problem, status = refusal(error)
    else:
        return RedirectResponse(f"/partners/{team}?done=enrolled", status_code=303)
    return await _render_reseller(request, who, team, {"error": problem, "typed": form}, status)
