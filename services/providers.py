"""Providers and their API keys. A key is shown once, when issued; only its digest is stored."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from models.program import Frozen, ProgramSettings
from models.schema import ApiKey, ProgramVersion, Provider, ResellerKey, utcnow

KEY_PREFIX = "pf_"


class NewProvider(Frozen):
    provider_id: str
    name: str
    api_key: str


def hash_key(key: str) -> str:
    """Keys carry 256 random bits, so a plain SHA-256 digest is as safe as a slow hash here."""
    return hashlib.sha256(key.encode()).hexdigest()


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60]
    return slug or "provider"


def issue_key(session: Session, provider_id: str, label: str | None = None) -> str:
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiKey(provider_id=provider_id, key_hash=hash_key(key), prefix=key[:10], label=label)
    )
    return key


def create_provider(
    session: Session,
    name: str,
    provider_id: str | None = None,
    program: ProgramSettings | None = None,
) -> NewProvider:
    """A provider with the default program (version 1) and a first API key."""
    name = name.strip()
    if not name:
        raise ValueError("the provider's name must not be empty")
    if provider_id is not None:
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,99}", provider_id):
            raise ValueError(
                f"provider ID {provider_id!r}: use lowercase letters, digits and dashes"
            )
        if session.get(Provider, provider_id) is not None:
            raise ValueError(f"provider {provider_id} already exists")
    else:
        base = provider_id = _slug(name)
        n = 1
        while session.get(Provider, provider_id) is not None:
            n += 1
            provider_id = f"{base}-{n}"
    settings = program or ProgramSettings()
    session.add(
        Provider(
            id=provider_id,
            name=name,
            program=settings.model_dump(mode="json"),
            program_version=settings.version,
        )
    )
    session.flush()
    session.add(
        ProgramVersion(
            provider_id=provider_id,
            version=settings.version,
            program=settings.model_dump(mode="json"),
            changed_by="partnerflow providers create",
        )
    )
    return NewProvider(provider_id=provider_id, name=name, api_key=issue_key(session, provider_id))


LAST_USED_EVERY = timedelta(minutes=1)
"""How stale a key's `last_used_at` may get: it is written at most this often per key, not
once per request."""


def note_use(
    session: Session,
    table: type[ApiKey] | type[ResellerKey],
    key_id: int,
    last_used: datetime | None,
) -> None:
    """Write a key's last use now, unless it was written less than LAST_USED_EVERY ago."""
    now = utcnow()
    if last_used is not None and last_used > now - LAST_USED_EVERY:
        return
    stale = or_(table.last_used_at.is_(None), table.last_used_at <= now - LAST_USED_EVERY)
    # Conditional, so that of the processes that saw it stale at once only one writes.
    session.execute(update(table).where(table.id == key_id, stale).values(last_used_at=now))


def provider_for_key(session: Session, key: str) -> str | None:
    """The provider a key belongs to, or None for an unknown or revoked key. Read from the
    database on every call, never cached: a key revoked is refused by the next request."""
    found = session.execute(
        select(ApiKey.id, ApiKey.provider_id, ApiKey.last_used_at).where(
            ApiKey.key_hash == hash_key(key), ApiKey.revoked_at.is_(None)
        )
    ).one_or_none()
    if found is None:
        return None
    note_use(session, ApiKey, found.id, found.last_used_at)
    return str(found.provider_id)


def revoke_keys(session: Session, provider_id: str) -> int:
    keys = session.scalars(
        select(ApiKey).where(ApiKey.provider_id == provider_id, ApiKey.revoked_at.is_(None))
    ).all()
    for key in keys:
        key.revoked_at = utcnow()
    return len(keys)
