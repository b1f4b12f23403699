"""The outbox as providers read it: every message, to whom, through which channel, and how
its delivery went."""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from models.delivery import OutboxEntry, OutboxFilter, OutboxStatus
from models.schema import Notification
from services.errors import ConflictError, InputError, NotFoundError


def _entry(row: Notification) -> OutboxEntry:
    return OutboxEntry.model_validate(row, from_attributes=True)


def outbox_query(provider_id: str, where: OutboxFilter) -> Select[Notification]:
    """The provider's messages that pass the filter, the latest first."""
    query = select(Notification).where(Notification.provider_id == provider_id)
    if where.reseller_team_id is not None:
        query = query.where(Notification.reseller_team_id == where.reseller_team_id)
    if where.kind is not None:
        query = query.where(Notification.kind == where.kind.value)
    if where.status is not None:
        query = query.where(Notification.status == where.status.value)
    return query.order_by(Notification.id.desc())


def outbox_page(
    session: Session, provider_id: str, where: OutboxFilter, *, page: int, page_size: int
) -> tuple[list[OutboxEntry], int]:
    """One page of the provider's messages, and how many pass the filter in all."""
    query = outbox_query(provider_id, where)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.offset((page - 1) * page_size).limit(page_size))
    return [_entry(row) for row in rows], total


def outbox_entry(session: Session, provider_id: str, notification_id: int) -> OutboxEntry:
    row = session.get(Notification, notification_id)
    if row is None or row.provider_id != provider_id:
        raise NotFoundError(f"no message {notification_id} in the outbox of {provider_id}")
    return _entry(row)


def resendable_entry(session: Session, provider_id: str, notification_id: int) -> OutboxEntry:
    """The message, if it can be sent again: bounced or failed, not pending, under way or sent."""
    entry = outbox_entry(session, provider_id, notification_id)
    if not entry.status.undelivered:
        raise ConflictError(
            f"message {notification_id} is {entry.status.value}: only a bounced or failed "
            "message is sent again"
        )
    return entry


def resendable_entries(
    session: Session, provider_id: str, where: OutboxFilter, *, limit: int
) -> tuple[list[OutboxEntry], int]:
    """The oldest `limit` messages that pass the filter and can be sent again, and how many
    there are in all; `where.status`, if given, must be bounced or failed."""
    if where.status is not None and not where.status.undelivered:
        raise InputError(
            f"status: only bounced or failed messages are sent again, not {where.status.value}"
        )
    query = outbox_query(provider_id, where)
    if where.status is None:
        undelivered = [status.value for status in OutboxStatus if status.undelivered]
        query = query.where(Notification.status.in_(undelivered))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(None).order_by(Notification.id).limit(limit))
    return [_entry(row) for row in rows], total
