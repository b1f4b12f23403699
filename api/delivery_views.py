"""Delivery settings, contacts and the outbox as the API shows them. Secrets go in, never out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, WithJsonSchema

from api.partner_views import TEAM_ID_PATTERN
from api.views import ApiModel
from models.delivery import (
    ChannelKind,
    DeliveryChange,
    DeliverySettings,
    OutboxEntry,
    OutboxFilter,
    OutboxStatus,
    PartnerContact,
    SmtpSecurity,
)
from models.notifications import NotificationKind
from models.wire import WHOLE
from services.delivery import ContactRecord, DeliveryUpdate


class DeliveryBody(DeliveryChange):
    """Settings to change: the fields given replace the current ones (`null` clears one), the
    others keep their values; the result is checked whole (the email channel needs
    `smtpHost` and `fromAddress`)."""

    model_config = ApiModel.model_config


class DeliveryView(ApiModel):
    """A provider's delivery settings; of the secrets, only whether they are set."""

    channel: ChannelKind
    smtp_host: str | None
    smtp_port: int
    smtp_security: SmtpSecurity
    smtp_username: str | None
    smtp_password_set: bool
    from_address: str | None
    provider_email: str | None
    provider_webhook_url: str | None
    webhook_secret_set: bool
    webhook_secret: str | None = Field(
        default=None,
        description="Only in the answer that made a new signing secret: keep it now, it is "
        "not shown again.",
    )
    updated_at: datetime | None

    @classmethod
    def of(cls, settings: DeliverySettings, new_secret: str | None = None) -> DeliveryView:
        return cls(
            channel=settings.channel,
            smtp_host=settings.smtp_host,
            smtp_port=settings.smtp_port,
            smtp_security=settings.smtp_security,
            smtp_username=settings.smtp_username,
            smtp_password_set=settings.smtp_password is not None,
            from_address=settings.from_address,
            provider_email=settings.provider_email,
            provider_webhook_url=settings.provider_webhook_url,
            webhook_secret_set=settings.webhook_secret is not None,
            webhook_secret=new_secret,
            updated_at=settings.updated_at,
        )

    @classmethod
    def of_update(cls, update: DeliveryUpdate) -> DeliveryView:
        return cls.of(update.settings, update.new_webhook_secret)


class ContactBody(PartnerContact):
    """Where the partner's messages go; a field left out or `null` is cleared."""

    model_config = ApiModel.model_config


class ContactView(ApiModel):
    reseller_team_id: str
    email: str | None
    webhook_url: str | None
    reseller_email: str | None = Field(
        description="The marketplace's email for the reseller: mail goes there when `email` "
        "is not set."
    )
    updated_at: datetime | None

    @classmethod
    def of(cls, record: ContactRecord) -> ContactView:
        return cls(
            reseller_team_id=record.reseller_team_id,
            email=record.contact.email,
            webhook_url=record.contact.webhook_url,
            reseller_email=record.reseller_email,
            updated_at=record.updated_at,
        )


class NotificationView(OutboxEntry):
    """One message: to whom (`address`), through which channel, what it said, and how its
    delivery went (`attempts`, `lastError`; `bounced` and `failed` are final)."""

    model_config = ApiModel.model_config


class ResendBody(ApiModel):
    """Which bounced or failed messages to send again; none given means all of them (the
    oldest `limit` per request)."""

    reseller_team_id: str | None = Field(
        default=None, min_length=1, max_length=200, pattern=TEAM_ID_PATTERN
    )
    kind: NotificationKind | None = None
    status: (
        Annotated[
            OutboxStatus,
            WithJsonSchema({"type": "string", "enum": ["bounced", "failed"]}, mode="validation"),
        ]
        | None
    ) = Field(default=None, description="`bounced` or `failed`; both when left out.")
    limit: Annotated[int, Field(ge=1, le=500), WHOLE] = 100

    def outbox_filter(self) -> OutboxFilter:
        return OutboxFilter(
            reseller_team_id=self.reseller_team_id, kind=self.kind, status=self.status
        )


class ResendStarted(ApiModel):
    """A message on its way again, and the workflow (`delivery/{idempotencyKey}`) that
    delivers it; read the outbox for how it went."""

    notification: NotificationView
    workflow_id: str


class ResendBatch(ApiModel):
    """The messages on their way again, those already being delivered, and how many more
    match (send the request again for them)."""

    resent: list[ResendStarted]
    under_way: list[int] = Field(description="IDs of messages already being delivered.")
    remaining: int = Field(ge=0)
