"""Providers' delivery settings and partners' contacts, as the API, the CLI and the worker
read and change them.

Secrets are stored for the worker, which needs them in the clear to log in to
the mail server and to sign webhooks; they are never shown back, except a
webhook signing secret once, in the answer that made it. They are stored
encrypted under PARTNERFLOW_SECRET_KEY (store.secret_box) and decrypted
here only, so every reader gets them in the clear and no writer can store
one in plain text.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from pydantic import Field, SecretStr
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.delivery import ChannelKind, DeliveryChange, DeliverySettings, PartnerContact
from models.outbound_address import host_refusal, url_refusal
from models.program import Frozen
from models.schema import DeliverySettingsRow, PartnerContactRow, Provider, Reseller, utcnow
from runtime.settings import Settings
from services.errors import ConflictError, InputError, NotFoundError
from services.resellers import own_reseller
from store.delivery_settings import (
    SMTP_PASSWORD,
    WEBHOOK_SECRET,
    delivery_settings,
)
from store.secret_box import SecretBox, is_sealed, required_box

SECRET_PREFIX = "whsec_"


class DeliveryUpdate(Frozen):
    """The settings after a change, and the signing secret if the change made one."""

    settings: DeliverySettings
    new_webhook_secret: str | None = None


class ContactRecord(Frozen):
    """A partner's contact, and the reseller's own email that mail falls back to."""

    reseller_team_id: str
    contact: PartnerContact
    reseller_email: str | None
    updated_at: datetime | None = None


def _flush(session: Session, what: str) -> None:
    try:
        session.flush()
    except IntegrityError as error:
        # Two first writes at once: the primary key lets one in.
        raise ConflictError(
            f"{what} changed by another request at the same moment: try again"
        ) from error


def _require_provider(session: Session, provider_id: str) -> None:
    if session.get(Provider, provider_id) is None:
        raise NotFoundError(f"unknown provider {provider_id!r}")


def _sealed(box: SecretBox | None, value: SecretStr | None) -> str | None:
    if value is None:
        return None
    assert box is not None, "required by _store for every secret it stores"
    return box.seal(value.get_secret_value())


def new_webhook_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _store(session: Session, provider_id: str, settings: DeliverySettings) -> DeliverySettings:
    """Write the settings, each secret encrypted with the first key (a legacy plain-text one
    too); without a key, settings that hold a secret are refused."""
    held = [
        what
        for what, value in (
            (SMTP_PASSWORD, settings.smtp_password),
            (WEBHOOK_SECRET, settings.webhook_secret),
        )
        if value is not None
    ]
    box = required_box(f"store {' and '.join(held)} of provider {provider_id}") if held else None
    row = session.get(DeliverySettingsRow, provider_id, with_for_update=True)
    if row is None:
        row = DeliverySettingsRow(provider_id=provider_id)
        session.add(row)
    row.channel = settings.channel.value
    row.smtp_host = settings.smtp_host
    row.smtp_port = settings.smtp_port
    row.smtp_security = settings.smtp_security.value
    row.smtp_username = settings.smtp_username
    row.smtp_password = _sealed(box, settings.smtp_password)
    row.from_address = settings.from_address
    row.provider_email = settings.provider_email
    row.provider_webhook_url = settings.provider_webhook_url
    row.webhook_secret = _sealed(box, settings.webhook_secret)
    row.updated_at = utcnow()
    _flush(session, "the delivery settings were")
    return settings.model_copy(update={"updated_at": row.updated_at})


def _check_webhook_url(field: str, url: str | None, stored: str | None) -> None:
    """A new webhook URL must be one the worker may send to (models.outbound_address); one
    already stored is kept as it is, and delivery refuses it if it may not be used."""
    if url is None or url == stored:
        return
    refusal = url_refusal(url, Settings().webhook_policy())
    if refusal is not None:
        raise InputError(f"{field}: {refusal}")


def _check_smtp_host(host: str | None, stored: str | None) -> None:
    """A new SMTP host must be one the worker may connect to, as written; like a webhook URL,
    one already stored is kept, and delivery checks the addresses it resolves to."""
    if host is None or host == stored:
        return
    refusal = host_refusal(host, Settings().smtp_policy())
    if refusal is not None:
        raise InputError(f"smtpHost: {refusal}")


def change_delivery(session: Session, provider_id: str, change: DeliveryChange) -> DeliveryUpdate:
    """Apply a change, checked whole; switching to the webhook channel without a secret makes
    one, returned here once."""
    _require_provider(session, provider_id)
    current = delivery_settings(session, provider_id)
    merged = change.applied_to(current)
    _check_webhook_url(
        "providerWebhookUrl", merged["provider_webhook_url"], current.provider_webhook_url
    )
    _check_smtp_host(merged["smtp_host"], current.smtp_host)
    made: str | None = None
    if merged["channel"] is ChannelKind.WEBHOOK and merged["webhook_secret"] is None:
        made = new_webhook_secret()
        merged["webhook_secret"] = SecretStr(made)
    settings = DeliverySettings.model_validate(merged)
    return DeliveryUpdate(settings=_store(session, provider_id, settings), new_webhook_secret=made)


def rotate_webhook_secret(session: Session, provider_id: str) -> DeliveryUpdate:
    """A new signing secret, in force for the next webhook sent; the old one stops working."""
    _require_provider(session, provider_id)
    current = delivery_settings(session, provider_id)
    made = new_webhook_secret()
    settings = current.model_copy(update={"webhook_secret": SecretStr(made)})
    return DeliveryUpdate(settings=_store(session, provider_id, settings), new_webhook_secret=made)


class Reencrypted(Frozen):
    """What `reencrypt_secrets` found: each stored secret is counted once."""

    encrypted: int = Field(description="Plain-text secrets (from before encryption) encrypted.")
    reencrypted: int = Field(description="Secrets moved from an older key to the first one.")
    current: int = Field(description="Secrets already under the first key, left as they were.")


def reencrypt_secrets(session: Session) -> Reencrypted:
    """Every provider's secrets encrypted with the first key of PARTNERFLOW_SECRET_KEY, in one
    transaction: a secret no key can decrypt refuses the whole run, naming it. The settings'
    `updated_at` is kept: the settings did not change."""
    box = required_box("re-encrypt the stored secrets")
    counts = {"encrypted": 0, "reencrypted": 0, "current": 0}
    rows = session.scalars(
        select(DeliverySettingsRow).order_by(DeliverySettingsRow.provider_id).with_for_update()
    ).all()
    for row in rows:
        values: dict[str, str] = {}
        for column, what in (("smtp_password", SMTP_PASSWORD), ("webhook_secret", WEBHOOK_SECRET)):
            stored: str | None = getattr(row, column)
            if stored is None:
                continue
            if box.is_current(stored):
                counts["current"] += 1
                continue
            counts["reencrypted" if is_sealed(stored) else "encrypted"] += 1
            values[column] = box.reseal(stored, f"{what} of provider {row.provider_id}")
        if values:
            session.execute(
                update(DeliverySettingsRow)
                .where(DeliverySettingsRow.provider_id == row.provider_id)
                .values(**values, updated_at=DeliverySettingsRow.updated_at)
                .execution_options(synchronize_session=False)
            )
    return Reencrypted(**counts)


def _reseller(session: Session, provider_id: str, team_id: str) -> Reseller:
    """The provider's own reseller (see services.resellers); another's is not found."""
    _require_provider(session, provider_id)
    return own_reseller(session, provider_id, team_id)


def partner_contact(session: Session, provider_id: str, team_id: str) -> ContactRecord:
    reseller = _reseller(session, provider_id, team_id)
    row = session.get(PartnerContactRow, (provider_id, team_id))
    if row is None:
        return ContactRecord(
            reseller_team_id=team_id, contact=PartnerContact(), reseller_email=reseller.email
        )
    return ContactRecord(
        reseller_team_id=team_id,
        contact=PartnerContact(email=row.email, webhook_url=row.webhook_url),
        reseller_email=reseller.email,
        updated_at=row.updated_at,
    )


def set_partner_contact(
    session: Session, provider_id: str, team_id: str, contact: PartnerContact
) -> ContactRecord:
    """Replace the partner's contact; its next message goes there, even one already waiting."""
    reseller = _reseller(session, provider_id, team_id)
    row = session.get(PartnerContactRow, (provider_id, team_id), with_for_update=True)
    _check_webhook_url("webhookUrl", contact.webhook_url, row.webhook_url if row else None)
    if row is None:
        row = PartnerContactRow(provider_id=provider_id, reseller_team_id=team_id)
        session.add(row)
    row.email = contact.email
    row.webhook_url = contact.webhook_url
    row.updated_at = utcnow()
    _flush(session, f"the contact of {team_id} was")
    return ContactRecord(
        reseller_team_id=team_id,
        contact=contact,
        reseller_email=reseller.email,
        updated_at=row.updated_at,
    )
