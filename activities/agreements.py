"""Exclusive agreements in the program database: the claim on an offer and region, the offer's
visibility while the exclusive runs, its scorecards and its events."""

from __future__ import annotations

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from activities.idempotent import insert_once
from models.agreement import AgreementKind, AgreementStatus, OfferSnapshot
from models.agreement_records import (
    AgreementEventRecord,
    AgreementMetricsRequest,
    ExclusiveGrant,
    ExclusiveRelease,
    GrantResult,
    HeldExclusive,
    PartnerExclusives,
    PartnerListing,
    ReleaseResult,
    ScorecardRecord,
)
from models.contract import ActivityName
from models.database import Database
from models.metrics import PartnerMetrics
from models.offers import AccessSource, Visibility
from models.program import Tier
from models.records import PartnerRef, WriteResult
from models.schema import (
    Agreement,
    AgreementEventLogEntry,
    AgreementScorecard,
    ExclusiveClaim,
    Offer,
    OfferAccess,
    OfferBlock,
    PreferredListEntry,
    Provider,
    Reseller,
)
from store.metrics import window_metrics
from store.offer_access import ON_PREFERRED_LIST, sync_offer_grants


class AgreementRefused(ApplicationError):
    """Terms the program database cannot honour: only new terms from the provider can help.

    A refusal is an answer, not a fault: the worker logs it quietly (BENIGN), without the
    traceback the SDK prints for a failed activity."""

    def __init__(self, message: str) -> None:
        super().__init__(
            message,
            type="AgreementRefused",
            non_retryable=True,
            category=ApplicationErrorCategory.BENIGN,
        )


def _offer_claim(offer_id: str) -> str:
    return f"offer:{offer_id}"


def _zip_claim(zip_code: str) -> str:
    return f"zip:{zip_code}"


def _claims(grant: ExclusiveGrant) -> list[str]:
    terms = grant.terms
    claims = [_offer_claim(terms.offer_id)]
    if terms.kind is AgreementKind.REGIONAL:
        claims += [_zip_claim(z) for z in terms.zip_codes]
    return claims


def _conflicts(session: Session, grant: ExclusiveGrant) -> str | None:
    """Why the terms overlap an exclusive in force, or None."""
    held = session.execute(
        select(ExclusiveClaim.claim, Agreement.agreement_id, Agreement.reseller_team_id)
        .join(
            Agreement,
            (Agreement.provider_id == ExclusiveClaim.provider_id)
            & (Agreement.agreement_id == ExclusiveClaim.agreement_id),
        )
        .where(
            ExclusiveClaim.provider_id == grant.provider_id,
            ExclusiveClaim.claim.in_(_claims(grant)),
        )
    ).all()
    if not held:
        return None
    by_agreement: dict[tuple[str, str], list[str]] = {}
    for claim, agreement_id, team_id in held:
        by_agreement.setdefault((agreement_id, team_id), []).append(claim)
    reasons = []
    for (agreement_id, team_id), claims in sorted(by_agreement.items()):
        zips = sorted(c.removeprefix("zip:") for c in claims if c.startswith("zip:"))
        if _offer_claim(grant.terms.offer_id) in claims:
            reasons.append(
                f"offer {grant.terms.offer_id} is already exclusive to {team_id} "
                f"under agreement {agreement_id}"
            )
        if zips:
            shown = ", ".join(zips[:10]) + (f" and {len(zips) - 10} more" if len(zips) > 10 else "")
            reasons.append(
                f"ZIP codes {shown} are already exclusive to {team_id} under agreement "
                f"{agreement_id}"
            )
    return "; ".join(reasons)


def _check_parties(session: Session, grant: ExclusiveGrant) -> tuple[Provider, Reseller, Offer]:
    terms = grant.terms
    provider = session.get(Provider, grant.provider_id)
    if provider is None:
        raise AgreementRefused(f"unknown provider {grant.provider_id!r}")
    reseller = session.get(Reseller, terms.reseller_team_id)
    if reseller is None:
        raise AgreementRefused(f"unknown reseller {terms.reseller_team_id!r}")
    offer = session.get(Offer, terms.offer_id)
    if offer is None or offer.provider_id != grant.provider_id:
        raise AgreementRefused(f"provider {grant.provider_id} has no offer {terms.offer_id!r}")
    listing = session.get(PreferredListEntry, (grant.provider_id, terms.reseller_team_id))
    if listing is None or listing.status not in ON_PREFERRED_LIST:
        state = f"it is {listing.status}" if listing else "it was never enrolled"
        raise AgreementRefused(
            f"{terms.reseller_team_id} is not on the preferred list of {grant.provider_id} "
            f"({state}): only a preferred partner can hold an exclusive"
        )
    block = session.scalar(
        select(OfferBlock)
        .where(
            OfferBlock.provider_id == grant.provider_id,
            OfferBlock.reseller_team_id == terms.reseller_team_id,
            or_(OfferBlock.offer_id == terms.offer_id, OfferBlock.offer_id.is_(None)),
        )
        .limit(1)
    )
    if block is not None:
        # Selected for the blocked partner alone, the offer would be visible to nobody.
        raise AgreementRefused(
            f"{terms.reseller_team_id} is blocked from offer {terms.offer_id} ({block.reason}): "
            "unblock it before granting it an exclusive on that offer"
        )
    return provider, reseller, offer


def _allowed_resellers(session: Session, offer_id: str) -> list[str]:
    return sorted(
        session.scalars(
            select(OfferAccess.reseller_team_id).where(
                OfferAccess.offer_id == offer_id, OfferAccess.source == AccessSource.SELECTED.value
            )
        )
    )


def _set_allowed(session: Session, offer_id: str, team_ids: list[str]) -> None:
    session.execute(
        delete(OfferAccess).where(
            OfferAccess.offer_id == offer_id, OfferAccess.source == AccessSource.SELECTED.value
        )
    )
    session.add_all(
        OfferAccess(offer_id=offer_id, reseller_team_id=team_id, source=AccessSource.SELECTED.value)
        for team_id in team_ids
    )


def _snapshot(row: Agreement) -> OfferSnapshot:
    return OfferSnapshot(
        offer_id=row.offer_id,
        visibility=Visibility(row.previous_visibility),
        min_tier=Tier(row.previous_min_tier) if row.previous_min_tier else None,
        allowed_resellers=list(row.previous_allowed),
    )


def grant_exclusive(session: Session, grant: ExclusiveGrant) -> GrantResult:
    """Check the terms against the database, claim the offer and region, and make the offer
    `selected` for the partner alone; a repeat of the same grant changes nothing."""
    terms = grant.terms
    existing = session.get(Agreement, (grant.provider_id, grant.agreement_id))
    if existing is not None and existing.agreement_uid != grant.agreement_uid:
        raise AgreementRefused(
            f"agreement ID {grant.agreement_id} is already used by an agreement with "
            f"{existing.reseller_team_id} ({existing.status}); choose another ID"
        )
    provider, reseller, offer = (
        _check_parties(session, grant)
        if existing is None
        else (
            session.get_one(Provider, grant.provider_id),
            session.get_one(Reseller, terms.reseller_team_id),
            session.get_one(Offer, terms.offer_id),
        )
    )
    if existing is not None:
        return GrantResult(
            provider_name=provider.name,
            reseller_name=reseller.name,
            previous_offer=_snapshot(existing),
            already_granted=True,
        )
    conflict = _conflicts(session, grant)
    if conflict:
        raise AgreementRefused(conflict)
    previously_allowed = _allowed_resellers(session, offer.id)
    session.add_all(
        ExclusiveClaim(provider_id=grant.provider_id, claim=claim, agreement_id=grant.agreement_id)
        for claim in _claims(grant)
    )
    row = Agreement(
        provider_id=grant.provider_id,
        agreement_id=grant.agreement_id,
        agreement_uid=grant.agreement_uid,
        workflow_id=grant.workflow_id,
        reseller_team_id=terms.reseller_team_id,
        kind=terms.kind.value,
        offer_id=terms.offer_id,
        zip_codes=terms.zip_codes,
        status=AgreementStatus.ACTIVE.value,
        terms=terms.model_dump(mode="json"),
        term_number=1,
        term_end=grant.term_end,
        breaches_in_term=0,
        previous_visibility=offer.visibility,
        previous_min_tier=offer.min_tier,
        previous_allowed=previously_allowed,
        started_at=grant.starts_at,
    )
    session.add(row)
    try:
        session.flush()  # the claims' unique constraint decides a race the check above missed
    except IntegrityError as error:
        raise AgreementRefused(
            f"another exclusive on offer {terms.offer_id}, its ZIP codes or agreement ID "
            f"{grant.agreement_id} was created at the same moment; read the agreements and "
            "try again"
        ) from error
    offer.visibility = Visibility.SELECTED.value
    _set_allowed(session, offer.id, [terms.reseller_team_id])
    return GrantResult(
        provider_name=provider.name,
        reseller_name=reseller.name,
        previous_offer=_snapshot(row),
        already_granted=False,
    )


def end_exclusive(session: Session, release: ExclusiveRelease) -> ReleaseResult:
    """Give the offer its previous visibility and allowed resellers back, release the claims,
    and close the agreement's row; a repeat changes nothing."""
    row = session.get(Agreement, (release.provider_id, release.agreement_id))
    if row is None or row.agreement_uid != release.agreement_uid or row.ended_at is not None:
        return ReleaseResult(restored_visibility=None)
    offer = session.get_one(Offer, row.offer_id)
    offer.visibility = row.previous_visibility
    offer.min_tier = row.previous_min_tier
    _set_allowed(session, offer.id, list(row.previous_allowed))
    sync_offer_grants(session, offer)
    session.execute(
        delete(ExclusiveClaim).where(
            ExclusiveClaim.provider_id == release.provider_id,
            ExclusiveClaim.agreement_id == release.agreement_id,
        )
    )
    row.status = release.status.value
    row.ended_at = release.at
    row.end_reason = release.reason
    return ReleaseResult(restored_visibility=offer.visibility)


def partner_exclusives(session: Session, ref: PartnerRef) -> PartnerExclusives:
    rows = session.execute(
        select(Agreement.workflow_id, Agreement.agreement_id, Agreement.kind, Agreement.offer_id)
        .where(
            Agreement.provider_id == ref.provider_id,
            Agreement.reseller_team_id == ref.reseller_team_id,
            Agreement.ended_at.is_(None),
        )
        .order_by(Agreement.agreement_id)
    ).all()
    return PartnerExclusives(
        workflow_ids=[row.workflow_id for row in rows],
        agreements=[
            HeldExclusive(
                workflow_id=row.workflow_id,
                agreement_id=row.agreement_id,
                kind=AgreementKind(row.kind),
                offer_id=row.offer_id,
            )
            for row in rows
        ],
    )


def _update_row(session: Session, record: AgreementEventRecord) -> None:
    row = session.get(Agreement, (record.provider_id, record.agreement_id))
    if row is None or row.agreement_uid != record.agreement_uid:
        return
    row.status = record.event.status.value
    row.terms = record.terms.model_dump(mode="json")
    row.term_number = record.term_number
    row.term_end = record.term_end
    row.breaches_in_term = record.breaches_in_term


class AgreementActivities:
    """The agreement workflow's reads and writes; each is safe to retry."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @activity.defn(name=ActivityName.GRANT_EXCLUSIVE)
    def grant_exclusive(self, grant: ExclusiveGrant) -> GrantResult:
        with self._db.transaction() as session:
            result = grant_exclusive(session, grant)
        activity.logger.info(
            "%s: offer %s exclusive to %s (was %s)",
            grant.workflow_id,
            grant.terms.offer_id,
            grant.terms.reseller_team_id,
            result.previous_offer.visibility.value,
        )
        return result

    @activity.defn(name=ActivityName.END_EXCLUSIVE)
    def end_exclusive(self, release: ExclusiveRelease) -> ReleaseResult:
        with self._db.transaction() as session:
            return end_exclusive(session, release)

    @activity.defn(name=ActivityName.CHECK_PARTNER_LISTING)
    def check_partner_listing(self, ref: PartnerRef) -> PartnerListing:
        with self._db.transaction() as session:
            entry = session.get(PreferredListEntry, (ref.provider_id, ref.reseller_team_id))
            status = entry.status if entry else None
        return PartnerListing(on_preferred_list=status in ON_PREFERRED_LIST, status=status)

    @activity.defn(name=ActivityName.FIND_PARTNER_EXCLUSIVES)
    def find_partner_exclusives(self, ref: PartnerRef) -> PartnerExclusives:
        with self._db.transaction() as session:
            return partner_exclusives(session, ref)

    @activity.defn(name=ActivityName.COMPUTE_AGREEMENT_METRICS)
    def compute_agreement_metrics(self, request: AgreementMetricsRequest) -> PartnerMetrics:
        with self._db.transaction() as session:
            return window_metrics(
                session,
                request.provider_id,
                request.reseller_team_id,
                request.window_start,
                request.window_end,
                offer_id=request.offer_id,
                zip_codes=request.zip_codes,
            )

    @activity.defn(name=ActivityName.RECORD_SCORECARD)
    def record_scorecard(self, record: ScorecardRecord) -> WriteResult:
        card = record.scorecard
        row = AgreementScorecard(
            idempotency_key=record.idempotency_key,
            provider_id=record.provider_id,
            agreement_id=record.agreement_id,
            reseller_team_id=record.reseller_team_id,
            kind=card.kind.value,
            term_number=card.term_number,
            period_number=card.period_number,
            period_start=card.period_start,
            period_end=card.period_end,
            met=card.met,
            lines=[line.model_dump(mode="json") for line in card.lines],
            metrics=card.metrics.model_dump(mode="json"),
        )
        return WriteResult(written=insert_once(self._db, row))

    @activity.defn(name=ActivityName.RECORD_AGREEMENT_EVENT)
    def record_agreement_event(self, record: AgreementEventRecord) -> WriteResult:
        event = record.event
        row = AgreementEventLogEntry(
            idempotency_key=record.idempotency_key,
            provider_id=record.provider_id,
            agreement_id=record.agreement_id,
            sequence=event.sequence,
            at=event.at,
            kind=event.kind.value,
            status=event.status.value,
            summary=event.summary,
            actor=event.actor.value,
            actor_id=event.actor_id,
        )
        written = insert_once(self._db, row, also=lambda session: _update_row(session, record))
        return WriteResult(written=written)
