"""A provider's API keys: list them, issue another, revoke one. A key is shown once, when
issued; only its digest is kept, with a prefix to tell keys apart and a label saying what the
key is for. A provider always keeps one active key, so that it is never locked out."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.program import Frozen
from models.schema import ApiKey, utcnow
from services.errors import ConflictError, NotFoundError
from services.providers import hash_key, issue_key

MAX_ACTIVE_KEYS = 20
"""The most active keys a provider may hold at once: enough for one per system that calls."""


class KeyInfo(Frozen):
    """A key as its provider sees it: never the key itself."""

    id: int
    prefix: str
    label: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class IssuedKey(KeyInfo):
    key: str
    """The key itself, shown this once."""


def _info(row: ApiKey) -> KeyInfo:
    return KeyInfo(
        id=row.id,
        prefix=row.prefix,
        label=row.label,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def _active(session: Session, provider_id: str) -> int:
    query = select(func.count()).where(
        ApiKey.provider_id == provider_id, ApiKey.revoked_at.is_(None)
    )
    return session.scalar(query) or 0


def list_keys(session: Session, provider_id: str) -> list[KeyInfo]:
    """The provider's keys, active ones first, then the newest first."""
    query = (
        select(ApiKey)
        .where(ApiKey.provider_id == provider_id)
        .order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc(), ApiKey.id.desc())
    )
    return [_info(row) for row in session.scalars(query)]


def create_key(session: Session, provider_id: str, label: str | None = None) -> IssuedKey:
    """Another key for the provider; ConflictError once it holds MAX_ACTIVE_KEYS."""
    if _active(session, provider_id) >= MAX_ACTIVE_KEYS:
        raise ConflictError(
            f"provider {provider_id} already has {MAX_ACTIVE_KEYS} active API keys, the most "
            "it may hold: revoke one it no longer uses first"
        )
    key = issue_key(session, provider_id, label=label)
    session.flush()
    row = session.scalars(select(ApiKey).where(ApiKey.key_hash == hash_key(key))).one()
    return IssuedKey(**_info(row).model_dump(), key=key)


def revoke_key(session: Session, provider_id: str, key_id: int) -> KeyInfo:
    """Revoke one of the provider's keys at once (a key revoked already is left as it is).
    Another provider's key is not found; the provider's last active key is a ConflictError."""
    row = session.scalars(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.provider_id == provider_id)
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"provider {provider_id} has no API key {key_id}")
    if row.revoked_at is None:
        # The provider's active keys, locked (on PostgreSQL) so that two revocations at once
        # cannot each see the other's key still active and leave none.
        active = session.scalars(
            select(ApiKey.id)
            .where(ApiKey.provider_id == provider_id, ApiKey.revoked_at.is_(None))
            .with_for_update()
        ).all()
        if len(active) <= 1:
            raise ConflictError(
                f"API key {key_id} is the last active key of provider {provider_id}: create "
                "another first, so that the provider is not locked out"
            )
        row.revoked_at = utcnow()
        session.flush()
    return _info(row)


def key_id_of(session: Session, key: str) -> int | None:
    """The ID of the key itself (as sent in x-api-key), if it is known."""
    return session.scalar(select(ApiKey.id).where(ApiKey.key_hash == hash_key(key)))
