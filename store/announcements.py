"""Announcements in the database: the row the provider's request makes, the audience it names
resolved in one statement, one outbox row per recipient put in place in bulk (each key at most
once, however often it is retried), and each announcement's progress read from the outbox.

Shared by the services (create, list, cancel) and the activities (record, settle): each status
change checks the status it moves from in the same transaction, under the row's lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.orm import Session

from models.announcement import (
    ANNOUNCEMENT_PREFIX,
    AnnouncementStatus,
    Audience,
    announcement_key,
    announcement_key_prefix,
)
from models.notifications import (
    AnnouncedOffer,
    AnnouncementNotice,
    NotificationContext,
    NotificationKind,
)
from models.pricing import tier_price
from models.program import Tier
from models.schema import Announcement, Notification, Offer, PreferredListEntry, Reseller
from store.offer_access import ON_PREFERRED_LIST, seen_by
from store.outbox_rows import (
    BulkRenderer,
    Recipient,
    channel_of,
    insert_absent,
    outbox_row,
    recorded_under,
)
from store.pricing import program_discounts


def _audience_condition(audience: Audience) -> ColumnElement[bool]:
    entry = PreferredListEntry
    listed = entry.status.in_(ON_PREFERRED_LIST)
    if audience.tiers:
        return and_(listed, entry.tier.in_([tier.value for tier in audience.tiers]))
    if audience.statuses:
        return entry.status.in_([status.value for status in audience.statuses])
    if audience.offer_id:
        return and_(listed, seen_by(entry.reseller_team_id))
    if audience.reseller_team_ids:
        return entry.reseller_team_id.in_(sorted(set(audience.reseller_team_ids)))
    return listed


def audience_query(provider_id: str, audience: Audience) -> Select[str, str, str]:
    """The provider's partners the audience names, with their tier and name, by team ID."""
    query = select(
        PreferredListEntry.reseller_team_id, PreferredListEntry.tier, Reseller.name
    ).join(Reseller, Reseller.team_id == PreferredListEntry.reseller_team_id)
    if audience.offer_id:
        # Joined rather than in an EXISTS: the conditions that say who sees it correlate to
        # the statement that holds both the offer and the partner.
        query = query.join(
            Offer, and_(Offer.id == audience.offer_id, Offer.provider_id == provider_id)
        )
    return query.where(
        PreferredListEntry.provider_id == provider_id,
        _audience_condition(audience),
    ).order_by(PreferredListEntry.reseller_team_id)


def audience_of(session: Session, provider_id: str, audience: Audience) -> list[Recipient]:
    return [
        Recipient(team, Tier(tier), name)
        for team, tier, name in session.execute(audience_query(provider_id, audience))
    ]


def locked(session: Session, provider_id: str, announcement_id: str) -> Announcement | None:
    return session.get(
        Announcement, (provider_id, announcement_id), with_for_update=True, populate_existing=True
    )


def move(
    row: Announcement,
    to: AnnouncementStatus,
    allowed_from: Sequence[AnnouncementStatus],
    now: datetime,
) -> bool:
    """Move a locked row to `to` if it stands at one of `allowed_from` (or at `to` already, as
    a retry finds it); a final status is stamped with when it was reached."""
    current = AnnouncementStatus(row.status)
    if current is to:
        return True
    if current not in allowed_from:
        return False
    row.status = to.value
    if to in (AnnouncementStatus.SENT, AnnouncementStatus.CANCELLED):
        row.settled_at = now
    return True


class Renderer:
    """Each recipient's subject and body from the announcement's templates (the provider's own
    where it saved some), with what is the same for every recipient of a tier read once: for
    an announcement to the partners who see an offer, that offer's price at the tier."""

    def __init__(self, session: Session, row: Announcement) -> None:
        self._bulk = BulkRenderer(session, row.provider_id, NotificationKind.ANNOUNCEMENT)
        self._notices: dict[Tier, AnnouncementNotice] = {}
        self._notice = AnnouncementNotice(kind=row.kind, subject=row.subject, body=row.body)
        offer_id = Audience.model_validate(row.audience).offer_id
        offer = session.get(Offer, offer_id) if offer_id else None
        self._offer = offer if offer is not None and offer.provider_id == row.provider_id else None
        self._discounts = program_discounts(session, row.provider_id) if self._offer else None

    def _notice_for(self, tier: Tier) -> AnnouncementNotice:
        if self._offer is None:
            return self._notice
        if tier not in self._notices:
            price = tier_price(
                self._offer.monthly_price,
                tier,
                tier_prices=self._offer.tier_prices,
                discounts=self._discounts,
            )
            self._notices[tier] = self._notice.model_copy(
                update={"offer": AnnouncedOffer(name=self._offer.name, price=price)}
            )
        return self._notices[tier]

    def render(self, recipient: Recipient) -> tuple[str, str]:
        return self._bulk.render(
            recipient,
            NotificationContext(tier=recipient.tier, announcement=self._notice_for(recipient.tier)),
        )


def record_chunk(
    session: Session, row: Announcement, renderer: Renderer, recipients: Sequence[Recipient]
) -> None:
    """Put a message for each recipient in the outbox; a recipient already there keeps its row
    (a retry records nobody twice)."""
    channel = channel_of(session, row.provider_id)
    insert_absent(
        session,
        [
            outbox_row(
                row.provider_id,
                announcement_key(row.provider_id, row.id, recipient.reseller_team_id),
                recipient,
                NotificationKind.ANNOUNCEMENT,
                channel,
                renderer.render(recipient),
            )
            for recipient in recipients
        ],
    )


def _prefix() -> ColumnElement[str]:
    return ANNOUNCEMENT_PREFIX + "/" + Announcement.provider_id + "/" + Announcement.id + "/"


def _its_messages() -> ColumnElement[bool]:
    """Joins an outbox row to the announcement its key names (an exact prefix: IDs may hold
    `_` or `%`, which LIKE would take as wildcards)."""
    prefix = _prefix()
    return and_(
        Notification.provider_id == Announcement.provider_id,
        Notification.kind == NotificationKind.ANNOUNCEMENT.value,
        func.substr(Notification.idempotency_key, 1, func.length(prefix)) == prefix,
    )


def recorded(session: Session, provider_id: str, announcement_id: str) -> tuple[int, list[str]]:
    """How many messages of the announcement the outbox holds, and the delivery batches
    they fall in."""
    return recorded_under(
        session, provider_id, announcement_key_prefix(provider_id, announcement_id)
    )


def progress(
    session: Session, provider_id: str, announcement_ids: Sequence[str]
) -> dict[str, dict[str, int]]:
    """For each announcement, its outbox rows counted by status, in one grouped query."""
    if not announcement_ids:
        return {}
    rows = session.execute(
        select(Announcement.id, Notification.status, func.count())
        .join(Notification, _its_messages())
        .where(Announcement.provider_id == provider_id, Announcement.id.in_(announcement_ids))
        .group_by(Announcement.id, Notification.status)
    )
    counts: dict[str, dict[str, int]] = {}
    for announcement_id, status, count in rows:
        counts.setdefault(announcement_id, {})[status] = int(count)
    return counts
