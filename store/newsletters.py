"""The monthly newsletter in the database: each provider's opt-in, one row per month it went
out, one outbox row per partner (each key at most once, however often it is retried), and each
month's progress read from the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.newsletter import (
    NEWSLETTER_PREFIX,
    NewsletterNotice,
    NewsletterStatus,
    newsletter_key,
    newsletter_key_prefix,
)
from models.notifications import NotificationContext, NotificationKind
from models.schema import Newsletter, NewsletterSetting, Notification
from store.outbox_rows import (
    BulkRenderer,
    Recipient,
    channel_of,
    insert_absent,
    outbox_row,
    recorded_under,
)

S = NewsletterStatus


def newsletter_enabled(session: Session, provider_id: str) -> bool:
    setting = session.get(NewsletterSetting, provider_id)
    return bool(setting and setting.enabled)


def set_newsletter(
    session: Session, provider_id: str, enabled: bool, now: datetime
) -> NewsletterSetting:
    setting = session.get(NewsletterSetting, provider_id, with_for_update=True)
    if setting is None:
        setting = NewsletterSetting(provider_id=provider_id, enabled=enabled, updated_at=now)
        session.add(setting)
    elif setting.enabled != enabled:
        setting.enabled = enabled
        setting.updated_at = now
    session.flush()
    return setting


def setting_of(session: Session, provider_id: str) -> NewsletterSetting | None:
    return session.get(NewsletterSetting, provider_id)


def subscribed_providers(session: Session) -> list[str]:
    """The providers that send the newsletter."""
    return list(
        session.scalars(
            select(NewsletterSetting.provider_id)
            .where(NewsletterSetting.enabled.is_(True))
            .order_by(NewsletterSetting.provider_id)
        )
    )


def locked_month(session: Session, provider_id: str, month: str) -> Newsletter | None:
    return session.get(
        Newsletter, (provider_id, month), with_for_update=True, populate_existing=True
    )


def open_month(session: Session, provider_id: str, month: str, now: datetime) -> Newsletter:
    """The month's row, made (recording) where it is not there yet."""
    row = locked_month(session, provider_id, month)
    if row is None:
        row = Newsletter(
            provider_id=provider_id, month=month, status=S.RECORDING.value, created_at=now
        )
        session.add(row)
        session.flush()
    return row


def record_chunk(
    session: Session,
    provider_id: str,
    month: str,
    renderer: BulkRenderer,
    notices: dict[str, NewsletterNotice],
    recipients: Sequence[Recipient],
) -> None:
    """Put each recipient's newsletter in the outbox; one already there keeps its row."""
    channel = channel_of(session, provider_id)
    kind = NotificationKind.NEWSLETTER
    insert_absent(
        session,
        [
            outbox_row(
                provider_id,
                newsletter_key(provider_id, month, recipient.reseller_team_id),
                recipient,
                kind,
                channel,
                renderer.render(
                    recipient,
                    NotificationContext(
                        tier=recipient.tier, newsletter=notices[recipient.reseller_team_id]
                    ),
                ),
            )
            for recipient in recipients
        ],
    )


def recorded(session: Session, provider_id: str, month: str) -> tuple[int, list[str]]:
    """How many newsletters of the month the outbox holds, and their delivery batches."""
    return recorded_under(session, provider_id, newsletter_key_prefix(provider_id, month))


def months(
    session: Session, provider_id: str, *, limit: int
) -> list[tuple[Newsletter, dict[str, int]]]:
    """The provider's latest newsletters, newest first, each with its outbox rows counted by
    status (one grouped query)."""
    rows = list(
        session.scalars(
            select(Newsletter)
            .where(Newsletter.provider_id == provider_id)
            .order_by(Newsletter.month.desc())
            .limit(limit)
        )
    )
    if not rows:
        return []
    prefix = NEWSLETTER_PREFIX + "/" + Newsletter.provider_id + "/" + Newsletter.month + "/"
    counted = session.execute(
        select(Newsletter.month, Notification.status, func.count())
        .join(
            Notification,
            (Notification.provider_id == Newsletter.provider_id)
            & (Notification.kind == NotificationKind.NEWSLETTER.value)
            & (func.substr(Notification.idempotency_key, 1, func.length(prefix)) == prefix),
        )
        .where(
            Newsletter.provider_id == provider_id,
            Newsletter.month.in_([row.month for row in rows]),
        )
        .group_by(Newsletter.month, Notification.status)
    )
    counts: dict[str, dict[str, int]] = {}
    for month, status, count in counted:
        counts.setdefault(month, {})[status] = int(count)
    return [(row, counts.get(row.month, {})) for row in rows]
