"""The exclusive agreements: the list with a form to grant one, and one agreement's page with
its terms, scorecards and history and the forms to amend, renew and terminate it.

Each action builds the same request model as `/provider/agreements` (models/agreement.py)
and makes the same client call (clients/agreements.py), so the workflow refuses the same
things with the same text, shown beside the form with what was typed kept.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from clients.requests import WorkflowNotFound
from models.agreement import (
    AgreementAmendment,
    AgreementKind,
    AgreementRequest,
    AgreementState,
    AgreementTerms,
    EarlyRenewal,
    ReviewPeriod,
    TerminationRequest,
)
from models.partner import ProviderAction
from models.program import Frozen
from models.wire import PATH_ID_PATTERN
from services.catalog import agreements_query
from services.dashboard import provider_offers
from web.context import REFUSALS, PageError, WebServices, read_form, refusal, render, web_services
from web.pages import ViewerDep
from web.partner_pages import REQUESTED_BY, day_of
from web.session import check_csrf

router = APIRouter(include_in_schema=False)
AgreementPath = Annotated[str, Path(min_length=1, max_length=200, pattern=PATH_ID_PATTERN)]
MAX_AGREEMENTS = 500
STANDARDS = ("min_completion_rate", "min_acceptance_rate", "min_rating", "max_cancellation_rate")


class AgreementRow(Frozen):
    """An agreement as the list shows it, as its workflow last wrote it."""

    agreement_id: str
    reseller_team_id: str
    kind: str
    offer_id: str
    status: str
    term_number: int
    term_end: datetime
    ended_at: datetime | None


class _AgreementId(Frozen):
    """The new agreement's ID, as `POST /provider/agreements` takes it."""

    agreement_id: str = Field(min_length=1, max_length=200, pattern=PATH_ID_PATTERN)


def _given(form: dict[str, str], *names: str, prefix: str = "") -> dict[str, str]:
    """The fields the form filled in (an empty one is left out, as in the API's body)."""
    return {name: form[prefix + name] for name in names if form.get(prefix + name)}


def _terms(form: dict[str, str]) -> AgreementTerms:
    terms: dict[str, Any] = {
        **_given(form, "reseller_team_id", "kind", "offer_id", "term_months", "review_period"),
        **_given(form, "min_monthly_orders", "cure_period_days"),
        "zip_codes": form.get("zip_codes", "").replace(",", " ").split(),
        "standards": {name: form.get(name) or None for name in STANDARDS},
        "renewal": {
            "auto_renew": bool(form.get("auto_renew")),
            **_given(form, "max_breaches", "min_monthly_orders", prefix="renewal_"),
        },
    }
    if form.get("exclusive_until"):
        terms["exclusive_until"] = day_of(form["exclusive_until"], "exclusiveUntil")
    return AgreementTerms.model_validate(terms)


def _grant_request(form: dict[str, str]) -> tuple[str, AgreementRequest]:
    agreement_id = _AgreementId(agreement_id=form.get("agreement_id", "")).agreement_id
    request = AgreementRequest(
        terms=_terms(form), requested_by=REQUESTED_BY, request_id=form.get("request_id") or None
    )
    return agreement_id, request


def _rows(session: Session, provider_id: str) -> list[AgreementRow]:
    query = agreements_query(provider_id).limit(MAX_AGREEMENTS)
    return [
        AgreementRow.model_validate(row, from_attributes=True) for row in session.scalars(query)
    ]


def _list_context(svc: WebServices, provider_id: str) -> dict[str, Any]:
    with svc.db.transaction() as session:
        rows = _rows(session, provider_id)
        offers = provider_offers(session, provider_id)
    return {
        "rows": rows,
        "offers": offers,
        "kinds": [kind.value for kind in AgreementKind],
        "periods": [period.value for period in ReviewPeriod],
        "form": {"kind": "service", "term_months": "12", "review_period": "quarterly"},
        "error": None,
        "request_id": uuid.uuid4().hex,
    }


@router.get("/agreements")
def agreement_list(request: Request, who: ViewerDep) -> HTMLResponse:
    context = _list_context(web_services(request), who.provider_id)
    context["form"].update(auto_renew="on", cure_period_days="30", min_completion_rate="0.95")
    return render(request, "agreements", {"viewer": who, **context})


@router.post("/agreements")
async def grant(request: Request, who: ViewerDep) -> Response:
    """What `POST /provider/agreements` does; a refusal back on the list with what was typed."""
    form = await read_form(request)
    check_csrf(who.csrf, form)
    svc = web_services(request)
    try:
        agreement_id, wanted = _grant_request(form)
        await svc.agreements.create(who.provider_id, agreement_id, wanted)
    except REFUSALS as error:
        problem, status = refusal(error)
    else:
        return RedirectResponse(f"/agreements/{agreement_id}?done=granted", status_code=303)
    context = await run_in_threadpool(_list_context, svc, who.provider_id)
    context.update(form=form, error=problem, request_id=form.get("request_id") or uuid.uuid4().hex)
    return render(request, "agreements", {"viewer": who, **context}, status=status)


async def _state(svc: WebServices, provider_id: str, agreement_id: str) -> AgreementState:
    try:
        return await svc.agreements.state(provider_id, agreement_id)
    except WorkflowNotFound as error:
        raise PageError(404, str(error)) from None


def _merged(form: dict[str, str], current: Frozen, names: tuple[str, ...], prefix: str) -> Any:
    """The current standards or renewal criteria with the fields the form filled in."""
    given = _given(form, *names, prefix=prefix)
    return None if not given else {**current.model_dump(), **given}


def _amendment(form: dict[str, str], state: AgreementState) -> AgreementAmendment:
    terms = state.pending_terms or state.terms
    fields: dict[str, Any] = _given(form, "min_monthly_orders", "cure_period_days", "reason")
    if form.get("exclusive_until"):
        fields["exclusive_until"] = day_of(form["exclusive_until"], "exclusiveUntil")
    standards = _merged(form, terms.standards, STANDARDS, "standards_")
    renewal = _merged(form, terms.renewal, ("max_breaches", "min_monthly_orders"), "renewal_")
    if form.get("renewal_auto_renew"):
        renewal = {**(renewal or terms.renewal.model_dump())}
        renewal["auto_renew"] = form["renewal_auto_renew"] == "yes"
    if standards is not None:
        fields["standards"] = standards
    if renewal is not None:
        fields["renewal"] = renewal
    return AgreementAmendment.model_validate(fields)


ACTIONS = {"amend": "Amended: the new terms apply from the next review period.",
           "renew": "Renewed for another term.", "terminate": "Terminated."}  # fmt: skip
DONE = {"granted": "Agreement granted.", **ACTIONS}


def _request(action: str, form: dict[str, str], state: AgreementState) -> ProviderAction:
    if action == "amend":
        request: ProviderAction = _amendment(form, state)
    elif action == "renew":
        request = EarlyRenewal(reason=form.get("reason") or None)
    else:
        request = TerminationRequest(reason=form.get("reason", ""))
    return request.model_copy(
        update={"requested_by": REQUESTED_BY, "request_id": form.get("request_id") or None}
    )


async def _render_agreement(
    request: Request, who: Any, state: AgreementState, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    page = {
        "viewer": who,
        "a": state,
        "terms": state.terms,
        "standards": STANDARDS,
        "request_id": uuid.uuid4().hex,
        "errors": {},
        "values": {},
        "done": None,
        **context,
    }
    return render(request, "agreement", page, status=status)


@router.get("/agreements/{agreement_id}")
async def agreement_page(request: Request, agreement_id: AgreementPath, who: ViewerDep) -> Response:
    state = await _state(web_services(request), who.provider_id, agreement_id)
    done = DONE.get(request.query_params.get("done") or "")
    return await _render_agreement(request, who, state, {"done": done})


@router.post("/agreements/{agreement_id}/{action}")
async def act(
    request: Request, agreement_id: AgreementPath, action: str, who: ViewerDep
) -> Response:
    """Amend, renew or terminate; back to the page, saying what was done or why not."""
    form = await read_form(request)
    check_csrf(who.csrf, form)
    if action not in ACTIONS:
        raise PageError(404, f"no action {action!r} on an agreement")
    svc = web_services(request)
    state = await _state(svc, who.provider_id, agreement_id)
    try:
        await svc.agreements.apply(who.provider_id, agreement_id, _request(action, form, state))
    except REFUSALS as error:
        problem, status = refusal(error)
    except WorkflowNotFound as error:
        raise PageError(404, str(error)) from None
    else:
        return RedirectResponse(f"/agreements/{agreement_id}?done={action}", status_code=303)
    context = {"errors": {action: problem}, "values": {action: form}}
    return await _render_agreement(request, who, state, context, status)
