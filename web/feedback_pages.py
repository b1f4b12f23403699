"""What resellers told the provider: their feedback, the newest first, filtered by kind and by
ZIP code a page at a time, and the demand they name grouped by ZIP code, as
`GET /provider/feedback` answers it (services/feedback.py)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from models.feedback import FeedbackKind
from services import feedback
from web.context import render, web_services
from web.pages import ViewerDep

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
KINDS = [kind.value for kind in FeedbackKind]
Filter = Annotated[str, Query(max_length=200)]


@router.get("/feedback")
def feedback_list(
    request: Request,
    who: ViewerDep,
    kind: Filter = "",
    zip: Filter = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """An unknown kind or a ZIP code that is not five digits is said beside the filters; the
    other filter still applies."""
    params = {"kind": kind, "zip": zip.strip()}
    errors = []
    if kind and kind not in KINDS:
        errors.append(f"kind: one of {', '.join(KINDS)}")
    zip_code = params["zip"] or None
    if zip_code is not None and re.fullmatch(r"[0-9]{5}", zip_code) is None:
        errors.append("ZIP code: five digits")
        zip_code = None
    chosen = FeedbackKind(kind) if kind in KINDS else None
    with web_services(request).db.transaction() as session:
        records, total = feedback.provider_feedback(
            session, who.provider_id, kind=chosen, zip_code=zip_code, page=page, page_size=PAGE_SIZE
        )
        demand = feedback.zip_demand(session, who.provider_id, kind=chosen)
    context = {
        "viewer": who,
        "records": records,
        "demand": demand,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "params": params,
        "kinds": KINDS,
        "error": "; ".join(errors) or None,
    }
    return render(request, "feedback", context, status=422 if errors else 200)
