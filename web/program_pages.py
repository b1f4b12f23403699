"""The program: the criteria in force per tier and the other settings, its versions, the change
waiting for its date (with a cancel button), and a form that previews a change of criteria (or
of the tiers' discounts off list prices) on today's figures and then saves it, now or from an
effective date.

Saving goes through `services.program.save_change` and the program-change workflow's start
(`ProgramChanges.start_saved`), as `PATCH /provider/program` does; cancelling, through
`cancel_scheduled` and the workflow's cancel, as `DELETE /provider/program/scheduled` does.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from clients.program_changes import ProgramChanges
from models.program import ProgramSettings, TierCriteria
from models.program_change import TOO_FAR, too_far
from services import program
from services.errors import InputError, NotFoundError
from services.program import ProgramChange, ProgramSaved, ScheduledChange
from services.program_preview import ProgramPreview, preview_change
from web.context import REFUSALS, WebServices, read_form, refusal, render, web_services
from web.pages import ViewerDep
from web.session import Viewer, check_csrf

router = APIRouter(include_in_schema=False)
VERSIONS_PAGE = 20
PREVIEW_LIMIT = 100
CHANGED_BY = "dashboard"
TIERS = ("silver", "gold")
CRITERIA = list(TierCriteria.model_fields)
LABELS = {
    "min_orders_per_month": "orders per month",
    "min_acceptance_rate": "acceptance rate (0-1)",
    "min_completion_rate": "completion rate (0-1)",
    "min_rating": "rating (0-5)",
    "min_tenure_months": "tenure (months)",
    "min_revenue": "revenue",
}
DISCOUNT = "discount"
"""A tier's row in the form for its percent off list prices (`tierDiscounts` in the API)."""


def _typed(settings: ProgramSettings) -> dict[str, str]:
    """The form's fields filled with the criteria and the tier discounts in force."""
    values = {}
    for tier in TIERS:
        criteria: TierCriteria = getattr(settings, tier)
        for name in CRITERIA:
            values[f"{tier}.{name}"] = f"{getattr(criteria, name):g}"
        values[f"{tier}.{DISCOUNT}"] = f"{getattr(settings.tier_discounts, tier):g}"
    return values


def _context(
    svc: WebServices, who: Viewer, page: int, form: dict[str, str] | None = None
) -> dict[str, Any]:
    with svc.db.transaction() as session:
        current = program.current_program(session, who.provider_id)
        pending = program.pending_change(session, who.provider_id)
        versions, total = program.program_history(
            session, who.provider_id, page=page, page_size=VERSIONS_PAGE
        )
    typed = _typed(current.settings)
    typed.update(version=str(current.settings.version), effective_date="")
    typed.update({k: v for k, v in (form or {}).items() if k != "csrf"})
    return {
        "viewer": who,
        "current": current,
        "pending": pending,
        "versions": versions,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // VERSIONS_PAGE)),
        "tiers": TIERS,
        "criteria": CRITERIA,
        "labels": LABELS,
        "discount": DISCOUNT,
        "form": typed,
        "error": None,
        "preview": None,
        "cancel_error": None,
    }


@router.get("/program")
def program_page(
    request: Request, who: ViewerDep, page: Annotated[int, Query(ge=1, le=100_000)] = 1
) -> HTMLResponse:
    return render(request, "program", _context(web_services(request), who, page))


def _effective_at(text: str, now: datetime) -> datetime | None:
    """A date means 00:00 UTC of that day, as the API's `effectiveDate`."""
    if not text:
        return None
    try:
        at = datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
    except ValueError:
        raise InputError(f"effectiveDate: a date such as 2027-01-31, not {text!r}") from None
    if too_far(at, now):
        raise InputError(TOO_FAR)
    return at


def _changed(current: ProgramSettings, form: dict[str, str]) -> ProgramSettings:
    """The program in force with the criteria typed laid over it, validated whole; a field
    left empty keeps its value."""
    merged = current.model_dump()
    for tier in TIERS:
        for name in CRITERIA:
            typed = form.get(f"{tier}.{name}", "")
            if typed:
                merged[tier][name] = _number(f"{tier}.{_camel(name)}", typed)
        typed = form.get(f"{tier}.{DISCOUNT}", "")
        if typed:
            merged["tier_discounts"][tier] = _number(f"tierDiscounts.{tier}", typed)
    return ProgramSettings.model_validate(merged)


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


def _number(field: str, typed: str) -> float | int | str:
    """A typed figure as the JSON number the API would get (`3` whole, `0.9` not); text that
    is no number is left for the settings' validation to refuse, naming the field. JSON has
    no infinity or NaN, so neither is taken."""
    try:
        return int(typed)
    except ValueError:
        pass
    try:
        number = float(typed)
    except ValueError:
        return typed
    if not math.isfinite(number):
        raise InputError(f"{field}: Input should be a finite number")
    return number


@router.post("/program")
async def change_program(request: Request, who: ViewerDep) -> Response:
    """`action=preview` shows what the change would do on today's figures; `action=save`
    saves it (now, or scheduled for its effective date) and starts its workflow."""
    form = await read_form(request)
    check_csrf(who.csrf, form)
    svc = web_services(request)
    now = datetime.now(UTC)

    def preview() -> ProgramPreview:
        with svc.db.transaction() as session:
            current = program.current_program(session, who.provider_id).settings
            changed = _changed(current, form)
            return preview_change(
                session, who.provider_id, current, changed, now, limit=PREVIEW_LIMIT
            )

    def save(effective_at: datetime | None) -> ProgramSaved:
        based_on = int(form["version"]) if form.get("version", "").isdigit() else None
        with svc.db.transaction() as session:
            current = program.current_program(session, who.provider_id, lock=True).settings
            change = ProgramChange(
                settings=_changed(current, form),
                changed_by=CHANGED_BY,
                expected_version=based_on or current.version,
            )
            return program.save_change(
                session, who.provider_id, change, effective_at=effective_at, now=now
            )

    try:
        effective_at = _effective_at(form.get("effective_date", ""), now)
        if form.get("action") == "save":
            saved = await run_in_threadpool(save, effective_at)
            changes = ProgramChanges(svc.client, svc.task_queue)
            await changes.start_saved(svc.db, who.provider_id, saved)
            return RedirectResponse("/program", status_code=303)
        found = await run_in_threadpool(preview)
    except REFUSALS as error:
        message, status = refusal(error)
        context = await run_in_threadpool(_context, svc, who, 1, form)
        context["error"] = message
        return render(request, "program", context, status=status)
    context = await run_in_threadpool(_context, svc, who, 1, form)
    context["preview"] = found
    return render(request, "program", context)


@router.post("/program/scheduled/cancel")
async def cancel_scheduled(request: Request, who: ViewerDep) -> Response:
    """The change is never put in force and its workflow's timer is cancelled."""
    form = await read_form(request)
    check_csrf(who.csrf, form)
    svc = web_services(request)

    def cancel() -> ScheduledChange:
        with svc.db.transaction() as session:
            return program.cancel_scheduled(session, who.provider_id, datetime.now(UTC))

    try:
        cancelled = await run_in_threadpool(cancel)
    except NotFoundError as error:
        context = await run_in_threadpool(_context, svc, who, 1)
        context["cancel_error"] = str(error)
        return render(request, "program", context, status=404)
    await ProgramChanges(svc.client, svc.task_queue).cancel(who.provider_id, cancelled.version)
    return RedirectResponse("/program", status_code=303)
