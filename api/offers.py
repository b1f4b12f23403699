"""`/provider/offers`: the provider's offers and who sees them; `/reseller/offers`: what one
reseller sees right now."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.deps import ProviderDep, Services, ServicesDep, SessionDep
from api.views import ApiModel, Page
from clients.offer_launches import OfferLaunches
from models.announcement import OfferAnnounce
from models.offers import MonthlyPrice, Visibility
from models.pricing import PartnerPrice
from models.program import Printable
from services import offers
from services.offer_announcements import announce_offer
from services.offer_fields import NO_SLASH, TEAM_ID_PATTERN, OfferId
from services.offers import NewOffer, OfferChange, OfferRecord
from store.pricing import partner_prices

router = APIRouter(tags=["offers"])

OfferPath = Annotated[str, OfferId]


ANNOUNCE = (
    "Tell the partners who see the offer, now (never stored on the offer): the kind follows "
    "from the change where left out, the subject and body are written from the offer."
)


class OfferBody(NewOffer):
    model_config = ApiModel.model_config

    announce: OfferAnnounce | None = Field(default=None, description=ANNOUNCE)


class OfferPatch(OfferChange):
    model_config = ApiModel.model_config

    announce: OfferAnnounce | None = Field(default=None, description=ANNOUNCE)


class OfferView(OfferRecord):
    model_config = ApiModel.model_config

    announcement_id: str | None = Field(
        default=None, description="The announcement this request sent (`announce`), if any."
    )


class ResellerOfferView(ApiModel):
    offer_id: str
    name: str
    monthly_price: MonthlyPrice
    visibility: Visibility
    price: MonthlyPrice = Field(description="What this reseller pays a month: its tier's price.")
    price_note: str | None = Field(
        default=None,
        description='Why it is not the list price: "gold price", "10% silver discount".',
    )


def _reseller_view(record: OfferRecord, price: PartnerPrice) -> ResellerOfferView:
    shown = record.model_dump(include=set(ResellerOfferView.model_fields))
    return ResellerOfferView.model_validate(
        {**shown, "price": price.price, "price_note": price.note}
    )


class ResellerOffers(ApiModel):
    provider_id: str
    reseller_team_id: str
    offers: list[ResellerOfferView]


def _view(record: OfferRecord) -> OfferView:
    return OfferView.model_validate(record, from_attributes=True)


async def _launch_followed(
    svc: Services,
    provider: str,
    db: Session,
    record: OfferRecord,
    announce: OfferAnnounce | None,
    *,
    before: OfferRecord | None = None,
    created: bool = False,
) -> OfferView:
    """The saved offer, with the workflows of its announcement (if asked for) and its launch
    started first: if Temporal cannot be reached the request fails (503) and its transaction
    is rolled back, the announcement's row with it (its workflow then finds none and sends
    nothing)."""
    announcement_id = None
    if announce is not None:
        announcement = await run_in_threadpool(
            announce_offer, db, provider, record, announce, svc.clock(), before=before
        )
        await svc.announcements.start(provider, announcement)
        announcement_id = announcement.announcement_id
    await OfferLaunches(svc.client, svc.task_queue).follow(provider, record, created=created)
    return _view(record).model_copy(update={"announcement_id": announcement_id})


@router.post("/provider/offers", status_code=status.HTTP_201_CREATED, summary="Create an offer")
async def create_offer(
    body: OfferBody, provider: ProviderDep, db: SessionDep, svc: ServicesDep
) -> OfferView:
    """A `preferred` offer is granted at once to the listed partners whose tier reaches
    `minTier`; a `selected` one to exactly `allowedResellers`. An offer ID in use is a 409;
    an offer sent without `offerId` gets one, made from its name. An offer with
    `metadata.earlyAccess` and a `publicLaunchDate` is `preferred` until that date and then
    public by itself. Only an `active` offer is seen by anyone. With `announce`, a
    `new_service` announcement goes to the partners who see it (`announcementId`)."""
    record = await run_in_threadpool(offers.create_offer, db, provider, body)
    return await _launch_followed(svc, provider, db, record, body.announce, created=True)


@router.patch("/provider/offers/{offer_id}", summary="Change an offer")
async def update_offer(
    offer_id: OfferPath, body: OfferPatch, provider: ProviderDep, db: SessionDep, svc: ServicesDep
) -> OfferView:
    """Fields left out keep their values; `metadata` is merged key by key (null removes a
    key). Partners' access follows a new audience at once; changing from one visibility to
    another drops the old one's `minTier` or `allowedResellers` unless given anew. An offer
    held by an exclusive agreement in force keeps its audience (409) until the agreement
    ends. A new `publicLaunchDate` moves the launch; retiring the offer or withdrawing its
    early access before the launch cancels it (the offer then keeps the audience it has).
    With `announce`, the partners who see the offer are told: of a `pricing_change` when
    `monthlyPrice` or `tierPrices` changed, of a `new_service` when it became active, or of
    `announce.kind`, which any other change needs."""
    before = None
    if body.announce is not None:
        before = await run_in_threadpool(offers.get_offer, db, provider, offer_id)
    record = await run_in_threadpool(offers.update_offer, db, provider, offer_id, body)
    return await _launch_followed(svc, provider, db, record, body.announce, before=before)


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
    prices = partner_prices(db, provider, reseller_team_id, [r.offer_id for r in records])
    return ResellerOffers(
        provider_id=provider,
        reseller_team_id=reseller_team_id,
        offers=[_reseller_view(record, prices[record.offer_id]) for record in records],
    )
