"""What the provider's dashboard reads: its program at a glance, its partners found by ID or
name, one partner's orders by month, and the API keys its sessions stand on.

Each function is one or two SQL statements over the whole provider (grouped counts, a page
of rows), never one query per partner, so that a page stays light with thousands of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session

from models.metrics import PartnerMetrics, window_bounds
from models.partner import PartnerStatus
from models.program import Frozen, Tier
from models.review import ReviewCadence, ReviewPeriod
from models.schema import (
    Agreement,
    ApiKey,
    Offer,
    PreferredListEntry,
    Reseller,
    TransitionLogEntry,
)
from models.schema import Order as OrderRow
from services.providers import hash_key
from store.metrics import metrics_from_row, metrics_query

Rows = Select[*tuple[Any, ...]]
"""A query of the partners' rows, each column named as PartnerRow names it."""


class PartnerRow(Frozen):
    """A partner as the dashboard lists it: the preferred list's row and the reseller's name."""

    reseller_team_id: str
    name: str | None
    status: PartnerStatus
    tier: Tier
    enrolled_at: datetime | None
    grace_deadline: datetime | None
    updated_at: datetime


class TransitionRow(Frozen):
    reseller_team_id: str
    at: datetime
    from_status: str | None
    to_status: str
    from_tier: str
    to_tier: str
    reason: str
    actor: str
    actor_id: str | None


class AgreementRow(Frozen):
    agreement_id: str
    kind: str
    offer_id: str
    zip_codes: list[str]
    status: str
    term_number: int
    term_end: datetime
    ended_at: datetime | None


class PartnerSort(StrEnum):
    TEAM = "team"
    GRACE_DEADLINE = "grace_deadline"


class PartnerQuery(Frozen):
    """The partners page's filters: the same for the page and its CSV export."""

    q: str | None = None
    status: PartnerStatus | None = None
    tier: Tier | None = None
    sort: PartnerSort = PartnerSort.TEAM


def _partner_rows(provider_id: str) -> Rows:
    return (
        select(
            PreferredListEntry.reseller_team_id,
            Reseller.name,
            PreferredListEntry.status,
            PreferredListEntry.tier,
            PreferredListEntry.enrolled_at,
            PreferredListEntry.grace_deadline,
            PreferredListEntry.updated_at,
        )
        .outerjoin(Reseller, Reseller.team_id == PreferredListEntry.reseller_team_id)
        .where(PreferredListEntry.provider_id == provider_id)
    )


def _as_rows(session: Session, query: Rows) -> list[PartnerRow]:
    return [PartnerRow.model_validate(row._mapping) for row in session.execute(query)]


def _filtered(provider_id: str, where: PartnerQuery) -> Rows:
    query = _partner_rows(provider_id)
    if where.q and where.q.strip():
        like = f"%{where.q.strip().lower()}%"
        query = query.where(
            or_(
                func.lower(PreferredListEntry.reseller_team_id).like(like),
                func.lower(Reseller.name).like(like),
            )
        )
    if where.status is not None:
        query = query.where(PreferredListEntry.status == where.status.value)
    if where.tier is not None:
        query = query.where(PreferredListEntry.tier == where.tier.value)
    if where.sort is PartnerSort.GRACE_DEADLINE:
        # The nearest deadline first; partners without one after them.
        return query.order_by(
            PreferredListEntry.grace_deadline.is_(None),
            PreferredListEntry.grace_deadline,
            PreferredListEntry.reseller_team_id,
        )
    return query.order_by(PreferredListEntry.reseller_team_id)


def find_partners(
    session: Session, provider_id: str, where: PartnerQuery, *, page: int, page_size: int
) -> tuple[list[PartnerRow], int]:
    """One page of the provider's partners that pass the filters, and how many pass in all."""
    query = _filtered(provider_id, where)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    return _as_rows(session, query.offset((page - 1) * page_size).limit(page_size)), total


def all_partners(session: Session, provider_id: str, where: PartnerQuery) -> list[PartnerRow]:
    """Every partner that passes the filters: the CSV export."""
    return _as_rows(session, _filtered(provider_id, where))


def partner_counts(session: Session, provider_id: str) -> dict[tuple[str, str], int]:
    """How many partners hold each (status, tier)."""
    rows = session.execute(
        select(PreferredListEntry.status, PreferredListEntry.tier, func.count())
        .where(PreferredListEntry.provider_id == provider_id)
        .group_by(PreferredListEntry.status, PreferredListEntry.tier)
    )
    return {(status, tier): count for status, tier, count in rows}


def at_risk_partners(session: Session, provider_id: str, limit: int = 20) -> list[PartnerRow]:
    """The partners at risk, the nearest grace deadline first."""
    query = (
        _partner_rows(provider_id)
        .where(PreferredListEntry.status == PartnerStatus.AT_RISK.value)
        .order_by(PreferredListEntry.grace_deadline, PreferredListEntry.reseller_team_id)
        .limit(limit)
    )
    return _as_rows(session, query)


def recent_transitions(session: Session, provider_id: str, limit: int = 15) -> list[TransitionRow]:
    """The provider's latest partner transitions, the latest first: who moved, why, by whom."""
    rows = session.scalars(
        select(TransitionLogEntry)
        .where(TransitionLogEntry.provider_id == provider_id)
        .order_by(TransitionLogEntry.at.desc(), TransitionLogEntry.id.desc())
        .limit(limit)
    )
    return [TransitionRow.model_validate(row, from_attributes=True) for row in rows]


def reseller_name(session: Session, team_id: str) -> str | None:
    return session.scalar(select(Reseller.name).where(Reseller.team_id == team_id))


def partner_agreements(session: Session, provider_id: str, team_id: str) -> list[AgreementRow]:
    rows = session.scalars(
        select(Agreement)
        .where(Agreement.provider_id == provider_id, Agreement.reseller_team_id == team_id)
        .order_by(Agreement.started_at.desc())
    )
    return [AgreementRow.model_validate(row, from_attributes=True) for row in rows]


def monthly_orders(
    session: Session, provider_id: str, team_id: str, now: datetime, months: int = 12
) -> list[tuple[str, int]]:
    """The partner's orders with the provider in each of the last `months` calendar months
    (the current one last, so far), in one statement."""
    current = ReviewPeriod.last_ended(ReviewCadence.MONTHLY, now)
    periods: list[ReviewPeriod] = [ReviewPeriod.starting(ReviewCadence.MONTHLY, current.end)]
    while len(periods) < months:
        periods.insert(0, periods[0].previous())
    columns = [
        func.coalesce(
            func.sum(
                case(
                    (
                        (OrderRow.created_at >= period.start) & (OrderRow.created_at < period.end),
                        1,
                    ),
                    else_=0,
                )
            ),
            0,
        )
        for period in periods
    ]
    counts: Sequence[Any] = session.execute(
        select(*columns).where(
            OrderRow.provider_id == provider_id,
            OrderRow.reseller_team_id == team_id,
            OrderRow.created_at >= periods[0].start,
        )
    ).one()
    return [(period.label, int(count)) for period, count in zip(periods, counts, strict=True)]


def provider_offers(session: Session, provider_id: str) -> list[tuple[str, str]]:
    """The provider's offers, (ID, name), by ID: what a block can name."""
    rows = session.execute(
        select(Offer.id, Offer.name).where(Offer.provider_id == provider_id).order_by(Offer.id)
    )
    return [(offer_id, name) for offer_id, name in rows]


def resellers_metrics(
    session: Session,
    provider_id: str,
    joined: dict[str, datetime | None],
    now: datetime,
    window_days: int,
) -> dict[str, PartnerMetrics]:
    """Each reseller's metrics with the provider over the window ending `now`, in one query for
    the lot (a page of the resellers list); `joined` gives each one's join date, for tenure
    where it has no order in the window."""
    start, end = window_bounds(now, window_days)
    rows = {
        row.reseller_team_id: row
        for row in session.execute(metrics_query(provider_id, start, end, list(joined)))
    }
    return {
        team: metrics_from_row(provider_id, team, start, end, rows.get(team), joined_at)
        for team, joined_at in joined.items()
    }


class SignedKey(Frozen):
    provider_id: str
    key_id: int


def key_for_sign_in(session: Session, key: str) -> SignedKey | None:
    """The provider and the key's ID for an active API key, or None (unknown or revoked)."""
    row = session.execute(
        select(ApiKey.provider_id, ApiKey.id).where(
            ApiKey.key_hash == hash_key(key.strip()), ApiKey.revoked_at.is_(None)
        )
    ).one_or_none()
    return None if row is None else SignedKey(provider_id=row[0], key_id=row[1])


def key_is_active(session: Session, signed: SignedKey) -> bool:
    """Whether the key a session was signed in with is still the provider's and not revoked."""
    found = session.scalar(
        select(ApiKey.id).where(
            ApiKey.id == signed.key_id,
            ApiKey.provider_id == signed.provider_id,
            ApiKey.revoked_at.is_(None),
        )
    )
    return found is not None
