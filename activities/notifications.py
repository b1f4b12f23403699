"""Notifications through an outbox: rendered, recorded under a unique key, then delivered."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from temporalio import activity

from activities.channels import NotificationChannel
from activities.messages import render
from models.contract import ActivityName
from models.database import Database
from models.notifications import NotificationReceipt, NotificationRequest, Recipient
from models.schema import Notification, Provider, Reseller, utcnow

logger = logging.getLogger(__name__)

PENDING = "pending"
SENT = "sent"


def _receipt(row: Notification, *, already_sent: bool) -> NotificationReceipt:
    return NotificationReceipt(
        notification_id=row.id,
        idempotency_key=row.idempotency_key,
        channel=row.channel,
        subject=row.subject,
        status=row.status,
        already_sent=already_sent,
    )


class NotificationActivities:
    """Sends each message at most once per idempotency key, however often the activity retries."""

    def __init__(self, db: Database, channel: NotificationChannel) -> None:
        self._db = db
        self._channel = channel

    def _outbox_row(self, request: NotificationRequest) -> tuple[Notification, str]:
        """The message's outbox row, created on the first attempt, and the address to send to."""
        with self._db.transaction() as session:
            provider = session.get(Provider, request.provider_id)
            reseller = session.get(Reseller, request.reseller_team_id)
            provider_name = provider.name if provider else request.provider_id
            reseller_name = reseller.name if reseller else request.reseller_team_id
            if request.recipient is Recipient.PROVIDER:
                address = f"provider:{request.provider_id}"
            else:
                address = (
                    reseller.email
                    if reseller and reseller.email
                    else f"reseller:{request.reseller_team_id}"
                )
            row = session.scalar(
                select(Notification).where(Notification.idempotency_key == request.idempotency_key)
            )
            if row is not None:
                return row, address
            subject, body = render(
                request.kind,
                request.context,
                provider_name=provider_name,
                reseller_name=reseller_name,
            )
            row = Notification(
                idempotency_key=request.idempotency_key,
                provider_id=request.provider_id,
                reseller_team_id=request.reseller_team_id,
                recipient=request.recipient.value,
                kind=request.kind.value,
                channel=self._channel.name,
                subject=subject,
                body=body,
                status=PENDING,
            )
            session.add(row)
            session.flush()
            return row, address

    @activity.defn(name=ActivityName.SEND_NOTIFICATION)
    def send_notification(self, request: NotificationRequest) -> NotificationReceipt:
        return self.send(request)

    def send(self, request: NotificationRequest) -> NotificationReceipt:
        """Render, record and deliver one message, unless its key was already sent."""
        try:
            row, address = self._outbox_row(request)
        except IntegrityError:
            row, address = self._outbox_row(request)  # a concurrent attempt inserted it first
        if row.status == SENT:
            return _receipt(row, already_sent=True)
        self._channel.deliver(
            idempotency_key=row.idempotency_key,
            recipient=Recipient(row.recipient),
            address=address,
            subject=row.subject,
            body=row.body,
        )
        with self._db.transaction() as session:
            stored = session.get(Notification, row.id)
            assert stored is not None
            stored.status = SENT
            stored.sent_at = utcnow()
            row = stored
        logger.info("sent %s to %s: %s", request.kind.value, address, row.subject)
        return _receipt(row, already_sent=False)
