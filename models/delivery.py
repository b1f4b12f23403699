"""How messages reach partners: each provider's channel, each partner's contact, the outbox.

A provider chooses one channel for all its messages: the log (local runs, the
default), email over SMTP, or a signed webhook. A partner's contact says
where that channel reaches it; messages to the provider go to the provider's
own address. Secrets (the SMTP password, the webhook signing secret) are
kept for the worker and never shown back.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlsplit

from email_validator import SPECIAL_USE_DOMAIN_NAMES
from pydantic import (
    AfterValidator,
    AwareDatetime,
    EmailStr,
    Field,
    SecretStr,
    model_validator,
)

from models.notifications import NotificationKind, Recipient
from models.program import Frozen, Printable, Storable, printable, storable
from models.wire import WHOLE

GIVE_UP_AFTER = timedelta(days=2)
"""A message that still could not be delivered this long after it was recorded is failed."""


class ChannelKind(StrEnum):
    LOG = "log"
    EMAIL = "email"
    WEBHOOK = "webhook"


class SmtpSecurity(StrEnum):
    """`none`: plain SMTP; `starttls`: upgraded after connecting (port 587); `tls`: TLS from
    the first byte (port 465)."""

    NONE = "none"
    STARTTLS = "starttls"
    TLS = "tls"


class OutboxStatus(StrEnum):
    """`pending`: recorded, not tried yet; `sending`: a try is under way or failed and will be
    retried; `sent`: delivered; `bounced`: the channel refused the address for good;
    `failed`: nowhere to send it (no contact), or retries gave up."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    BOUNCED = "bounced"
    FAILED = "failed"

    @property
    def undelivered(self) -> bool:
        """Bounced or failed: it did not reach its recipient, for good, and can be sent again
        once what stopped it is fixed."""
        return self in (OutboxStatus.BOUNCED, OutboxStatus.FAILED)

    @property
    def is_final(self) -> bool:
        return self is OutboxStatus.SENT or self.undelivered


def webhook_url(value: str) -> str:
    """An absolute http(s) URL with a host, on one line. Where it may lead (https, a public
    host) is the operator's to say: checked when it is saved and again when it is used
    (models.outbound_address), so that a URL stored before a rule changed still reads."""
    if any(ord(char) <= 32 or ord(char) == 127 for char in value):
        raise ValueError("must be a URL without spaces or control characters")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as error:
        raise ValueError(f"is not a valid URL: {error}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            "must be an http:// or https:// URL with a host, e.g. https://example.com/hook"
        )
    if port == 0:
        raise ValueError("must not name port 0")
    if parts.username or parts.password:
        raise ValueError("must not carry a user name or password")
    return value


def hostname(value: str) -> str:
    """A host name or IPv4 address, as a mail server's. Whether it may be used (a public host)
    is the operator's to say, as for webhook URLs (models.outbound_address)."""
    if not value or any(char in value for char in " /@:") or not value.isprintable():
        raise ValueError("must be a host name or IP address, e.g. smtp.example.com")
    return value


def _storable(value: SecretStr) -> SecretStr:
    storable(value.get_secret_value())
    return value


def _one_line(value: SecretStr) -> SecretStr:
    printable(value.get_secret_value())
    return value


SPECIAL_USE = "|".join(SPECIAL_USE_DOMAIN_NAMES)
EmailAddress = Annotated[
    EmailStr,
    Field(
        max_length=320,
        # The domains no mail can reach (RFC 6761), which the address check refuses.
        json_schema_extra={"pattern": rf"^[^@]+@(?!([^@]*\.)?({SPECIAL_USE})$)[^@]+$"},
    ),
]
HOST_PATTERN = r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$"
URL_PATTERN = r"^https?://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[1-9][0-9]{0,3})?([/?#][!-~]*)?$"
"""Host names and URLs as the OpenAPI document states them: ASCII (an international name in
its xn-- form), ports up to 9999. The validators accept more; where a host may lead is the
operator's policy's to say (models.outbound_address)."""
WebhookUrl = Annotated[
    str,
    Field(max_length=2000, json_schema_extra={"pattern": URL_PATTERN}),
    AfterValidator(webhook_url),
]
Hostname = Annotated[
    str,
    Field(min_length=1, max_length=255, json_schema_extra={"pattern": HOST_PATTERN}),
    AfterValidator(hostname),
]
Port = Annotated[int, Field(ge=1, le=65535), WHOLE]
Login = Annotated[str, Field(min_length=1, max_length=320), Printable]
Secret = Annotated[
    SecretStr,
    Field(min_length=1, max_length=1000, json_schema_extra={"pattern": Storable.pattern}),
    AfterValidator(_storable),
]
SigningSecret = Annotated[
    SecretStr,
    Field(min_length=16, max_length=200, json_schema_extra={"pattern": Printable.pattern}),
    AfterValidator(_one_line),
]


class DeliverySettings(Frozen):
    """How one provider's messages leave, and where its own messages go. A provider with no
    settings stored has the defaults: the log channel."""

    channel: ChannelKind = ChannelKind.LOG
    smtp_host: Hostname | None = None
    smtp_port: Port = 587
    smtp_security: SmtpSecurity = SmtpSecurity.STARTTLS
    smtp_username: Login | None = None
    smtp_password: Secret | None = None
    from_address: EmailAddress | None = Field(
        default=None, description="The From of every mail; its domain ends each Message-ID."
    )
    provider_email: EmailAddress | None = Field(
        default=None, description="Where mails meant for the provider go (candidate notices)."
    )
    provider_webhook_url: WebhookUrl | None = Field(
        default=None, description="Where webhook messages meant for the provider go."
    )
    webhook_secret: SigningSecret | None = None
    updated_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _complete(self) -> DeliverySettings:
        if self.channel is ChannelKind.EMAIL and (not self.smtp_host or not self.from_address):
            raise ValueError("the email channel needs an SMTP host and a from address")
        if self.channel is ChannelKind.WEBHOOK and self.webhook_secret is None:
            raise ValueError("the webhook channel needs a signing secret")
        if self.smtp_password is not None and self.smtp_username is None:
            raise ValueError("an SMTP password needs an SMTP username")
        return self


class DeliveryChange(Frozen):
    """Settings to change: the fields given replace the current ones (`null` clears one),
    the others keep their values, and the result is checked whole."""

    channel: ChannelKind = ChannelKind.LOG
    smtp_host: Hostname | None = None
    smtp_port: Port = 587
    smtp_security: SmtpSecurity = SmtpSecurity.STARTTLS
    smtp_username: Login | None = None
    smtp_password: Secret | None = Field(default=None, description="Write-only.")
    from_address: EmailAddress | None = None
    provider_email: EmailAddress | None = None
    provider_webhook_url: WebhookUrl | None = None
    webhook_secret: SigningSecret | None = Field(
        default=None,
        description="Write-only. Left out when switching to the webhook channel, one is made "
        "and shown once.",
    )

    def applied_to(self, current: DeliverySettings) -> dict[str, Any]:
        """The current settings with these changes laid over them, to be validated whole."""
        given = {name: getattr(self, name) for name in self.model_fields_set}
        return {**dict(current), **given}


class PartnerContact(Frozen):
    """Where a partner's messages go; a partner with no email here gets mail at the email
    address the marketplace has for the reseller."""

    email: EmailAddress | None = None
    webhook_url: WebhookUrl | None = None


class OutgoingMessage(Frozen):
    """One message as a channel delivers it."""

    idempotency_key: str
    provider_id: str
    reseller_team_id: str
    recipient: Recipient
    kind: NotificationKind
    address: str
    subject: str
    body: str
    created_at: datetime

    def message_id(self, domain: str) -> str:
        """The mail's Message-ID, the same on every try: derived from the idempotency key."""
        digest = hashlib.sha256(self.idempotency_key.encode()).hexdigest()[:40]
        return f"<{digest}@{domain}>"


class DeliveryRequest(Frozen):
    """Deliver the outbox's message with this key."""

    idempotency_key: str = Field(min_length=1, max_length=400)


class MessageDeliveryInput(Frozen):
    """Deliver one recorded message on its own: handed over by a workflow that closed before its
    delivery settled, or sent again at the provider's request (`resend`: a bounced or failed
    message goes back to pending, with two more days of tries)."""

    idempotency_key: str = Field(min_length=1, max_length=400)
    resend: bool = False


class DeliveryOutcome(Frozen):
    """How a message's delivery ended: `sent`, or `bounced`/`failed` with the reason."""

    idempotency_key: str
    status: OutboxStatus
    reason: str | None = None


class OutboxBatch(Frozen):
    """Deliver every undelivered message of a provider whose key starts with `key_prefix`."""

    provider_id: str
    key_prefix: str = Field(min_length=1, max_length=400)


class OutboxDelivered(Frozen):
    sent: int = 0
    refused: int = Field(default=0, description="Bounced or failed for good.")
    seconds: float = 0.0


class OutboxEntry(Frozen):
    """One message in the outbox: to whom, through which channel, what it said, how it went."""

    id: int
    idempotency_key: str
    reseller_team_id: str
    recipient: Recipient
    kind: NotificationKind
    channel: str
    address: str | None
    subject: str
    body: str
    status: OutboxStatus
    attempts: int
    last_error: str | None
    created_at: AwareDatetime
    last_attempt_at: AwareDatetime | None
    sent_at: AwareDatetime | None
    resent_at: AwareDatetime | None = None


class OutboxFilter(Frozen):
    reseller_team_id: str | None = None
    kind: NotificationKind | None = None
    status: OutboxStatus | None = None
