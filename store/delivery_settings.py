"""A provider's delivery settings as the worker reads them: its channel, and its secrets opened."""

from __future__ import annotations

from pydantic import SecretStr
from sqlalchemy.orm import Session

from models.delivery import ChannelKind, DeliverySettings
from models.schema import DeliverySettingsRow
from store.secret_box import is_sealed, required_box

SMTP_PASSWORD = "the SMTP password"
WEBHOOK_SECRET = "the webhook signing secret"


def opened_secret(stored: str | None, what: str, provider_id: str) -> SecretStr | None:
    """A stored secret in the clear: decrypted, or a legacy plain-text value as it is."""
    if stored is None:
        return None
    named = f"{what} of provider {provider_id}"
    if not is_sealed(stored):
        return SecretStr(stored)
    return SecretStr(required_box(f"read {named}").open(stored, named))


def delivery_settings(session: Session, provider_id: str) -> DeliverySettings:
    """The provider's settings, secrets included (decrypted); the log channel where none are
    stored. A secret that the configured keys cannot decrypt raises SecretKeyError, whose
    message names it and the cause, never its value."""
    row = session.get(DeliverySettingsRow, provider_id)
    if row is None:
        return DeliverySettings()
    return DeliverySettings(
        channel=ChannelKind(row.channel),
        smtp_host=row.smtp_host,
        smtp_port=row.smtp_port,
        smtp_security=row.smtp_security,
        smtp_username=row.smtp_username,
        smtp_password=opened_secret(row.smtp_password, SMTP_PASSWORD, provider_id),
        from_address=row.from_address,
        provider_email=row.provider_email,
        provider_webhook_url=row.provider_webhook_url,
        webhook_secret=opened_secret(row.webhook_secret, WEBHOOK_SECRET, provider_id),
        updated_at=row.updated_at,
    )


def configured_channel(session: Session, provider_id: str) -> ChannelKind:
    """The provider's channel, read without its secrets."""
    row = session.get(DeliverySettingsRow, provider_id)
    return ChannelKind(row.channel) if row is not None else ChannelKind.LOG
