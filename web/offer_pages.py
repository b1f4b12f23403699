"""The offers: the list with who sees each, a form to create one, and one offer's page with
its audience and the form to change it.

Creating and changing go through the service functions `POST` and `PATCH /provider/offers`
call (services/offers.py) with the same models, so the same rules refuse the same things
with the same text: an offer held by an exclusive keeps its audience (409). An early-access
offer's launch follows each save before it commits, as the API's does
(clients/offer_launches.py).
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from anyio import from_thread
from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from clients.announcements import Announcements
from clients.offer_launches import OfferLaunches
from models.announcement import OfferAnnounce
from models.offers import OfferStatus, Visibility
from models.wire import PATH_ID_PATTERN
from services import offers
from services.catalog import offer_audiences
from services.errors import NotFoundError
from services.offer_announcements import announce_offer
from services.offers import NewOffer, OfferChange, OfferRecord
from web.context import REFUSALS, PageError, WebServices, read_form, refusal, render, web_services
from web.pages import ViewerDep
from web.session import check_csrf

router = APIRouter(include_in_schema=False)
OfferPath = Annotated[str, Path(min_length=1, max_length=100, pattern=PATH_ID_PATTERN)]
MAX_OFFERS = 500
VISIBILITIES = [visibility.value for visibility in Visibility]
MIN_TIERS = ["", "silver", "gold"]
STATUSES = [status.value for status in OfferStatus]
TIER_PRICES = ("silver", "gold")
FIELDS = ("name", "monthly_price", "visibility", "min_tier", "allowed_resellers")


def _team_ids(text: str) -> list[str]:
    """Allowed resellers as typed: separated by commas, blanks or lines."""
    return [team for team in text.replace(",", " ").split() if team]


def _fields(form: dict[str, str]) -> dict[str, Any]:
    """The form's audience and details as the API's body would carry them; a field left
    empty clears it (in metadata, removes the key)."""
    tier_prices = {tier: form.get(f"{tier}_price") for tier in TIER_PRICES}
    return {
        "name": form.get("name", ""),
        "monthly_price": form.get("monthly_price", ""),
        "visibility": form.get("visibility", ""),
        "min_tier": form.get("min_tier") or None,
        "allowed_resellers": _team_ids(form.get("allowed_resellers", "")),
        "category": form.get("category") or None,
        "status": form.get("status") or OfferStatus.ACTIVE.value,
        "internal_name": form.get("internal_name") or None,
        "description": form.get("description") or None,
        "metadata": {
            "early_access": True if form.get("early_access") else None,
            "public_launch_date": form.get("public_launch_date") or None,
        },
        "tier_prices": {t: p for t, p in tier_prices.items() if p} or None,
    }


def _typed(record: OfferRecord) -> dict[str, str]:
    launch = record.metadata.public_launch_date
    prices = record.tier_prices.model_dump() if record.tier_prices else {}
    return {
        "name": record.name,
        "monthly_price": str(record.monthly_price),
        "visibility": record.visibility.value,
        "min_tier": record.min_tier.value if record.min_tier else "",
        "allowed_resellers": "\n".join(record.allowed_resellers),
        "category": record.category or "",
        "status": record.status.value,
        "internal_name": record.internal_name or "",
        "description": record.description or "",
        "early_access": "on" if record.metadata.early_access else "",
        "public_launch_date": launch.isoformat() if launch else "",
        **{f"{tier}_price": str(prices.get(tier) or "") for tier in TIER_PRICES},
    }


def _follow(
    svc: WebServices,
    session: Session,
    provider_id: str,
    record: OfferRecord,
    form: dict[str, str],
    *,
    before: OfferRecord | None = None,
    created: bool = False,
) -> None:
    """From the save's worker thread, before its transaction commits: the announcement the
    form asks for recorded and its workflow started, and the offer's launch workflow made to
    match it, so that Temporal unreachable (a 503) saves nothing."""
    if form.get("announce"):
        announcement = announce_offer(
            session, provider_id, record, OfferAnnounce(), svc.clock(), before=before
        )
        announcements = Announcements(svc.client, svc.task_queue)
        from_thread.run(partial(announcements.start, provider_id, announcement))
    launches = OfferLaunches(svc.client, svc.task_queue)
    from_thread.run(partial(launches.follow, provider_id, record, created=created))


def _list_context(svc: WebServices, provider_id: str) -> dict[str, Any]:
    with svc.db.transaction() as session:
        records, total = offers.list_offers(session, provider_id, page_size=MAX_OFFERS)
        audiences = offer_audiences(
            session, provider_id, [(r.offer_id, r.visibility) for r in records]
        )
    return {
        "records": records,
        "total": total,
        "audiences": audiences,
        "visibilities": VISIBILITIES,
        "min_tiers": MIN_TIERS,
        "statuses": STATUSES,
        "form": {"visibility": "public", "status": "active"},
        "error": None,
    }


@router.get("/offers")
def offer_list(request: Request, who: ViewerDep) -> HTMLResponse:
    context = _list_context(web_services(request), who.provider_id)
    return render(request, "offers", {"viewer": who, **context})


@router.post("/offers")
async def create_offer(request: Request, who: ViewerDep) -> Response:
    """What `POST /provider/offers` does; a refusal back on the list with what was typed."""
    form = await read_form(request)
    check_csrf(who.csrf, form)
    svc = web_services(request)

    def create() -> OfferRecord:
        new = NewOffer.model_validate({"offer_id": form.get("offer_id") or None, **_fields(form)})
        with svc.db.transaction() as session:
            record = offers.create_offer(session, who.provider_id, new)
            _follow(svc, session, who.provider_id, record, form, created=True)
            return record

    try:
        record = await run_in_threadpool(create)
    except REFUSALS as error:
        problem, status = refusal(error)
    else:
        return RedirectResponse(f"/offers/{record.offer_id}?done=created", status_code=303)
    context = await run_in_threadpool(_list_context, svc, who.provider_id)
    context.update(form=form, error=problem)
    return render(request, "offers", {"viewer": who, **context}, status=status)


def _offer_context(svc: WebServices, provider_id: str, offer_id: str) -> dict[str, Any]:
    with svc.db.transaction() as session:
        try:
            record = offers.get_offer(session, provider_id, offer_id)
        except NotFoundError as error:
            raise PageError(404, str(error)) from None
        audience = offer_audiences(session, provider_id, [(offer_id, record.visibility)])
    return {
        "offer": record,
        "audience": audience[offer_id],
        "visibilities": VISIBILITIES,
        "min_tiers": MIN_TIERS,
        "statuses": STATUSES,
        "form": _typed(record),
        "error": None,
        "done": None,
    }


DONE = {"created": "Offer created.", "changed": "Offer changed."}


@router.get("/offers/{offer_id}")
def offer_page(request: Request, offer_id: OfferPath, who: ViewerDep) -> HTMLResponse:
    context = _offer_context(web_services(request), who.provider_id, offer_id)
    context["done"] = DONE.get(request.query_params.get("done") or "")
    return render(request, "offer", {"viewer": who, **context})


@router.post("/offers/{offer_id}")
async def change_offer(request: Request, offer_id: OfferPath, who: ViewerDep) -> Response:
    """What `PATCH /provider/offers/{id}` does with every field of the form."""
    form = await read_form(request)
    check_csrf(who.csrf, form)
    svc = web_services(request)
    context = await run_in_threadpool(_offer_context, svc, who.provider_id, offer_id)

    def change() -> OfferRecord:
        wanted = OfferChange.model_validate(_fields(form))
        with svc.db.transaction() as session:
            before = offers.get_offer(session, who.provider_id, offer_id)
            record = offers.update_offer(session, who.provider_id, offer_id, wanted)
            _follow(svc, session, who.provider_id, record, form, before=before)
            return record

    try:
        await run_in_threadpool(change)
    except REFUSALS as error:
        problem, status = refusal(error)
    except NotFoundError as error:
        raise PageError(404, str(error)) from None
    else:
        return RedirectResponse(f"/offers/{offer_id}?done=changed", status_code=303)
    context.update(form=form, error=problem)
    return render(request, "offer", {"viewer": who, **context}, status=status)
