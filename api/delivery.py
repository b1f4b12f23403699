"""How the provider's messages reach partners: the delivery channel, each partner's contact,
and the outbox of every message sent, to whom, and how its delivery went."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from api.delivery_views import (
    ContactBody,
    ContactView,
    DeliveryBody,
    DeliveryView,
    NotificationView,
    ResendBatch,
    ResendBody,
    ResendStarted,
)
from api.deps import ProviderDep, ServicesDep, SessionDep
from api.partner_views import TEAM_ID, TEAM_ID_PATTERN
from api.views import Page, Problem
from clients.deliveries import DeliveryUnderWay
from models.delivery import OutboxEntry, OutboxFilter, OutboxStatus
from models.notifications import NotificationKind
from models.wire import MAX_ROW_ID
from services import delivery, outbox
from store.delivery_settings import delivery_settings

router = APIRouter(tags=["delivery"])
TeamPath = Annotated[str, TEAM_ID]
NotificationId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


@router.get("/provider/delivery", summary="How the provider's messages are delivered")
def get_delivery(provider: ProviderDep, db: SessionDep) -> DeliveryView:
    """The channel (`log`, `email` or `webhook`) and its settings; secrets show only whether
    they are set."""
    return DeliveryView.of(delivery_settings(db, provider))


@router.patch("/provider/delivery", summary="Change how the provider's messages are delivered")
def patch_delivery(body: DeliveryBody, provider: ProviderDep, db: SessionDep) -> DeliveryView:
    """Messages waiting for delivery go out through the new settings. Switching to the
    webhook channel without a signing secret makes one, shown once in `webhookSecret`."""
    return DeliveryView.of_update(delivery.change_delivery(db, provider, body))


@router.post(
    "/provider/delivery/webhook-secret", summary="Make a new webhook signing secret, shown once"
)
def rotate_webhook_secret(provider: ProviderDep, db: SessionDep) -> DeliveryView:
    """The new secret signs every webhook from now on; the old one stops at once."""
    return DeliveryView.of_update(delivery.rotate_webhook_secret(db, provider))


@router.get(
    "/provider/partners/{reseller_team_id}/contact", summary="Where a partner's messages go"
)
def get_contact(reseller_team_id: TeamPath, provider: ProviderDep, db: SessionDep) -> ContactView:
    return ContactView.of(delivery.partner_contact(db, provider, reseller_team_id))


@router.put(
    "/provider/partners/{reseller_team_id}/contact", summary="Set where a partner's messages go"
)
def put_contact(
    reseller_team_id: TeamPath, body: ContactBody, provider: ProviderDep, db: SessionDep
) -> ContactView:
    """The email address and webhook URL, whole; a message still waiting goes to the new one."""
    return ContactView.of(delivery.set_partner_contact(db, provider, reseller_team_id, body))


@router.get("/provider/notifications", summary="The outbox: every message, the latest first")
def list_notifications(
    provider: ProviderDep,
    db: SessionDep,
    reseller_team_id: Annotated[
        str | None,
        Query(alias="resellerTeamId", min_length=1, max_length=200, pattern=TEAM_ID_PATTERN),
    ] = None,
    kind: NotificationKind | None = None,
    status: OutboxStatus | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500, alias="pageSize")] = 50,
) -> Page[NotificationView]:
    """`status=bounced` or `status=failed` lists the messages that did not reach a partner,
    each with the reason in `lastError`."""
    where = OutboxFilter(reseller_team_id=reseller_team_id, kind=kind, status=status)
    entries, total = outbox.outbox_page(db, provider, where, page=page, page_size=page_size)
    return Page[NotificationView](
        items=[_view(entry) for entry in entries],
        total=total,
        page=page,
        page_size=page_size,
    )


@router.get("/provider/notifications/{notification_id}", summary="One message of the outbox")
def get_notification(
    notification_id: NotificationId, provider: ProviderDep, db: SessionDep
) -> NotificationView:
    return _view(outbox.outbox_entry(db, provider, notification_id))


@router.post(
    "/provider/notifications/resend",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send bounced or failed messages again",
)
async def resend_notifications(
    body: ResendBody, provider: ProviderDep, svc: ServicesDep
) -> ResendBatch:
    """Once an address, a contact or the channel is fixed: the matching messages go back to
    pending, each with two more days of tries, oldest first. A message already being
    delivered is listed in `underWay` and left alone."""
    with svc.db.transaction() as session:  # not held while Temporal answers
        entries, total = outbox.resendable_entries(
            session, provider, body.outbox_filter(), limit=body.limit
        )
    resent, under_way = [], []
    for entry in entries:
        try:
            workflow_id = await svc.deliveries.resend(provider, entry)
        except DeliveryUnderWay:
            under_way.append(entry.id)
            continue
        resent.append(ResendStarted(notification=_view(entry), workflow_id=workflow_id))
    return ResendBatch(resent=resent, under_way=under_way, remaining=total - len(entries))


@router.post(
    "/provider/notifications/{notification_id}/resend",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send one bounced or failed message again",
    responses={
        409: {"model": Problem, "description": "The message was sent, or is on its way already."}
    },
)
async def resend_notification(
    notification_id: NotificationId, provider: ProviderDep, svc: ServicesDep
) -> ResendStarted:
    """The message goes back to pending with two more days of tries, through the channel and
    to the address in force now; `GET /provider/notifications/{id}` says how it went."""
    with svc.db.transaction() as session:
        entry = outbox.resendable_entry(session, provider, notification_id)
    workflow_id = await svc.deliveries.resend(provider, entry)
    return ResendStarted(notification=_view(entry), workflow_id=workflow_id)


def _view(entry: OutboxEntry) -> NotificationView:
    return NotificationView.model_validate(entry.model_dump())
