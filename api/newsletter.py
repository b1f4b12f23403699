"""`/provider/newsletter`: the monthly newsletter, turned on or off, its months with their
progress, one month sent by hand, and what one partner would read."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import Field

from api.deps import ProviderDep, ServicesDep, SessionDep
from api.views import ApiModel, Problem
from clients.newsletters import Newsletters
from clients.review_schedules import SchedulesUnavailable
from models.newsletter import MONTH_PATTERN, month_before
from models.wire import PATH_ID_PATTERN
from services.newsletters import (
    NewsletterPreview,
    NewsletterState,
    newsletter_state,
    preview_newsletter,
)

router = APIRouter(prefix="/provider/newsletter", tags=["newsletter"])
Month = Annotated[str, Field(pattern=MONTH_PATTERN, description="2026-11")]
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": Problem, "description": "Temporal is unavailable, or has no Schedules."}
}


class NewsletterView(NewsletterState):
    model_config = ApiModel.model_config


class NewsletterChoice(ApiModel):
    enabled: bool = Field(description="Send the monthly newsletter to every partner on the list.")


class NewsletterSend(ApiModel):
    month: Month | None = Field(default=None, description="Left out: the month just ended.")


class NewsletterSent(ApiModel):
    month: str
    workflow_id: str = Field(description="The month's workflow in the Temporal UI.")


class PreviewView(NewsletterPreview):
    model_config = ApiModel.model_config


def _newsletters(svc: ServicesDep) -> Newsletters:
    return Newsletters(svc.client, svc.task_queue)


@router.get("", summary="The monthly newsletter: on or off, and the months sent")
def get_newsletter(provider: ProviderDep, db: SessionDep, svc: ServicesDep) -> NewsletterView:
    return NewsletterView.model_validate(newsletter_state(db, provider, svc.clock()).model_dump())


@router.put("", summary="Turn the monthly newsletter on or off", responses=UNAVAILABLE)
async def put_newsletter(
    body: NewsletterChoice, provider: ProviderDep, db: SessionDep, svc: ServicesDep
) -> NewsletterView:
    """On: each partner on the preferred list gets, at 09:00 UTC on the 1st, the offers it
    could newly see last month at its price, its figures against the month before and a tip
    for its weakest criterion (the `newsletter` template, editable like the others). The
    Schedule that sends it is `newsletter-schedule/{provider}` in the Temporal UI."""
    try:
        state = await _newsletters(svc).turn(db, provider, body.enabled, svc.clock())
    except SchedulesUnavailable as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(error)) from None
    return NewsletterView.model_validate(state.model_dump())


@router.post(
    "/sends",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send one month's newsletter now",
    responses=UNAVAILABLE,
)
async def send_newsletter(
    body: NewsletterSend, provider: ProviderDep, db: SessionDep, svc: ServicesDep
) -> NewsletterSent:
    """Each partner gets a month's newsletter once: a month already sent is not sent again
    (its workflow is named). 409 while the newsletter is off."""
    month = body.month or month_before(svc.clock())
    handle = await _newsletters(svc).send(db, provider, month, svc.clock())
    return NewsletterSent(month=month, workflow_id=handle.id)


@router.get("/preview", summary="What one partner would read in a month's newsletter")
def preview(
    provider: ProviderDep,
    db: SessionDep,
    svc: ServicesDep,
    reseller_team_id: Annotated[
        str, Query(alias="resellerTeamId", min_length=1, max_length=100, pattern=PATH_ID_PATTERN)
    ],
    month: Annotated[str | None, Query(pattern=MONTH_PATTERN)] = None,
) -> PreviewView:
    """Rendered with the provider's template as it is now; nothing is recorded or sent."""
    chosen = month or month_before(svc.clock())
    return PreviewView.model_validate(
        preview_newsletter(db, provider, reseller_team_id, chosen).model_dump()
    )
