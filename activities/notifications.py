"""Notifications through an outbox: rendered and recorded under a unique key, then delivered.

Recording is quick and touches only the database, so a workflow awaits it;
delivery goes through the provider's channel, which may be down for a while,
so a workflow starts it and carries on. Delivery marks the row `sending`
(and counts the try) before it hands the message to the channel, and `sent`
after: a worker that dies in between leaves a `sending` row, and the retry
sends the same key again (the webhook's Idempotency-Key header, the mail's
Message-ID), so the receiver can drop the duplicate.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.channels import DeliveryRefused, LogChannel, NotificationChannel
from activities.counters import count_notification
from activities.email_channel import SmtpChannel
from activities.heartbeat import heartbeating
from activities.webhook_channel import WebhookChannel
from models.contract import ActivityName
from models.database import Database
from models.delivery import (
    GIVE_UP_AFTER,
    ChannelKind,
    DeliveryRequest,
    DeliverySettings,
    OutboxBatch,
    OutboxDelivered,
    OutboxStatus,
    OutgoingMessage,
)
from models.notifications import (
    NotificationKind,
    NotificationReceipt,
    NotificationRequest,
    Recipient,
)
from models.schema import Notification, PartnerContactRow, Provider, Reseller, utcnow
from store.delivery_settings import configured_channel, delivery_settings
from store.messages import render_message
from store.secret_box import SecretKeyError

logger = logging.getLogger(__name__)

OUTBOX_PAGE = 200
"""How many of a batch's messages are claimed in one transaction and marked sent in one."""
REFUSED_TYPE = "DeliveryRefused"
"""The ApplicationError type of a message bounced or failed for good."""


def _receipt(row: Notification, *, already_sent: bool) -> NotificationReceipt:
    return NotificationReceipt(
        notification_id=row.id,
        idempotency_key=row.idempotency_key,
        channel=row.channel,
        subject=row.subject,
        status=row.status,
        already_sent=already_sent,
        address=row.address,
        error=row.last_error,
    )


class Channels:
    """The channel each provider chose, built from its settings; `override` (a test's channel)
    delivers every provider's messages instead."""

    def __init__(self, override: NotificationChannel | None = None) -> None:
        self._override = override
        self._log = LogChannel()

    def pick(self, settings: DeliverySettings) -> tuple[ChannelKind, NotificationChannel]:
        """The kind of address the channel needs, and the channel."""
        if self._override is not None:
            return ChannelKind.LOG, self._override
        match settings.channel:
            case ChannelKind.EMAIL:
                return ChannelKind.EMAIL, SmtpChannel(settings)
            case ChannelKind.WEBHOOK:
                assert settings.webhook_secret is not None, "validated by DeliverySettings"
                return ChannelKind.WEBHOOK, WebhookChannel(
                    settings.webhook_secret.get_secret_value()
                )
            case _:
                return ChannelKind.LOG, self._log


@dataclass(frozen=True)
class _Route:
    address: str | None
    missing: str = ""
    """Why there is no address, and how to set one."""


def _route(
    session: Session, kind: ChannelKind, settings: DeliverySettings, row: Notification
) -> _Route:
    """Where the channel sends this message: the partner's contact (mail falls back to the
    reseller's email), or the provider's own address."""
    provider, team = row.provider_id, row.reseller_team_id
    if row.recipient == Recipient.PROVIDER.value:
        match kind:
            case ChannelKind.EMAIL:
                found = settings.provider_email
                how = f"providerEmail (`partnerflow delivery set {provider} --provider-email`)"
            case ChannelKind.WEBHOOK:
                found = settings.provider_webhook_url
                how = (
                    f"providerWebhookUrl (`partnerflow delivery set {provider} "
                    "--provider-webhook-url`)"
                )
            case _:
                return _Route(f"provider:{provider}")
        return _Route(found, f"no {kind.value} address for the provider: set {how}")
    contact = session.get(PartnerContactRow, (provider, team))
    reseller = session.get(Reseller, team)
    email = (contact.email if contact else None) or (reseller.email if reseller else None)
    how = f"PUT /provider/partners/{team}/contact or `partnerflow contacts set {provider} {team}`"
    match kind:
        case ChannelKind.EMAIL:
            return _Route(email, f"no email address for {team}: set one with {how} --email")
        case ChannelKind.WEBHOOK:
            url = contact.webhook_url if contact else None
            return _Route(url, f"no webhook URL for {team}: set one with {how} --webhook-url")
        case _:
            return _Route(email or f"reseller:{team}")


@dataclass(frozen=True)
class _Attempt:
    row_id: int
    message: OutgoingMessage
    channel: NotificationChannel


def _count_try(row: Notification, now: datetime) -> None:
    row.status = OutboxStatus.SENDING.value
    row.attempts += 1
    row.last_attempt_at = now


def _finish(row: Notification, status: OutboxStatus, error: str | None = None) -> None:
    row.status = status.value
    if status is OutboxStatus.SENT:
        row.sent_at = utcnow()
    if error is not None:
        row.last_error = error


def _count_sent(message: OutgoingMessage) -> None:
    count_notification(message.kind.value, message.recipient.value)
    logger.info("sent %s to %s: %s", message.kind.value, message.address, message.subject)


def _settings(session: Session, provider_id: str) -> DeliverySettings | SecretKeyError:
    """The provider's delivery settings, or why the worker cannot read them."""
    try:
        return delivery_settings(session, provider_id)
    except SecretKeyError as unusable:
        return unusable


def _locked(session: Session, key: str) -> Notification:
    """The outbox row with this key, locked until the transaction ends."""
    row = session.scalar(
        select(Notification).where(Notification.idempotency_key == key).with_for_update()
    )
    if row is None:
        raise ApplicationError(
            f"no message {key!r} in the outbox", type="UnknownMessage", non_retryable=True
        )
    return row


class NotificationActivities:
    """Records each message once per idempotency key and delivers it at most once per key as
    far as the channel can tell, however often the activities retry."""

    def __init__(self, db: Database, channel: NotificationChannel | None = None) -> None:
        self._db = db
        self._channels = Channels(channel)

    # ------------------------------------------------------------------ recording

    def record_in(self, session: Session, request: NotificationRequest) -> Notification:
        """Render the message and add it to the outbox in this session's transaction, unless
        its key is already there: it commits with whatever else the transaction writes."""
        row = session.scalar(
            select(Notification).where(Notification.idempotency_key == request.idempotency_key)
        )
        if row is not None:
            return row
        provider = session.get(Provider, request.provider_id)
        reseller = session.get(Reseller, request.reseller_team_id)
        subject, body = render_message(
            session,
            request,
            provider.name if provider else request.provider_id,
            reseller.name if reseller else request.reseller_team_id,
        )
        row = Notification(
            idempotency_key=request.idempotency_key,
            provider_id=request.provider_id,
            reseller_team_id=request.reseller_team_id,
            recipient=request.recipient.value,
            kind=request.kind.value,
            subject=subject,
            body=body,
            status=OutboxStatus.PENDING.value,
            attempts=0,
        )
        try:
            settings = delivery_settings(session, request.provider_id)
        except SecretKeyError:
            # A key the worker cannot use must not hold up the partner's state change:
            # the message is recorded, and each delivery try says why it cannot go.
            row.channel = configured_channel(session, request.provider_id).value
        else:
            kind, channel = self._channels.pick(settings)
            row.channel = channel.name
            row.address = _route(session, kind, settings, row).address
        session.add(row)
        session.flush()
        return row

    def _record_row(self, request: NotificationRequest) -> Notification:
        with self._db.transaction() as session:
            return self.record_in(session, request)

    def record(self, request: NotificationRequest) -> NotificationReceipt:
        """Render the message and put it in the outbox, unless its key is already there."""
        try:
            row = self._record_row(request)
        except IntegrityError:
            row = self._record_row(request)  # a concurrent attempt inserted it first
        return _receipt(row, already_sent=row.status == OutboxStatus.SENT.value)

    @activity.defn(name=ActivityName.RECORD_NOTIFICATION)
    def record_notification(self, request: NotificationRequest) -> NotificationReceipt:
        return self.record(request)

    # ------------------------------------------------------------------ delivery

    def _claim(self, key: str) -> _Attempt | NotificationReceipt | SecretKeyError:
        """Count a try and mark the row `sending`, or settle it without one (see _claim_row)."""
        with self._db.transaction() as session:
            row = _locked(session, key)
            return self._claim_row(session, row, utcnow(), _settings(session, row.provider_id))

    def _claim_page(
        self, provider_id: str, keys: list[str]
    ) -> list[_Attempt | NotificationReceipt | SecretKeyError]:
        """_claim for a page of one provider's messages in one transaction: the rows locked
        together, the partners' contacts read in two statements, the settings once."""
        with self._db.transaction() as session:
            rows = session.scalars(
                select(Notification)
                .where(Notification.idempotency_key.in_(keys))
                .order_by(Notification.id)
                .with_for_update()
            ).all()
            teams = sorted({row.reseller_team_id for row in rows})
            # Loaded into the session, so that _route's session.get finds them without a query.
            session.scalars(
                select(PartnerContactRow).where(
                    PartnerContactRow.provider_id == provider_id,
                    PartnerContactRow.reseller_team_id.in_(teams),
                )
            ).all()
            session.scalars(select(Reseller).where(Reseller.team_id.in_(teams))).all()
            settings = _settings(session, provider_id)
            now = utcnow()
            return [self._claim_row(session, row, now, settings) for row in rows]

    def _claim_row(
        self,
        session: Session,
        row: Notification,
        now: datetime,
        settings: DeliverySettings | SecretKeyError,
    ) -> _Attempt | NotificationReceipt | SecretKeyError:
        """Count a try and mark the row `sending`, or settle it without one: already settled,
        tried for too long, or nowhere to send it. A secret the worker cannot read counts as a
        try that failed (the operator's key is at fault, not the message), and is returned."""
        if OutboxStatus(row.status).is_final:
            return _receipt(row, already_sent=True)
        if row.attempts and now - (row.resent_at or row.created_at) > GIVE_UP_AFTER:
            _finish(
                row,
                OutboxStatus.FAILED,
                f"gave up after {row.attempts} tries over {GIVE_UP_AFTER.days} days; "
                f"last error: {row.last_error}",
            )
            return _receipt(row, already_sent=False)
        if isinstance(settings, SecretKeyError):
            _count_try(row, now)
            row.last_error = f"{type(settings).__name__}: {settings}"
            return settings
        kind, channel = self._channels.pick(settings)
        route = _route(session, kind, settings, row)
        row.channel, row.address = channel.name, route.address
        if route.address is None:
            _finish(row, OutboxStatus.FAILED, route.missing)
            return _receipt(row, already_sent=False)
        _count_try(row, now)
        message = OutgoingMessage(
            idempotency_key=row.idempotency_key,
            provider_id=row.provider_id,
            reseller_team_id=row.reseller_team_id,
            recipient=Recipient(row.recipient),
            kind=NotificationKind(row.kind),
            address=route.address,
            subject=row.subject,
            body=row.body,
            created_at=row.created_at,
        )
        return _Attempt(row.id, message, channel)

    def _settle(self, row_id: int, status: OutboxStatus, error: str | None = None) -> Notification:
        with self._db.transaction() as session:
            row = session.get_one(Notification, row_id)
            _finish(row, status, error)
            return row

    def deliver(self, key: str) -> NotificationReceipt:
        """Hand the message to its channel unless it is settled; a channel that is down raises,
        so that the activity is retried, after the error is noted on the row."""
        attempt = self._claim(key)
        if isinstance(attempt, NotificationReceipt):
            return attempt
        if isinstance(attempt, SecretKeyError):
            raise attempt
        bounced = self._hand_over(attempt)
        if bounced is not None:
            return bounced
        row = self._settle(attempt.row_id, OutboxStatus.SENT)
        _count_sent(attempt.message)
        return _receipt(row, already_sent=False)

    def _hand_over(self, attempt: _Attempt) -> NotificationReceipt | None:
        """Give the message to its channel: None once it took it, the settled receipt when it
        refused it for good; a channel that is down raises, after the error is noted."""
        message = attempt.message
        try:
            attempt.channel.deliver(message)
        except DeliveryRefused as refused:
            row = self._settle(attempt.row_id, OutboxStatus.BOUNCED, str(refused))
            logger.warning("%s to %s bounced: %s", message.kind.value, message.address, refused)
            return _receipt(row, already_sent=False)
        except Exception as error:
            with self._db.transaction() as session:
                session.get_one(
                    Notification, attempt.row_id
                ).last_error = f"{type(error).__name__}: {error}"
            raise
        return None

    @activity.defn(name=ActivityName.DELIVER_NOTIFICATION)
    def deliver_notification(self, request: DeliveryRequest) -> NotificationReceipt:
        """Deliver one recorded message; a bounced or failed one is a non-retryable failure
        whose message says why (it is on the outbox row too)."""
        with heartbeating():
            receipt = self.deliver(request.idempotency_key)
        if OutboxStatus(receipt.status).undelivered:
            raise ApplicationError(
                f"{receipt.status} to {receipt.address or 'nowhere'}: {receipt.error}",
                receipt.status,
                type=REFUSED_TYPE,
                non_retryable=True,
            )
        return receipt

    def requeue(self, key: str) -> NotificationReceipt:
        """Put a bounced or failed message back to pending, with two more days of tries; a
        message pending, under way or sent is left as it is (a retried requeue finds it so)."""
        with self._db.transaction() as session:
            row = _locked(session, key)
            if OutboxStatus(row.status).undelivered:
                row.status = OutboxStatus.PENDING.value
                row.resent_at = utcnow()
            session.flush()
            return _receipt(row, already_sent=row.status == OutboxStatus.SENT.value)

    @activity.defn(name=ActivityName.REQUEUE_NOTIFICATION)
    def requeue_notification(self, request: DeliveryRequest) -> NotificationReceipt:
        return self.requeue(request.idempotency_key)

    def send(self, request: NotificationRequest) -> NotificationReceipt:
        """Record and deliver in one go, as runs recorded before delivery was apart expect;
        a refused message is returned settled, not raised."""
        self.record(request)
        return self.deliver(request.idempotency_key)

    @activity.defn(name=ActivityName.SEND_NOTIFICATION)
    def send_notification(self, request: NotificationRequest) -> NotificationReceipt:
        return self.send(request)

    def _deliver_page(self, provider_id: str, keys: list[str]) -> list[str]:
        """Deliver a page of messages as `deliver` does one, with the claims in one
        transaction and the messages sent marked so in one statement; what could not be
        delivered yet, each as `key: error`."""
        errors: list[str] = []
        sent: list[_Attempt] = []
        for claimed in self._claim_page(provider_id, keys):
            if isinstance(claimed, SecretKeyError):
                errors.append(f"{type(claimed).__name__}: {claimed}")
            elif isinstance(claimed, _Attempt):
                activity.heartbeat(claimed.message.idempotency_key)  # each may take a while
                try:
                    if self._hand_over(claimed) is None:
                        sent.append(claimed)
                except Exception as error:
                    errors.append(
                        f"{claimed.message.idempotency_key}: {type(error).__name__}: {error}"
                    )
        if sent:
            with self._db.transaction() as session:
                session.execute(
                    update(Notification)
                    .where(Notification.id.in_([attempt.row_id for attempt in sent]))
                    .values(status=OutboxStatus.SENT.value, sent_at=utcnow())
                )
            for attempt in sent:
                _count_sent(attempt.message)
        return errors

    @activity.defn(name=ActivityName.DELIVER_OUTBOX)
    def deliver_outbox(self, batch: OutboxBatch) -> OutboxDelivered:
        """Deliver a batch's undelivered messages, each on its own: one channel error does not
        hold up the others, and the activity is retried for the ones left."""
        started = time.perf_counter()
        in_batch = (
            Notification.provider_id == batch.provider_id,
            Notification.idempotency_key.startswith(batch.key_prefix, autoescape=True),
        )
        unsettled = [OutboxStatus.PENDING.value, OutboxStatus.SENDING.value]
        with self._db.transaction() as session:
            keys = list(
                session.scalars(
                    select(Notification.idempotency_key)
                    .where(*in_batch, Notification.status.in_(unsettled))
                    .order_by(Notification.id)
                )
            )
        errors: list[str] = []
        for start in range(0, len(keys), OUTBOX_PAGE):
            errors += self._deliver_page(batch.provider_id, keys[start : start + OUTBOX_PAGE])
        if errors:
            raise ApplicationError(
                f"{len(errors)} of {len(keys)} messages could not be delivered yet and will be "
                f"retried; the first: {errors[0]}",
                type="DeliveryUnavailable",
            )
        with self._db.transaction() as session:
            rows = session.execute(
                select(Notification.status, func.count())
                .where(*in_batch)
                .group_by(Notification.status)
            )
            counts = {status: int(count) for status, count in rows}
        return OutboxDelivered(
            sent=counts.get(OutboxStatus.SENT.value, 0),
            refused=counts.get(OutboxStatus.BOUNCED.value, 0)
            + counts.get(OutboxStatus.FAILED.value, 0),
            seconds=round(time.perf_counter() - started, 3),
        )
