"""What every dashboard page needs: the services the API runs on, the templates, and the
errors a page shows as a page of its own (404, 403) rather than inline."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError
from temporalio.client import Client

from clients.agreements import Agreements
from clients.partners import PartnerPrograms
from clients.requests import InputRejected, RequestRejected
from clients.reviews import Reviews
from models.database import Database
from models.partner import days_left
from models.wire import describe_errors
from services.errors import ConflictError

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


class WebServices(Protocol):
    """The API's services (api.deps.Services), as far as the pages use them."""

    db: Database
    client: Client
    task_queue: str
    clock: Callable[[], datetime]

    @property
    def programs(self) -> PartnerPrograms: ...

    @property
    def reviews(self) -> Reviews: ...

    @property
    def agreements(self) -> Agreements: ...


def web_services(request: Request) -> WebServices:
    found: WebServices = request.app.state.services
    return found


API_PREFIXES = ("/provider/", "/reseller/", "/marketplace/", "/health/", "/docs", "/openapi")
"""The API's paths: everything else the app serves is a page."""


def is_page(path: str) -> bool:
    return not path.startswith(API_PREFIXES)


class PageError(Exception):
    """A request the dashboard answers with a page that says why: 403, 404, 503."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _day(value: datetime | None) -> str:
    return "" if value is None else f"{value.astimezone(UTC):%Y-%m-%d}"


def _moment(value: datetime | None) -> str:
    return "" if value is None else f"{value.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _query(params: Mapping[str, object], **changes: object) -> str:
    """The page's query string with `changes` applied; empty values left out."""
    merged = {**params, **changes}
    return urlencode({k: v for k, v in merged.items() if v not in (None, "")})


templates = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters.update(day=_day, moment=_moment, percent=_percent)
templates.globals.update(days_left=days_left, query=_query)


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    """A page from `templates/{name}.html.j2`; the base layout shows the nav when signed in."""
    html = templates.get_template(f"{name}.html.j2").render(
        request=request, path=request.url.path, **context
    )
    return HTMLResponse(html, status_code=status)


async def read_form(request: Request) -> dict[str, str]:
    """A posted form's text fields, stripped of surrounding blanks (a file field is ignored)."""
    form = await request.form()
    return {key: value.strip() for key, value in form.items() if isinstance(value, str)}


REFUSALS = (ValueError, InputRejected, RequestRejected, ConflictError)
"""What a form's request can be refused with: a value that does not fit (422), or a request
that does not fit the state of what it names (409)."""


def refusal(error: Exception) -> tuple[str, int]:
    """The refusal's text and status, as the API answers it (api/errors.py)."""
    if isinstance(error, ValidationError):
        return describe_errors(error.errors(), camel=True), 422
    if isinstance(error, ValueError | InputRejected):
        return str(error), 422
    return str(error), 409
