"""Which offers a partner can see: access to preferred offers for its tier, blocks, and an
early-access offer's launch."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, delete, exists, or_, select, update
from sqlalchemy.orm import Session

from models.offers import (
    AccessSource,
    LaunchResult,
    LaunchStatus,
    OfferAccessChange,
    OfferAccessResult,
    OfferLaunch,
    OfferMetadata,
    OfferStatus,
    Visibility,
)
from models.partner import PartnerStatus
from models.program import Tier
from models.schema import Offer, OfferAccess, OfferBlock, PreferredListEntry

ON_PREFERRED_LIST = tuple(status.value for status in PartnerStatus if status.on_preferred_list)


def _eligible_preferred_offers(session: Session, provider_id: str, tier: Tier) -> set[str]:
    offers = session.execute(
        select(Offer.id, Offer.min_tier).where(
            Offer.provider_id == provider_id, Offer.visibility == Visibility.PREFERRED.value
        )
    ).all()
    return {
        offer_id
        for offer_id, min_tier in offers
        if min_tier is None or Tier(min_tier).rank <= tier.rank
    }


def _current_access(
    session: Session, provider_id: str, reseller_team_id: str, source: AccessSource
) -> set[str]:
    return set(
        session.scalars(
            select(OfferAccess.offer_id)
            .join(Offer, Offer.id == OfferAccess.offer_id)
            .where(
                Offer.provider_id == provider_id,
                OfferAccess.reseller_team_id == reseller_team_id,
                OfferAccess.source == source.value,
            )
        )
    )


def _revoke(
    session: Session, reseller_team_id: str, source: AccessSource, offer_ids: set[str]
) -> None:
    if offer_ids:
        session.execute(
            delete(OfferAccess).where(
                OfferAccess.reseller_team_id == reseller_team_id,
                OfferAccess.source == source.value,
                OfferAccess.offer_id.in_(sorted(offer_ids)),
            )
        )


def _replace_blocks(session: Session, change: OfferAccessChange) -> list[str]:
    """Make the partner's blocks the wanted set, keeping the blocks that stay (and their dates)."""
    existing = {
        block.offer_id: block
        for block in session.scalars(
            select(OfferBlock).where(
                OfferBlock.provider_id == change.provider_id,
                OfferBlock.reseller_team_id == change.reseller_team_id,
            )
        )
    }
    wanted: set[str | None] = {None} if change.block_all else set(change.blocked_offer_ids)
    for offer_id, block in existing.items():
        if offer_id not in wanted:
            session.delete(block)
    session.add_all(
        OfferBlock(
            provider_id=change.provider_id,
            reseller_team_id=change.reseller_team_id,
            offer_id=offer_id,
            reason=change.reason,
        )
        for offer_id in wanted - existing.keys()
    )
    return sorted("*" if offer_id is None else offer_id for offer_id in wanted)


def apply_access_change(session: Session, change: OfferAccessChange) -> OfferAccessResult:
    """Make the partner's access rows and blocks match `change`; repeating it changes nothing."""
    wanted = (
        _eligible_preferred_offers(session, change.provider_id, change.tier)
        if change.tier is not None
        else set()
    )
    current = _current_access(
        session, change.provider_id, change.reseller_team_id, AccessSource.PREFERRED
    )
    granted = wanted - current
    revoked = current - wanted
    session.add_all(
        OfferAccess(
            offer_id=offer_id,
            reseller_team_id=change.reseller_team_id,
            source=AccessSource.PREFERRED.value,
        )
        for offer_id in sorted(granted)
    )
    _revoke(session, change.reseller_team_id, AccessSource.PREFERRED, revoked)
    if change.revoke_selected:
        selected = _current_access(
            session, change.provider_id, change.reseller_team_id, AccessSource.SELECTED
        )
        _revoke(session, change.reseller_team_id, AccessSource.SELECTED, selected)
        revoked |= selected
    blocked = _replace_blocks(session, change)
    return OfferAccessResult(granted=sorted(granted), revoked=sorted(revoked), blocked=blocked)


def sync_offer_grants(session: Session, offer: Offer) -> None:
    """Grant a `preferred` offer to exactly the partners on the list whose tier reaches it.

    Partners' own syncs skip offers that are not `preferred` at the time, so an
    offer that becomes `preferred` again (an exclusive ends) needs this.
    """
    current = set(
        session.scalars(
            select(OfferAccess.reseller_team_id).where(
                OfferAccess.offer_id == offer.id, OfferAccess.source == AccessSource.PREFERRED.value
            )
        )
    )
    wanted: set[str] = set()
    if offer.visibility == Visibility.PREFERRED.value:
        min_rank = Tier(offer.min_tier).rank if offer.min_tier else Tier.SILVER.rank
        wanted = {
            team_id
            for team_id, tier in session.execute(
                select(PreferredListEntry.reseller_team_id, PreferredListEntry.tier).where(
                    PreferredListEntry.provider_id == offer.provider_id,
                    PreferredListEntry.status.in_(ON_PREFERRED_LIST),
                )
            )
            if Tier(tier).rank >= min_rank
        }
    session.add_all(
        OfferAccess(
            offer_id=offer.id, reseller_team_id=team_id, source=AccessSource.PREFERRED.value
        )
        for team_id in sorted(wanted - current)
    )
    if current - wanted:
        session.execute(
            delete(OfferAccess).where(
                OfferAccess.offer_id == offer.id,
                OfferAccess.source == AccessSource.PREFERRED.value,
                OfferAccess.reseller_team_id.in_(sorted(current - wanted)),
            )
        )


def _seen(reseller_team_id: str | SQLColumnExpression[str]) -> ColumnElement[bool]:
    """Whether the reseller sees the offer (the `Offer` row of the query): active, public or granted
    under the offer's current visibility, and neither it nor every offer of its provider
    blocked. A preferred grant left over from before an offer became `selected` must not
    show it to resellers not allowed, hence the visibility."""
    has_access = exists().where(
        OfferAccess.offer_id == Offer.id,
        OfferAccess.reseller_team_id == reseller_team_id,
        OfferAccess.source == Offer.visibility,
    )
    is_blocked = exists().where(
        OfferBlock.offer_id == Offer.id, OfferBlock.reseller_team_id == reseller_team_id
    )
    all_blocked = exists().where(
        OfferBlock.provider_id == Offer.provider_id,
        OfferBlock.reseller_team_id == reseller_team_id,
        OfferBlock.offer_id.is_(None),
    )
    return and_(
        Offer.status == OfferStatus.ACTIVE.value,
        or_(Offer.visibility == Visibility.PUBLIC.value, has_access),
        ~is_blocked,
        ~all_blocked,
    )


def visible_offer_ids(session: Session, provider_id: str, reseller_team_id: str) -> list[str]:
    """The provider's offers this reseller can see right now."""
    return list(
        session.scalars(
            select(Offer.id)
            .where(Offer.provider_id == provider_id, _seen(reseller_team_id))
            .order_by(Offer.id)
        )
    )


def providers_seen(session: Session, reseller_team_id: str) -> set[str]:
    """The providers one of whose offers the reseller can see right now."""
    return set(session.scalars(select(Offer.provider_id).where(_seen(reseller_team_id)).distinct()))


def seen_by(reseller_team_id: SQLColumnExpression[str]) -> ColumnElement[bool]:
    """Whether the reseller in a column of the query sees the query's `Offer` row: one
    statement for many resellers (an announcement's audience)."""
    return _seen(reseller_team_id)


def lock_offer(session: Session, provider_id: str, offer_id: str) -> Offer | None:
    """The provider's offer, locked so that two changes of it apply one after the other."""
    mine = (Offer.id == offer_id, Offer.provider_id == provider_id)
    if session.get_bind().dialect.name == "sqlite":
        # SQLite has no FOR UPDATE and reads outside a transaction: an UPDATE that changes
        # nothing takes the write lock first, so what follows reads what a change made
        # at the same moment committed, in one transaction.
        session.execute(update(Offer).where(*mine).values(updated_at=Offer.updated_at))
    return session.scalar(select(Offer).where(*mine).with_for_update())


def metadata_of(offer: Offer) -> OfferMetadata:
    return OfferMetadata.model_validate(offer.details or {})


def _listed(session: Session, provider_id: str) -> set[str]:
    return set(
        session.scalars(
            select(PreferredListEntry.reseller_team_id).where(
                PreferredListEntry.provider_id == provider_id,
                PreferredListEntry.status.in_(ON_PREFERRED_LIST),
            )
        )
    )


def launch_offer(session: Session, launch: OfferLaunch, now: datetime) -> LaunchResult:
    """Make an early-access offer public if `launch` is still its launch; recorded in its
    metadata as `launchedAt`, so that doing it again changes nothing."""
    offer = lock_offer(session, launch.provider_id, launch.offer_id)
    if offer is None or offer.status == OfferStatus.RETIRED.value:
        return LaunchResult(status=LaunchStatus.WITHDRAWN)
    metadata = metadata_of(offer)
    if metadata.launched_at is not None:
        return LaunchResult(status=LaunchStatus.ALREADY_LAUNCHED)
    launch_at = metadata.launch_at
    if launch_at is None:
        return LaunchResult(status=LaunchStatus.WITHDRAWN)
    if launch_at != launch.launch_at:
        return LaunchResult(status=LaunchStatus.MOVED, launch_at=launch_at)
    had = set(
        session.scalars(
            select(OfferAccess.reseller_team_id).where(
                OfferAccess.offer_id == offer.id, OfferAccess.source == offer.visibility
            )
        )
    )
    offer.visibility = Visibility.PUBLIC.value
    offer.min_tier = None
    offer.details = metadata.launched(now)
    sync_offer_grants(session, offer)
    return LaunchResult(
        status=LaunchStatus.LAUNCHED,
        launch_at=launch_at,
        gained=_gained(session, offer, had),
        announce=bool(metadata.announce_launch),
    )


def _gained(session: Session, offer: Offer, had: set[str]) -> list[str]:
    """The partners on the list who see the offer now and did not see it before."""
    if offer.status != OfferStatus.ACTIVE.value:
        return []
    blocked = set(
        session.scalars(
            select(OfferBlock.reseller_team_id).where(
                OfferBlock.provider_id == offer.provider_id,
                or_(OfferBlock.offer_id == offer.id, OfferBlock.offer_id.is_(None)),
            )
        )
    )
    return sorted(_listed(session, offer.provider_id) - had - blocked)
