"""The marketplace's resellers: registered by the marketplace, searched by providers, and
which of them are a provider's own, the only ones whose data the provider may see or change.

Resellers are the marketplace's, shared by every provider. A provider's own are those on
its preferred list (whatever their status now), those its orders name, and those it lets
see one of its selected offers. Any other reseller, one that exists and one that does not
alike, is not found, with the same message: a provider learns nothing of the others'.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from models.program import Frozen
from models.reseller import ResellerRecord
from models.schema import Offer, OfferAccess, Order, PreferredListEntry, Reseller
from services.errors import InputError, NotFoundError


def own_reseller(session: Session, provider_id: str, team_id: str) -> Reseller:
    """The reseller, if it is the provider's; NotFoundError otherwise."""
    listed = exists().where(
        PreferredListEntry.provider_id == provider_id,
        PreferredListEntry.reseller_team_id == team_id,
    )
    sold = exists().where(Order.provider_id == provider_id, Order.reseller_team_id == team_id)
    allowed = exists().where(
        OfferAccess.reseller_team_id == team_id,
        OfferAccess.offer_id == Offer.id,
        Offer.provider_id == provider_id,
    )
    query = select(Reseller).where(Reseller.team_id == team_id, or_(listed, sold, allowed))
    reseller = session.scalar(query)
    if reseller is None:
        raise NotFoundError(f"{team_id} is not a partner or reseller of provider {provider_id}")
    return reseller


class Upserted(Frozen):
    """What a batch of reseller records did: resellers added, changed, and left as they were."""

    added: int
    updated: int
    unchanged: int


LOOKUP_CHUNK = 1000
"""Team IDs looked up per query: well under SQLite's and PostgreSQL's parameter limits."""


def upsert_resellers(session: Session, records: list[ResellerRecord]) -> Upserted:
    """Add or update every record in the session's transaction, or none: a new reseller
    without a name refuses the batch (InputError naming its row) before anything is written."""
    ids = [record.reseller_team_id for record in records]
    existing: dict[str, Reseller] = {}
    for start in range(0, len(ids), LOOKUP_CHUNK):
        chunk = ids[start : start + LOOKUP_CHUNK]
        for found in session.scalars(select(Reseller).where(Reseller.team_id.in_(chunk))):
            existing[found.team_id] = found
    for number, record in enumerate(records, start=1):
        if record.reseller_team_id not in existing and record.name is None:
            raise InputError(
                f"row {number}: name: required for a new reseller ({record.reseller_team_id})"
            )
    added = updated = 0
    for record in records:
        changes = record.changes()
        reseller = existing.get(record.reseller_team_id)
        if reseller is None:
            session.add(Reseller(team_id=record.reseller_team_id, **changes))
            added += 1
            continue
        different = {k: v for k, v in changes.items() if getattr(reseller, k) != v}
        for column, value in different.items():
            setattr(reseller, column, value)
        updated += bool(different)
    session.flush()
    return Upserted(added=added, updated=updated, unchanged=len(records) - added - updated)


class ResellerListing(Frozen):
    """A marketplace reseller as a provider finds it, with its standing in that provider's
    program (None where it has never been on the provider's list)."""

    reseller_team_id: str
    name: str
    contact_name: str | None
    email: str | None
    phone: str | None
    region: str | None
    joined_at: datetime | None
    partner_status: str | None
    partner_tier: str | None


def search_resellers(
    session: Session, provider_id: str, q: str | None, *, page: int, page_size: int
) -> tuple[list[ResellerListing], int]:
    """The marketplace's resellers whose team ID or name holds `q` (any case), by name, with
    this provider's partner status and tier only: another provider's never show."""
    entry = aliased(PreferredListEntry)
    query = select(Reseller, entry.status, entry.tier).outerjoin(
        entry,
        and_(entry.provider_id == provider_id, entry.reseller_team_id == Reseller.team_id),
    )
    if q:
        needle = q.lower()
        query = query.where(
            or_(
                func.lower(Reseller.team_id).contains(needle, autoescape=True),
                func.lower(Reseller.name).contains(needle, autoescape=True),
            )
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(Reseller.name, Reseller.team_id)
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    listings = [
        ResellerListing(
            reseller_team_id=reseller.team_id,
            name=reseller.name,
            contact_name=reseller.contact_name,
            email=reseller.email,
            phone=reseller.phone,
            region=reseller.region,
            joined_at=reseller.joined_at,
            partner_status=status,
            partner_tier=tier,
        )
        for reseller, status, tier in rows
    ]
    return listings, total


def reseller_names(session: Session, team_ids: list[str]) -> dict[str, str]:
    """The names of these resellers, by team ID (those that exist)."""
    if not team_ids:
        return {}
    query = select(Reseller.team_id, Reseller.name).where(Reseller.team_id.in_(set(team_ids)))
    return {row.team_id: row.name for row in session.execute(query)}
