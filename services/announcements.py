"""A provider's announcements: made from its request, listed with their progress, cancelled
while they wait. The workflow that sends each one is started by clients.announcements."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import AwareDatetime, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.announcement import (
    TOO_FAR,
    AnnouncementKind,
    AnnouncementRequest,
    AnnouncementStatus,
    Audience,
    too_far,
)
from models.contract import announcement_workflow_id
from models.delivery import OutboxStatus
from models.program import Frozen
from models.schema import Announcement, Offer
from services.errors import ConflictError, InputError, NotFoundError
from store.announcements import locked, move, progress


class AnnouncementProgress(Frozen):
    """The announcement's messages in the outbox, by status."""

    recorded: int = 0
    pending: int = Field(default=0, description="Recorded, not tried yet, or being tried.")
    sent: int = 0
    bounced: int = 0
    failed: int = 0


class AnnouncementRecord(Frozen):
    announcement_id: str
    workflow_id: str
    kind: AnnouncementKind
    subject: str
    body: str
    audience: Audience
    send_at: AwareDatetime
    status: AnnouncementStatus
    recipients: int | None
    created_by: str
    created_at: AwareDatetime
    settled_at: AwareDatetime | None
    progress: AnnouncementProgress


def progress_of(counts: dict[str, int]) -> AnnouncementProgress:
    """Outbox rows counted by status, as a provider reads them."""
    return AnnouncementProgress(
        recorded=sum(counts.values()),
        pending=counts.get(OutboxStatus.PENDING.value, 0)
        + counts.get(OutboxStatus.SENDING.value, 0),
        sent=counts.get(OutboxStatus.SENT.value, 0),
        bounced=counts.get(OutboxStatus.BOUNCED.value, 0),
        failed=counts.get(OutboxStatus.FAILED.value, 0),
    )


def _record(row: Announcement, counts: dict[str, int]) -> AnnouncementRecord:
    return AnnouncementRecord(
        announcement_id=row.id,
        workflow_id=announcement_workflow_id(row.provider_id, row.id),
        kind=AnnouncementKind(row.kind),
        subject=row.subject,
        body=row.body,
        audience=Audience.model_validate(row.audience),
        send_at=row.send_at,
        status=AnnouncementStatus(row.status),
        recipients=row.recipients,
        created_by=row.created_by,
        created_at=row.created_at,
        settled_at=row.settled_at,
        progress=progress_of(counts),
    )


def _with_progress(
    session: Session, provider_id: str, rows: list[Announcement]
) -> list[AnnouncementRecord]:
    counts = progress(session, provider_id, [row.id for row in rows])
    return [_record(row, counts.get(row.id, {})) for row in rows]


def _new_id(kind: AnnouncementKind, now: datetime) -> str:
    return f"{kind.value.replace('_', '-')}-{now:%Y%m%d}-{uuid.uuid4().hex[:8]}"


def create_announcement(
    session: Session, provider_id: str, request: AnnouncementRequest, now: datetime
) -> AnnouncementRecord:
    """Record the announcement, scheduled for its time (now, if none or a past one is given)."""
    send_at = max(request.send_at or now, now)
    if too_far(send_at, now):
        raise InputError(TOO_FAR)
    offer_id = request.audience.offer_id
    if (
        offer_id is not None
        and session.scalar(
            select(Offer.id).where(Offer.id == offer_id, Offer.provider_id == provider_id)
        )
        is None
    ):
        raise InputError(f"audience.offerId: the provider has no offer {offer_id!r}")
    announcement_id = request.announcement_id or _new_id(request.kind, now)
    if session.get(Announcement, (provider_id, announcement_id)) is not None:
        raise ConflictError(
            f"announcement {announcement_id!r} already exists: choose another announcementId"
        )
    row = Announcement(
        provider_id=provider_id,
        id=announcement_id,
        kind=request.kind.value,
        subject=request.subject,
        body=request.body,
        audience=request.audience.stored(),
        send_at=send_at,
        status=AnnouncementStatus.SCHEDULED.value,
        created_by=request.created_by,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return _record(row, {})


def withdraw_announcement(session: Session, provider_id: str, announcement_id: str) -> None:
    """Forget an announcement whose workflow could not start: nothing of it was sent."""
    row = locked(session, provider_id, announcement_id)
    if row is not None and row.status == AnnouncementStatus.SCHEDULED.value:
        session.delete(row)


def _row(
    session: Session, provider_id: str, announcement_id: str, *, lock: bool = False
) -> Announcement:
    row = (
        locked(session, provider_id, announcement_id)
        if lock
        else session.get(Announcement, (provider_id, announcement_id))
    )
    if row is None:
        raise NotFoundError(f"no announcement {announcement_id!r}")
    return row


def get_announcement(
    session: Session, provider_id: str, announcement_id: str
) -> AnnouncementRecord:
    return _with_progress(session, provider_id, [_row(session, provider_id, announcement_id)])[0]


def list_announcements(
    session: Session, provider_id: str, *, page: int, page_size: int
) -> tuple[list[AnnouncementRecord], int]:
    """The provider's announcements, newest first, each with its progress."""
    total = (
        session.scalar(
            select(func.count())
            .select_from(Announcement)
            .where(Announcement.provider_id == provider_id)
        )
        or 0
    )
    rows = list(
        session.scalars(
            select(Announcement)
            .where(Announcement.provider_id == provider_id)
            .order_by(Announcement.created_at.desc(), Announcement.id.desc())
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
    )
    return _with_progress(session, provider_id, rows), total


def cancel_announcement(
    session: Session, provider_id: str, announcement_id: str, now: datetime
) -> AnnouncementRecord:
    """Cancel an announcement still waiting for its time (cancelling twice is fine); one whose
    time came is past cancelling."""
    row = _row(session, provider_id, announcement_id, lock=True)
    if not move(row, AnnouncementStatus.CANCELLED, (AnnouncementStatus.SCHEDULED,), now):
        raise ConflictError(
            f"announcement {announcement_id!r} is {row.status}: only a scheduled one can be "
            "cancelled"
        )
    session.flush()
    return _with_progress(session, provider_id, [row])[0]
