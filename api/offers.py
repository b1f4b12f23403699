"""`/provider/offers`: the provider's offers and who sees them; `/reseller/offers`: what one
reseller sees right now."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from api.deps import ProviderDep, SessionDep
from api.views import ApiModel, Page
from models.offers import Visibility
from models.program import Printable
from services import offers
from services.offers import (
    NO_SLASH,
    TEAM_ID_PATTERN,
    MonthlyPrice,
    NewOffer,
    OfferChange,
    OfferId,
    OfferRecord,
)

router = APIRouter(tags=["offers"])

OfferPath = Annotated[str, OfferId]


class OfferBody(NewOffer):
    model_config = ApiModel.model_config


class OfferPatch(OfferChange):
    model_config = ApiModel.model_config


class OfferView(OfferRecord):
    model_config = ApiModel.model_config


class ResellerOfferView(ApiModel):
    offer_id: str
    name: str
    monthly_price: MonthlyPrice
    visibility: Visibility


class ResellerOffers(ApiModel):
    provider_id: str
    reseller_team_id: str
    offers: list[ResellerOfferView]


def _view(record: OfferRecord) -> OfferView:
    return OfferView.model_validate(record, from_attributes=True)


@router.post("/provider/offers", status_code=status.HTTP_201_CREATED, summary="Create an offer")
def create_offer(body: OfferBody, provider: ProviderDep, db: SessionDep) -> OfferView:
    """A `preferred` offer is granted at once to the listed partners whose tier reaches
    `minTier`; a `selected` one to exactly `allowedResellers`. An offer ID in use is a 409."""
    return _view(offers.create_offer(db, provider, body))


@router.patch("/provider/offers/{offer_id}", summary="Change an offer")
def update_offer(
    offer_id: OfferPath, body: OfferPatch, provider: ProviderDep, db: SessionDep
) -> OfferView:
    """Fields left out keep their values. Partners' access follows a new audience at once;
    changing from one visibility to another drops the old one's `minTier` or
    `allowedResellers` unless given anew. An offer held by an exclusive agreement in force
    keeps its audience (409) until the agreement ends."""
    return _view(offers.update_offer(db, provider, offer_id, body))


@router.get("/provider/offers", summary="List the provider's offers")
def list_offers(
    provider: ProviderDep,
    db: SessionDep,
    visibility: Visibility | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500, alias="pageSize")] = 50,
) -> Page[OfferView]:
    records, total = offers.list_offers(
        db, provider, visibility=visibility, page=page, page_size=page_size
    )
    return Page[OfferView](
        items=[_view(record) for record in records], total=total, page=page, page_size=page_size
    )


@router.get("/provider/offers/{offer_id}", summary="One offer")
def get_offer(offer_id: OfferPath, provider: ProviderDep, db: SessionDep) -> OfferView:
    return _view(offers.get_offer(db, provider, offer_id))


@router.get("/reseller/offers", summary="The offers a reseller can see right now")
def reseller_offers(
    reseller_team_id: Annotated[
        str,
        Query(
            alias="resellerTeamId",
            min_length=1,
            max_length=100,
            pattern=NO_SLASH,
            json_schema_extra={"pattern": TEAM_ID_PATTERN},
        ),
        Printable,
    ],
    provider: ProviderDep,
    db: SessionDep,
) -> ResellerOffers:
    """The provider's public offers, the preferred ones the partner's workflow granted for its
    tier, and the selected ones it is allowed, less any it is blocked from."""
    records = offers.reseller_offers(db, provider, reseller_team_id)
    return ResellerOffers(
        provider_id=provider,
        reseller_team_id=reseller_team_id,
        offers=[ResellerOfferView.model_validate(record) for record in records],
    )
