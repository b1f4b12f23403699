"""The message templates: each kind with whether the provider has its own, and one kind's page
to edit its subject and body, preview them for a chosen partner, save them, or go back to the
shipped ones.

Preview, save and reset are the service calls of `POST /provider/templates/{kind}/preview`,
`PUT` and `DELETE /provider/templates/{kind}` (services/templates.py): a provider's text is
untrusted, so it renders only there, in the bounded sandbox (store/template_engine.py), and
a template that does not render is refused with the API's text naming its line. What the
preview renders is plain text, shown escaped like everything else on the page.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from models.notifications import NotificationKind
from models.templates import CATALOGUE, FILTERS, MAX_TEMPLATE_CHARS, VARIABLES, TemplatePart
from services import templates
from services.dashboard import PartnerQuery, find_partners
from services.errors import NotFoundError
from services.templates import Rendered, TemplateChange, TemplateRecord
from web.context import REFUSALS, PageError, WebServices, read_form, refusal, render, web_services
from web.pages import ViewerDep
from web.partner_pages import REQUESTED_BY
from web.session import check_csrf

router = APIRouter(include_in_schema=False)
KindPath = Annotated[str, Path(max_length=100)]
MAX_PARTNERS = 500
"""Partners offered to preview a message for; the others by typing a team ID."""


def _kind(value: str) -> NotificationKind:
    try:
        return templates.parse_kind(value)
    except NotFoundError as error:
        raise PageError(404, str(error)) from None


@router.get("/templates")
def template_list(request: Request, who: ViewerDep) -> HTMLResponse:
    with web_services(request).db.transaction() as session:
        saved = templates.current_templates(session, who.provider_id)
    rows = [(CATALOGUE[kind], saved.get(kind)) for kind in CATALOGUE]
    return render(request, "templates", {"viewer": who, "rows": rows})


def _shipped(kind: NotificationKind) -> dict[str, str]:
    return {part.value: templates.effective_source(None, kind, part)[0] for part in TemplatePart}


def _draft(form: dict[str, str], kind: NotificationKind) -> TemplateChange:
    """The form's subject and body; a part left as shipped (or empty) is the shipped one, so
    that editing one part does not freeze the other."""
    shipped = _shipped(kind)
    parts: dict[str, str | None] = {}
    for part in TemplatePart:
        text = form.get(part.value, "").replace("\r\n", "\n")
        parts[part.value] = None if not text or text == shipped[part.value].strip() else text
    return TemplateChange.model_validate({**parts, "changed_by": REQUESTED_BY})


def _page_data(svc: WebServices, provider_id: str, kind: NotificationKind) -> dict[str, Any]:
    with svc.db.transaction() as session:
        record = templates.current_template(session, provider_id, kind)
        partners, _ = find_partners(
            session, provider_id, PartnerQuery(), page=1, page_size=MAX_PARTNERS
        )
    form = {part.value: templates.effective_source(record, kind, part)[0] for part in TemplatePart}
    return {
        "kind": kind.value,
        "info": CATALOGUE[kind],
        "record": record,
        "shipped": _shipped(kind),
        "variables": VARIABLES,
        "filters": FILTERS,
        "max_chars": MAX_TEMPLATE_CHARS,
        "partners": partners,
        "form": {**form, "reseller_team_id": ""},
        "preview": None,
        "error": None,
        "done": None,
    }


DONE = {"saved": "Saved: these templates are in force.", "reset": "The shipped templates are back."}


@router.get("/templates/{kind}")
def template_page(request: Request, kind: KindPath, who: ViewerDep) -> HTMLResponse:
    context = _page_data(web_services(request), who.provider_id, _kind(kind))
    context["done"] = DONE.get(request.query_params.get("done") or "")
    return render(request, "template", {"viewer": who, **context})


@router.post("/templates/{kind}")
async def edit_template(request: Request, kind: KindPath, who: ViewerDep) -> Response:
    """`action=preview` renders the draft (for the chosen partner); `action=save` puts it in
    force. Either refuses a template that does not render, saying which line."""
    form = await read_form(request)
    check_csrf(who.csrf, form)
    svc = web_services(request)
    wanted = _kind(kind)
    context = await run_in_threadpool(_page_data, svc, who.provider_id, wanted)
    context["form"] = form

    def preview(draft: TemplateChange) -> Rendered:
        team = form.get("reseller_team_id") or None
        return templates.preview(svc.db, who.provider_id, wanted, draft, team)

    def save(draft: TemplateChange) -> TemplateRecord:
        with svc.db.transaction() as session:
            return templates.save_template(session, who.provider_id, wanted, draft)

    status = 200
    try:
        draft = _draft(form, wanted)
        if form.get("action") == "save":
            await run_in_threadpool(save, draft)
            return RedirectResponse(f"/templates/{wanted.value}?done=saved", status_code=303)
        context["preview"] = await run_in_threadpool(preview, draft)
    except REFUSALS as error:
        context["error"], status = refusal(error)
    except NotFoundError as error:  # a reseller that is not the provider's
        context["error"], status = str(error), 404
    return render(request, "template", {"viewer": who, **context}, status=status)


@router.post("/templates/{kind}/reset")
async def reset_template(request: Request, kind: KindPath, who: ViewerDep) -> Response:
    """What `DELETE /provider/templates/{kind}` does: the shipped templates back in force (the
    saved versions are kept)."""
    form = await read_form(request)
    check_csrf(who.csrf, form)
    wanted = _kind(kind)

    def reset() -> None:
        with web_services(request).db.transaction() as session:
            templates.reset_template(session, who.provider_id, wanted, REQUESTED_BY)

    await run_in_threadpool(reset)
    return RedirectResponse(f"/templates/{wanted.value}?done=reset", status_code=303)
