"""A provider's monthly newsletter: whether it is on, and each month it went out with its
progress. The Schedule that sends it and the by-hand sends are clients.newsletters'."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import AwareDatetime, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.contract import newsletter_schedule_id, newsletter_workflow_id
from models.newsletter import NewsletterStatus, month_label
from models.notifications import NotificationContext, NotificationKind
from models.program import Frozen, Tier
from models.schema import Newsletter, PreferredListEntry, Reseller
from services.announcements import AnnouncementProgress, progress_of
from services.errors import NotFoundError
from store.newsletter_content import newsletter_notices
from store.newsletters import months, setting_of
from store.offer_access import ON_PREFERRED_LIST
from store.outbox_rows import BulkRenderer, Recipient

SEND_HOUR = 9
"""The newsletter goes out at 09:00 UTC on the 1st: after the monthly review (02:00)."""
CRON = f"0 {SEND_HOUR} 1 * *"
MONTHS_SHOWN = 12


class NewsletterMonth(Frozen):
    month: str
    month_label: str
    workflow_id: str
    status: NewsletterStatus
    recipients: int | None
    created_at: AwareDatetime
    settled_at: AwareDatetime | None
    progress: AnnouncementProgress


class NewsletterState(Frozen):
    """Whether the provider sends the monthly newsletter, when the next one goes out, and the
    latest months sent."""

    enabled: bool
    updated_at: AwareDatetime | None = Field(description="When it was last turned on or off.")
    schedule_id: str
    next_send_at: AwareDatetime | None = Field(description="None while it is off.")
    months: list[NewsletterMonth]


def next_send(now: datetime) -> datetime:
    """The next 1st of a month at SEND_HOUR UTC after `now`."""
    this_month = now.astimezone(UTC).replace(day=1, hour=SEND_HOUR, minute=0, second=0)
    this_month = this_month.replace(microsecond=0)
    if this_month > now:
        return this_month
    if this_month.month == 12:
        return this_month.replace(year=this_month.year + 1, month=1)
    return this_month.replace(month=this_month.month + 1)


def _month(row: Newsletter, counts: dict[str, int]) -> NewsletterMonth:
    return NewsletterMonth(
        month=row.month,
        month_label=month_label(row.month),
        workflow_id=newsletter_workflow_id(row.provider_id, row.month),
        status=NewsletterStatus(row.status),
        recipients=row.recipients,
        created_at=row.created_at,
        settled_at=row.settled_at,
        progress=progress_of(counts),
    )


def newsletter_state(session: Session, provider_id: str, now: datetime) -> NewsletterState:
    setting = setting_of(session, provider_id)
    enabled = bool(setting and setting.enabled)
    return NewsletterState(
        enabled=enabled,
        updated_at=setting.updated_at if setting else None,
        schedule_id=newsletter_schedule_id(provider_id),
        next_send_at=next_send(now) if enabled else None,
        months=[
            _month(row, counts) for row, counts in months(session, provider_id, limit=MONTHS_SHOWN)
        ],
    )


class NewsletterPreview(Frozen):
    reseller_team_id: str
    month: str
    subject: str
    body: str


def preview_newsletter(
    session: Session, provider_id: str, reseller_team_id: str, month: str
) -> NewsletterPreview:
    """The newsletter one partner on the list would read for `month`, as the provider's
    template renders it now; nothing is recorded or sent."""
    entry = session.get(PreferredListEntry, (provider_id, reseller_team_id))
    if entry is None or entry.status not in ON_PREFERRED_LIST:
        raise NotFoundError(f"{reseller_team_id} is not on the preferred list")
    name = session.scalar(select(Reseller.name).where(Reseller.team_id == reseller_team_id))
    recipient = Recipient(reseller_team_id, Tier(entry.tier), name or reseller_team_id)
    notices = newsletter_notices(session, provider_id, month, [(reseller_team_id, recipient.tier)])
    subject, body = BulkRenderer(session, provider_id, NotificationKind.NEWSLETTER).render(
        recipient,
        NotificationContext(tier=recipient.tier, newsletter=notices[reseller_team_id]),
    )
    return NewsletterPreview(
        reseller_team_id=reseller_team_id, month=month, subject=subject, body=body
    )
