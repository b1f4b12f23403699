"""Feedback loops: what resellers tell the providers whose programs they see, and what a
provider reads of it, with the demand its resellers name grouped by ZIP code.

A reseller sends feedback only to a provider whose program it sees (services.portal), and at
most FEEDBACK_LIMIT to one provider in FEEDBACK_WINDOW_HOURS. A provider reads only the
feedback sent to it; a reseller only its own.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, exists, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import FromClause

from models.feedback import (
    FEEDBACK_LIMIT,
    FEEDBACK_WINDOW_HOURS,
    FeedbackKind,
    FeedbackRecord,
    NewFeedback,
    ZipDemand,
)
from models.schema import Provider, Reseller, ResellerFeedback, utcnow
from services.errors import NotFoundError, RateLimitedError
from services.portal import require_program

FEEDBACK_WINDOW = timedelta(hours=FEEDBACK_WINDOW_HOURS)
MAX_DEMAND_ZIPS = 200
"""The most ZIP codes a provider's demand shows: the most named first."""


def _record(row: ResellerFeedback, provider_name: str, reseller_name: str) -> FeedbackRecord:
    return FeedbackRecord(
        id=row.id,
        provider_id=row.provider_id,
        provider_name=provider_name,
        reseller_team_id=row.reseller_team_id,
        reseller_name=reseller_name,
        kind=FeedbackKind(row.kind),
        service_category=row.service_category,
        zip_codes=list(row.zip_codes),
        text=row.text,
        created_at=row.created_at,
    )


def _with_names(query: Select[Any]) -> Select[ResellerFeedback, str, str]:
    return (
        query.add_columns(Provider.name, Reseller.name)
        .join(Provider, Provider.id == ResellerFeedback.provider_id)
        .join(Reseller, Reseller.team_id == ResellerFeedback.reseller_team_id)
    )


def _page(
    session: Session, query: Select[Any], page: int, page_size: int
) -> tuple[list[FeedbackRecord], int]:
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    newest_first = query.order_by(ResellerFeedback.created_at.desc(), ResellerFeedback.id.desc())
    rows = session.execute(
        _with_names(newest_first.offset((page - 1) * page_size).limit(page_size))
    )
    return [_record(*row) for row in rows], total


def _retry_after(recent: list[datetime], now: datetime) -> int:
    """Seconds until the oldest of the latest FEEDBACK_LIMIT leaves the window."""
    frees_at = recent[FEEDBACK_LIMIT - 1] + FEEDBACK_WINDOW
    return max(1, math.ceil((frees_at - now).total_seconds()))


def send_feedback(session: Session, team_id: str, new: NewFeedback) -> FeedbackRecord:
    """Keep the reseller's feedback to a provider whose program it sees (NotFoundError
    otherwise); RateLimitedError, with nothing written, once it has sent FEEDBACK_LIMIT to
    that provider in FEEDBACK_WINDOW."""
    require_program(session, new.provider_id, team_id)
    # One reseller's sends are taken one at a time: on PostgreSQL by this lock, on SQLite by
    # the write turn that the insert below takes before the count (models.sqlite_writes).
    reseller = session.get(Reseller, team_id, with_for_update=True)
    if reseller is None:
        raise NotFoundError(f"no reseller {team_id} is registered")
    now = utcnow()
    row = ResellerFeedback(
        provider_id=new.provider_id,
        reseller_team_id=team_id,
        kind=new.kind.value,
        service_category=new.service_category,
        zip_codes=list(new.zip_codes),
        text=new.text,
        created_at=now,
    )
    session.add(row)
    session.flush()
    recent = list(
        session.scalars(
            select(ResellerFeedback.created_at)
            .where(
                ResellerFeedback.provider_id == new.provider_id,
                ResellerFeedback.reseller_team_id == team_id,
                ResellerFeedback.created_at > now - FEEDBACK_WINDOW,
                ResellerFeedback.id != row.id,
            )
            .order_by(ResellerFeedback.created_at.desc())
            .limit(FEEDBACK_LIMIT)
        )
    )
    if len(recent) >= FEEDBACK_LIMIT:
        session.delete(row)
        session.flush()
        raise RateLimitedError(
            f"you have sent provider {new.provider_id} {FEEDBACK_LIMIT} feedback in the last "
            f"{FEEDBACK_WINDOW_HOURS} hours, the most it takes: send this one again later",
            _retry_after(recent, now),
        )
    return _record(row, session.get_one(Provider, new.provider_id).name, reseller.name)


def reseller_feedback(
    session: Session, team_id: str, *, page: int = 1, page_size: int = 50
) -> tuple[list[FeedbackRecord], int]:
    """One page of the feedback the reseller sent, to any provider, the newest first, and how
    many there are in all."""
    query = select(ResellerFeedback).where(ResellerFeedback.reseller_team_id == team_id)
    return _page(session, query, page, page_size)


def _zip_elements(session: Session) -> FromClause:
    """Each feedback's ZIP codes as rows of a `value` column: a JSON list is unnested by
    each backend's own function (both take a column of the outer query, as LATERAL)."""
    if session.get_bind().dialect.name == "postgresql":
        unnest = func.json_array_elements_text(ResellerFeedback.zip_codes)
        return unnest.table_valued("value").render_derived(name="zip")
    return func.json_each(ResellerFeedback.zip_codes).table_valued("value").alias("zip")


def _provider_query(
    session: Session, provider_id: str, kind: FeedbackKind | None, zip_code: str | None
) -> Select[ResellerFeedback]:
    query = select(ResellerFeedback).where(ResellerFeedback.provider_id == provider_id)
    if kind is not None:
        query = query.where(ResellerFeedback.kind == kind.value)
    if zip_code is not None:
        zips = _zip_elements(session)
        query = query.where(
            exists(select(literal(1)).select_from(zips).where(zips.c.value == zip_code))
        )
    return query


def provider_feedback(
    session: Session,
    provider_id: str,
    *,
    kind: FeedbackKind | None = None,
    zip_code: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[FeedbackRecord], int]:
    """One page of the feedback sent to the provider, the newest first (of one kind, naming
    one ZIP code, where given), and how many there are in all."""
    return _page(session, _provider_query(session, provider_id, kind, zip_code), page, page_size)


def zip_demand(
    session: Session, provider_id: str, *, kind: FeedbackKind | None = None
) -> list[ZipDemand]:
    """The ZIP codes the provider's feedback names (of one kind, where given), the most named
    first: how many feedback name each, from how many resellers, and when last. At most
    MAX_DEMAND_ZIPS."""
    zips = _zip_elements(session)
    zip_code = zips.c.value
    mentions = func.count()
    resellers = func.count(ResellerFeedback.reseller_team_id.distinct())
    query = (
        select(zip_code, mentions, resellers, func.max(ResellerFeedback.created_at))
        .select_from(ResellerFeedback)
        .join(zips, literal(True))
        .where(ResellerFeedback.provider_id == provider_id)
        .group_by(zip_code)
        .order_by(mentions.desc(), resellers.desc(), zip_code)
        .limit(MAX_DEMAND_ZIPS)
    )
    if kind is not None:
        query = query.where(ResellerFeedback.kind == kind.value)
    return [
        ZipDemand(zip_code=code, mentions=count, resellers=distinct, latest_at=latest)
        for code, count, distinct, latest in session.execute(query)
    ]
