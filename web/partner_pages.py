"""One partner's page and the forms that steer it.

Every action goes through the same client call as the API's handler
(`PartnerPrograms.apply` with the workflow's request model), and asks for what the API
asks: a reason of at least three words where the partner is told (flag at risk, block,
removal). A refusal, whether the form's own or the workflow's, is shown beside the form
with the API's text, and what was typed is kept.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from clients.requests import WorkflowNotFound
from models.delivery import OutboxFilter
from models.metrics import next_tier
from models.partner import (
    AtRiskFlag,
    BlockRequest,
    GraceChange,
    IssueReport,
    IssueSeverity,
    NoteInput,
    NoteKind,
    NoteVisibility,
    PartnerState,
    ProviderAction,
    RemovalRequest,
    TierChange,
    UnblockRequest,
    reason_problem,
)
from models.standing import retention_check
from models.wire import PATH_ID_PATTERN
from services.dashboard import (
    monthly_orders,
    partner_agreements,
    provider_offers,
    reseller_name,
)
from services.enrollment import program_and_metrics
from services.errors import InputError, NotFoundError
from services.outbox import outbox_page
from web.charts import column_chart, criterion_bars
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
from web.session import check_csrf

router = APIRouter(include_in_schema=False)
TeamPath = Annotated[str, Path(min_length=1, max_length=200, pattern=PATH_ID_PATTERN)]
REQUESTED_BY = "dashboard"


def day_of(text: str, field: str) -> datetime:
    """A date field as the API reads a bare date: midnight UTC of that day."""
    try:
        return datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
    except ValueError:
        raise InputError(f"{field}: enter a date as YYYY-MM-DD, not {text!r}") from None


def _stated(reason: str) -> str:
    problem = reason_problem(reason)
    if problem:
        raise InputError(f"reason: {problem}")
    return reason


def _grace_days(text: str) -> int | None:
    if not text:
        return None
    if not text.isdigit():
        raise InputError(f"graceDays: a whole number of days (30-60), not {text!r}")
    return int(text)


@dataclass(frozen=True)
class Action:
    """A form on the partner page: the request it makes and what it says once done."""

    build: Callable[[dict[str, str]], ProviderAction]
    done: str


def _block(form: dict[str, str], offers: list[str]) -> BlockRequest:
    return BlockRequest(reason=_stated(form.get("reason", "")), offer_ids=offers)


ACTIONS: dict[str, Action] = {
    "notes": Action(
        lambda f: NoteInput(
            kind=NoteKind(f.get("kind") or "other"),
            text=f.get("text", ""),
            visibility=f.get("visibility") or NoteVisibility.INTERNAL,
        ),
        "Note added.",
    ),
    "at-risk": Action(
        lambda f: AtRiskFlag(
            reason=_stated(f.get("reason", "")), grace_days=_grace_days(f.get("grace_days", ""))
        ),
        "Flagged at risk.",
    ),
    "grace-deadline": Action(
        lambda f: GraceChange(
            reason=f.get("reason", ""), deadline=day_of(f.get("deadline", ""), "deadline")
        ),
        "Grace deadline moved.",
    ),
    "tier": Action(
        lambda f: TierChange(reason=f.get("reason", ""), tier=f.get("tier", "")),
        "Tier changed.",
    ),
    "issues": Action(
        lambda f: IssueReport(
            reason=f.get("reason", ""), severity=IssueSeverity(f.get("severity") or "minor")
        ),
        "Issue reported.",
    ),
    "block": Action(lambda f: _block(f, []), "Blocked."),
    "unblock": Action(lambda f: UnblockRequest(reason=f.get("reason", "")), "Block lifted."),
    "remove": Action(
        lambda f: RemovalRequest(reason=_stated(f.get("reason", ""))), "Removed from the list."
    ),
}


NOTE_VISIBILITIES = {
    NoteVisibility.INTERNAL: "Internal (only you)",
    NoteVisibility.PARTNER: "Shared with the partner",
}
"""The note form's choice of who reads the note: the reseller reads shared ones in its portal."""


DONE_ELSEWHERE = {"enrolled": "Added to the preferred list."}
"""What the forms of other pages that lead here did (the resellers page's enrollment)."""


def _page_data(svc: WebServices, provider_id: str, team: str, state: PartnerState) -> Any:
    program, metrics = program_and_metrics(svc.db, provider_id, team)
    with svc.db.transaction() as session:
        name = reseller_name(session, team)
        months = monthly_orders(session, provider_id, team, svc.clock())
        messages, message_total = outbox_page(
            session, provider_id, OutboxFilter(reseller_team_id=team), page=1, page_size=20
        )
        agreements = partner_agreements(session, provider_id, team)
        offers = provider_offers(session, provider_id)
    own = (
        retention_check(metrics, program, state.tier) if state.tier in program.partner_tiers else []
    )
    above = next_tier(state.tier, metrics, program)
    charts = {"orders": column_chart("Orders per month", [(m[-5:], n) for m, n in months])}
    if own:
        charts["own"] = criterion_bars(f"{state.tier.value} criteria", own)
    if above:
        charts["next"] = criterion_bars(f"{above[0].value} criteria", above[1])
    return {
        "name": name,
        "program": program,
        "metrics": metrics,
        "own": own,
        "above": above,
        "months": months,
        "messages": messages,
        "message_total": message_total,
        "agreements": agreements,
        "offers": offers,
        "charts": charts,
    }


async def _state(svc: WebServices, provider_id: str, team: str) -> PartnerState:
    try:
        return await svc.programs.state(provider_id, team)
    except WorkflowNotFound as error:
        raise PageError(404, str(error)) from None


async def _render_partner(
    request: Request,
    provider_id: str,
    team: str,
    context: dict[str, Any],
    status: int = 200,
    state: PartnerState | None = None,
) -> HTMLResponse:
    svc = web_services(request)
    state = state or await _state(svc, provider_id, team)
    data = await run_in_threadpool(_page_data, svc, provider_id, team, state)
    page = {
        "state": state,
        "team": team,
        "now": svc.clock(),
        "request_id": uuid.uuid4().hex,
        "note_kinds": [kind.value for kind in NoteKind],
        "note_visibilities": [(v.value, text) for v, text in NOTE_VISIBILITIES.items()],
        "errors": {},
        "values": {},
        "done": None,
        **data,
        **context,
    }
    return render(request, "partner", page, status=status)


@router.get("/partners/{team}")
async def partner(request: Request, team: TeamPath, who: ViewerDep) -> HTMLResponse:
    done = request.query_params.get("done")
    message = ACTIONS[done].done if done in ACTIONS else DONE_ELSEWHERE.get(done or "")
    return await _render_partner(request, who.provider_id, team, {"viewer": who, "done": message})


async def _apply(
    svc: WebServices, provider_id: str, team: str, action: str, form: dict[str, str]
) -> PartnerState:
    if action == "block":
        offers = [key.removeprefix("offer:") for key in form if key.startswith("offer:")]
        known = {offer_id for offer_id, _ in await run_in_threadpool(_offers, svc, provider_id)}
        unknown = sorted(set(offers) - known)
        if unknown:
            raise InputError(f"provider {provider_id} has no offers {', '.join(unknown)}")
        request: ProviderAction = _block(form, offers)
    else:
        request = ACTIONS[action].build(form)
    request = request.model_copy(
        update={"requested_by": REQUESTED_BY, "request_id": form.get("request_id") or None}
    )
    return await svc.programs.apply(provider_id, team, request)


def _offers(svc: WebServices, provider_id: str) -> list[tuple[str, str]]:
    with svc.db.transaction() as session:
        return provider_offers(session, provider_id)


@router.post("/partners/{team}/{action}")
async def act(request: Request, team: TeamPath, action: str, who: ViewerDep) -> Response:
    """Send one of the page's forms; back to the page, saying what was done or why not."""
    form = await read_form(request)
    check_csrf(who.csrf, form)
    if action not in ACTIONS:
        raise PageError(404, f"no action {action!r} on a partner")
    svc = web_services(request)
    state = await _state(svc, who.provider_id, team)
    try:
        await _apply(svc, who.provider_id, team, action, form)
    except REFUSALS as error:
        problem, status = refusal(error)
    except (NotFoundError, WorkflowNotFound) as error:
        raise PageError(404, str(error)) from None
    else:
        return RedirectResponse(f"/partners/{team}?done={action}", status_code=303)
    context = {"viewer": who, "errors": {action: problem}, "values": {action: form}}
    return await _render_partner(request, who.provider_id, team, context, status, state)
