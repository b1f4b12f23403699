"""The provider's API keys: the list, another key made (shown once), and one revoked after a
confirmation, through services/keys.py as `/provider/keys` does.

Revoking the key this session signed in with ends the session: the next request would be
refused anyway, so the browser is sent to the sign-in page at once.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from models.reseller import ShortLine
from services.errors import NotFoundError
from services.keys import KeyInfo, create_key, list_keys, revoke_key
from web.context import REFUSALS, PageError, WebServices, read_form, refusal, render, web_services
from web.pages import ViewerDep
from web.session import Viewer, check_csrf, end_session

router = APIRouter(include_in_schema=False)
KeyId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class _NewKey(BaseModel):
    """The create form, checked as `POST /provider/keys` checks its body."""

    label: ShortLine | None = None


def _keys(svc: WebServices, provider_id: str) -> list[KeyInfo]:
    with svc.db.transaction() as session:
        return list_keys(session, provider_id)


def _list_context(svc: WebServices, who: Viewer) -> dict[str, Any]:
    return {
        "viewer": who,
        "keys": _keys(svc, who.provider_id),
        "label": "",
        "error": None,
        "created": None,
        "confirm": None,
    }


@router.get("/keys")
def key_list(request: Request, who: ViewerDep) -> HTMLResponse:
    return render(request, "keys", _list_context(web_services(request), who))


@router.post("/keys")
async def make_key(request: Request, who: ViewerDep) -> Response:
    """Another key, shown on the answer this once."""
    form = await read_form(request)
    check_csrf(who.csrf, form)
    svc = web_services(request)

    def create() -> Any:
        wanted = _NewKey(label=form.get("label") or None)
        with svc.db.transaction() as session:
            return create_key(session, who.provider_id, wanted.label)

    try:
        issued = await run_in_threadpool(create)
    except REFUSALS as error:
        message, status = refusal(error)
        context = await run_in_threadpool(_list_context, svc, who)
        context.update(error=message, label=form.get("label", ""))
        return render(request, "keys", context, status=status)
    context = await run_in_threadpool(_list_context, svc, who)
    context["created"] = issued
    return render(request, "keys", context, status=201)


def _find(svc: WebServices, who: Viewer, key_id: int) -> KeyInfo:
    for key in _keys(svc, who.provider_id):
        if key.id == key_id:
            return key
    raise PageError(404, f"provider {who.provider_id} has no API key {key_id}")


@router.get("/keys/{key_id}/revoke")
def confirm_revoke(request: Request, key_id: KeyId, who: ViewerDep) -> HTMLResponse:
    svc = web_services(request)
    context = _list_context(svc, who)
    context["confirm"] = _find(svc, who, key_id)
    return render(request, "keys", context)


@router.post("/keys/{key_id}/revoke")
async def revoke(request: Request, key_id: KeyId, who: ViewerDep) -> Response:
    """The key is refused from the next request on; the last active key is not revoked."""
    form = await read_form(request)
    check_csrf(who.csrf, form)
    svc = web_services(request)

    def run() -> KeyInfo:
        with svc.db.transaction() as session:
            return revoke_key(session, who.provider_id, key_id)

    try:
        revoked = await run_in_threadpool(run)
    except NotFoundError as error:
        raise PageError(404, str(error)) from None
    except REFUSALS as error:
        message, status = refusal(error)
        context = await run_in_threadpool(_list_context, svc, who)
        context["error"] = message
        context["confirm"] = await run_in_threadpool(_find, svc, who, key_id)
        return render(request, "keys", context, status=status)
    if revoked.id == who.key_id:
        response = RedirectResponse("/sign-in", status_code=303)
        end_session(response)
        return response
    return RedirectResponse("/keys", status_code=303)
