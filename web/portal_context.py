"""What every page of the reseller's portal needs: the signed-in team, its name for the
layout, the criteria as bars, and the services' NotFoundError shown as the portal's 404."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.responses import HTMLResponse
from pydantic.alias_generators import to_snake
from sqlalchemy.orm import Session

from models.metrics import CriterionResult
from models.wire import PATH_ID_PATTERN
from services.errors import NotFoundError
from services.portal import CriterionGap, TierCriteriaView, reseller_identity
from web.context import PageError, render, templates, web_services
from web.session import PortalViewer, portal_viewer

PORTAL = "/portal"
CRITERION_FIELDS = tuple(CriterionResult.model_fields)
PortalViewerDep = Annotated[PortalViewer, Depends(portal_viewer)]
ProviderPath = Annotated[str, Path(min_length=1, max_length=100, pattern=PATH_ID_PATTERN)]


def in_portal(path: str) -> bool:
    return path == PORTAL or path.startswith(f"{PORTAL}/")


@contextmanager
def reading(request: Request) -> Iterator[Session]:
    """A transaction over the services' read model; what is not the team's own (a provider
    whose program it does not see, another team's message) is the portal's 404 page."""
    try:
        with web_services(request).db.transaction() as session:
            yield session
    except NotFoundError as error:
        raise PageError(404, str(error)) from None


def portal_render(
    request: Request, who: PortalViewer, name: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    """A portal page from `templates/portal_{name}.html.j2`, its layout naming the team."""
    with web_services(request).db.transaction() as session:
        identity = reseller_identity(session, who.reseller_team_id)
    page = {"reseller": who, "reseller_name": identity.name, **context}
    return render(request, f"portal_{name}", page, status)


@dataclass(frozen=True)
class Bar:
    """One criterion as the portal draws it: the value against the line, how much of the way
    to the line the value is (the bar's share), and what reaching the line takes."""

    label: str
    value: str
    line: str
    at_most: bool
    met: bool
    share: float
    text: str
    needs: str | None


def bar(gap: CriterionGap) -> Bar:
    result = CriterionResult.model_validate(gap.model_dump(include=set(CRITERION_FIELDS)))
    value, line = result.formatted()
    share = gap.progress
    if gap.at_most and not gap.met and gap.actual:
        # A ceiling passed: the further over it, the shorter the bar (progress, read toward
        # a floor, would draw it full).
        share = max(0.0, min(1.0, gap.required / gap.actual))
    return Bar(
        label=gap.label,
        value=value,
        line=line,
        at_most=gap.at_most,
        met=gap.met,
        share=1.0 if gap.met else round(share, 4),
        text=gap.text,
        needs=gap.needs,
    )


def bars(criteria: TierCriteriaView | list[CriterionGap] | None) -> list[Bar]:
    if criteria is None:
        return []
    gaps = criteria.criteria if isinstance(criteria, TierCriteriaView) else criteria
    return [bar(gap) for gap in gaps]


def criterion_text(line: Mapping[str, Any]) -> str:
    """An agreement scorecard's line (a criterion as stored, camelCase keys) as a person
    reads it: "completion 84.6% < 95.0%"."""
    fields = {to_snake(key): value for key, value in line.items()}
    return CriterionResult.model_validate(fields).describe()


def words(key: str) -> str:
    """A camelCase key as words: `minMonthlyOrders` → `min monthly orders`."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r" \1", key).lower()


templates.globals.update(criterion_text=criterion_text)
templates.filters.update(words=words)
