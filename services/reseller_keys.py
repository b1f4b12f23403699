"""A reseller team's keys to its portal and the `/reseller/` API: issued by the marketplace's
operator (`partnerflow resellers key TEAM`), shown once, kept only as a digest, revocable.

A reseller key starts with `pfr_` and a provider's with `pf_`: each is refused where the other
belongs, and the prefix lets the refusal say which key was sent.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.program import Frozen
from models.schema import Reseller, ResellerKey, utcnow
from services.errors import ConflictError, NotFoundError
from services.providers import hash_key, note_use

RESELLER_KEY_PREFIX = "pfr_"
MAX_ACTIVE_RESELLER_KEYS = 10
"""The most active keys one reseller team holds at once: one per person or system."""


class ResellerKeyInfo(Frozen):
    """A reseller key as the operator lists it: never the key itself."""

    id: int
    reseller_team_id: str
    prefix: str
    label: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class IssuedResellerKey(ResellerKeyInfo):
    key: str
    """The key itself, shown this once."""


def is_reseller_key(key: str) -> bool:
    return key.startswith(RESELLER_KEY_PREFIX)


def _info(row: ResellerKey) -> ResellerKeyInfo:
    return ResellerKeyInfo(
        id=row.id,
        reseller_team_id=row.reseller_team_id,
        prefix=row.prefix,
        label=row.label,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def _reseller(session: Session, team_id: str) -> Reseller:
    reseller = session.get(Reseller, team_id)
    if reseller is None:
        raise NotFoundError(
            f"no reseller {team_id} is registered: import it first (partnerflow resellers import)"
        )
    return reseller


def issue_reseller_key(
    session: Session, team_id: str, label: str | None = None
) -> IssuedResellerKey:
    """A new key for the reseller team; ConflictError once it holds MAX_ACTIVE_RESELLER_KEYS."""
    _reseller(session, team_id)
    active = session.scalar(
        select(func.count()).where(
            ResellerKey.reseller_team_id == team_id, ResellerKey.revoked_at.is_(None)
        )
    )
    if (active or 0) >= MAX_ACTIVE_RESELLER_KEYS:
        raise ConflictError(
            f"reseller {team_id} already has {MAX_ACTIVE_RESELLER_KEYS} active keys, the most "
            "it may hold: revoke one it no longer uses first"
        )
    key = RESELLER_KEY_PREFIX + secrets.token_urlsafe(32)
    row = ResellerKey(
        reseller_team_id=team_id, key_hash=hash_key(key), prefix=key[:11], label=label
    )
    session.add(row)
    session.flush()
    return IssuedResellerKey(**_info(row).model_dump(), key=key)


def list_reseller_keys(session: Session, team_id: str) -> list[ResellerKeyInfo]:
    """The team's keys, active ones first, then the newest first."""
    _reseller(session, team_id)
    query = (
        select(ResellerKey)
        .where(ResellerKey.reseller_team_id == team_id)
        .order_by(
            ResellerKey.revoked_at.is_not(None),
            ResellerKey.created_at.desc(),
            ResellerKey.id.desc(),
        )
    )
    return [_info(row) for row in session.scalars(query)]


def revoke_reseller_key(session: Session, team_id: str, key_id: int) -> ResellerKeyInfo:
    """Revoke one of the team's keys at once: its next request and its portal sessions are
    refused. Another team's key is not found; a key revoked already stays as it is."""
    row = session.scalars(
        select(ResellerKey).where(ResellerKey.id == key_id, ResellerKey.reseller_team_id == team_id)
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"reseller {team_id} has no key {key_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
    return _info(row)


class SignedResellerKey(Frozen):
    """The reseller team a key is for, and the key's ID (never the key)."""

    reseller_team_id: str
    key_id: int


def reseller_for_key(session: Session, key: str) -> SignedResellerKey | None:
    """The reseller team of an active key, or None. Read on every call, never cached; the
    key's last use is written at most once every LAST_USED_EVERY."""
    if not is_reseller_key(key):
        return None
    found = session.execute(
        select(ResellerKey.id, ResellerKey.reseller_team_id, ResellerKey.last_used_at).where(
            ResellerKey.key_hash == hash_key(key), ResellerKey.revoked_at.is_(None)
        )
    ).one_or_none()
    if found is None:
        return None
    note_use(session, ResellerKey, found.id, found.last_used_at)
    return SignedResellerKey(reseller_team_id=found.reseller_team_id, key_id=found.id)


def reseller_key_is_active(session: Session, signed: SignedResellerKey) -> bool:
    return (
        session.scalar(
            select(ResellerKey.id).where(
                ResellerKey.id == signed.key_id,
                ResellerKey.reseller_team_id == signed.reseller_team_id,
                ResellerKey.revoked_at.is_(None),
            )
        )
        is not None
    )
