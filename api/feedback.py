"""Feedback loops: `/reseller/feedback`, where a reseller sends the providers whose programs it
sees what it needs and where its customers are, and `/provider/feedback`, where a provider
reads what its resellers sent it, with the demand they name grouped by ZIP code."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from api.deps import ProviderDep, ResellerDep, SessionDep
from api.views import ApiModel, Page, Problem
from models.feedback import (
    FEEDBACK_LIMIT,
    FEEDBACK_WINDOW_HOURS,
    FeedbackKind,
    FeedbackRecord,
    NewFeedback,
    ZipDemand,
)
from services import feedback
from services.errors import RateLimitedError

router = APIRouter(tags=["feedback"])
reseller_router = APIRouter(tags=["reseller portal"])

PageNumber = Annotated[int, Query(ge=1, le=100_000)]
PageSize = Annotated[int, Query(ge=1, le=500, alias="pageSize")]


class FeedbackBody(NewFeedback):
    model_config = ApiModel.model_config


class FeedbackView(FeedbackRecord):
    model_config = ApiModel.model_config


class ZipDemandView(ZipDemand):
    model_config = ApiModel.model_config


class ProviderFeedbackPage(Page[FeedbackView]):
    demand_by_zip: list[ZipDemandView]


def _view(record: FeedbackRecord) -> FeedbackView:
    return FeedbackView.model_validate(record, from_attributes=True)


@reseller_router.post(
    "/reseller/feedback",
    status_code=status.HTTP_201_CREATED,
    summary="Send a provider feedback",
    responses={
        404: {"model": Problem, "description": "The reseller does not see that provider."},
        429: {
            "model": Problem,
            "description": f"{FEEDBACK_LIMIT} sent to that provider in the last "
            f"{FEEDBACK_WINDOW_HOURS} hours: send again after Retry-After seconds.",
        },
    },
)
def send_feedback(body: FeedbackBody, reseller: ResellerDep, db: SessionDep) -> FeedbackView:
    """Tell a provider whose program the reseller sees (one whose preferred list it is on,
    or one of whose offers it sees) what services it needs (`services_needed`, naming a
    `serviceCategory`), which ZIP codes have high demand (`zip_demand`, naming at least one
    of `zipCodes`), what competitors offer (`competitive_offering`) or how the program could
    work better (`process_improvement`). Feedback that does not fit is refused whole (422)
    and nothing is kept; a provider the reseller does not see is not found (404). A reseller
    sends one provider at most 20 feedback in 24 hours (429 after that)."""
    try:
        return _view(feedback.send_feedback(db, reseller, body))
    except RateLimitedError as error:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            str(error),
            headers={"Retry-After": str(error.retry_after)},
        ) from None


@reseller_router.get(
    "/reseller/feedback", summary="The feedback the reseller sent, the newest first"
)
def own_feedback(
    reseller: ResellerDep, db: SessionDep, page: PageNumber = 1, page_size: PageSize = 50
) -> Page[FeedbackView]:
    """Everything the reseller sent, to every provider, each with the provider's name."""
    records, total = feedback.reseller_feedback(db, reseller, page=page, page_size=page_size)
    return Page[FeedbackView](
        items=[_view(record) for record in records], total=total, page=page, page_size=page_size
    )


@router.get("/provider/feedback", summary="What resellers told the provider, by ZIP code too")
def provider_feedback(
    provider: ProviderDep,
    db: SessionDep,
    kind: FeedbackKind | None = None,
    zip_code: Annotated[
        str | None, Query(alias="zipCode", pattern=r"^[0-9]{5}$", description="Five digits.")
    ] = None,
    page: PageNumber = 1,
    page_size: PageSize = 50,
) -> ProviderFeedbackPage:
    """A page of the feedback resellers sent the provider, the newest first, each with the
    reseller's name; only of one `kind`, or only naming one `zipCode`, where given.
    `demandByZip` groups all of it (of `kind`, where given) by the ZIP codes it names, the
    most named first: how many feedback name each, from how many distinct resellers, and
    when the latest was sent (at most 200 ZIP codes)."""
    records, total = feedback.provider_feedback(
        db, provider, kind=kind, zip_code=zip_code, page=page, page_size=page_size
    )
    demand = feedback.zip_demand(db, provider, kind=kind)
    return ProviderFeedbackPage(
        items=[_view(record) for record in records],
        total=total,
        page=page,
        page_size=page_size,
        demand_by_zip=[ZipDemandView.model_validate(zip, from_attributes=True) for zip in demand],
    )
