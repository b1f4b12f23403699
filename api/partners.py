"""`/provider/partners`: enroll, read and steer the provider's partners."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from api.deps import ProviderDep, Services, ServicesDep, SessionDep
from api.partner_views import (
    TEAM_ID,
    ActionBody,
    AtRiskBody,
    BlockBody,
    EnrollBody,
    GraceBody,
    IssueBody,
    NoteBody,
    PartnerListItem,
    PartnerView,
    ReasonBody,
    StatedReason,
    TierBody,
    partner_view,
)
from api.views import Page, Problem, page_of
from models.partner import (
    AtRiskFlag,
    BlockRequest,
    EnrollmentRequest,
    GraceChange,
    IssueReport,
    NoteInput,
    PartnerStatus,
    ProviderAction,
    RemovalRequest,
    TierChange,
    UnblockRequest,
)
from models.program import Tier
from models.schema import Offer, PreferredListEntry
from services.enrollment import (
    program_and_metrics,
    require_criteria_or_override,
    require_reseller,
)
from services.errors import InputError
from services.resellers import reseller_names

router = APIRouter(prefix="/provider/partners", tags=["partners"])
TeamPath = Annotated[str, TEAM_ID]


# Handlers that wait on Temporal open short transactions of their own, so that no database
# connection is held while a workflow works, and run them in the thread pool: on the event loop
# a query, or its wait for a connection or the GIL, would stall every other request and the
# worker's Temporal pollers that share the loop in the local stack.


def _require_offers(svc: Services, provider_id: str, offer_ids: list[str]) -> None:
    with svc.db.transaction() as session:
        known = set(
            session.scalars(
                select(Offer.id).where(Offer.provider_id == provider_id, Offer.id.in_(offer_ids))
            )
        )
    unknown = sorted(set(offer_ids) - known)
    if unknown:
        raise InputError(f"provider {provider_id} has no offers {', '.join(unknown)}")


OVERRIDE_BY_JSON = 'send "override": true with the reason in "notes"'
"""How a provider enrolls a reseller below the criteria over HTTP (the 409 ends with it)."""


@router.post(
    "/preferred",
    summary="Enroll a reseller as a preferred partner",
    responses={
        409: {
            "model": Problem,
            "description": "The reseller misses the tier's criteria (each listed with its value "
            'and threshold) and the body has no `"override": true`; or its state refuses it.',
        }
    },
)
async def enroll(body: EnrollBody, provider: ProviderDep, svc: ServicesDep) -> PartnerView:
    """Update-with-start of the partner's workflow: the same request again returns the same
    partner, and a future `effectiveDate` schedules the enrollment on a durable timer. A
    reseller below the tier's criteria is enrolled only with `"override": true` and the
    reason in `notes`, which the enrollment's transition records."""
    await run_in_threadpool(require_reseller, svc.db, body.reseller_team_id)
    await run_in_threadpool(
        require_criteria_or_override,
        svc.db,
        provider,
        body.reseller_team_id,
        body.tier,
        override=body.override,
        how_to_override=OVERRIDE_BY_JSON,
    )
    request = EnrollmentRequest(
        tier=body.tier,
        effective_date=body.effective_at,
        notes=body.notes,
        override=body.override,
        requested_by=body.requested_by,
        request_id=body.request_id,
    )
    state = await svc.programs.enroll(provider, body.reseller_team_id, request)
    return await _named(svc, partner_view(state))


@router.delete("/preferred/{reseller_team_id}", summary="Remove a partner from the list")
async def remove(
    reseller_team_id: TeamPath,
    provider: ProviderDep,
    svc: ServicesDep,
    reason: Annotated[StatedReason, Query()],
    requested_by: Annotated[str, Query(min_length=1, max_length=200)] = "api",
) -> PartnerView:
    """The partner is delisted, loses preferred and selected offers, and is told why."""
    request = RemovalRequest(reason=reason, requested_by=requested_by)
    return await _named(
        svc, partner_view(await svc.programs.apply(provider, reseller_team_id, request))
    )


@router.get("", summary="List the provider's partners")
def list_partners(
    provider: ProviderDep,
    session: SessionDep,
    status: PartnerStatus | None = None,
    tier: Tier | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500, alias="pageSize")] = 50,
) -> Page[PartnerListItem]:
    """Partners as their workflows last recorded them, filtered by status and tier."""
    query = select(PreferredListEntry).where(PreferredListEntry.provider_id == provider)
    if status is not None:
        query = query.where(PreferredListEntry.status == status.value)
    if tier is not None:
        query = query.where(PreferredListEntry.tier == tier.value)
    query = query.order_by(PreferredListEntry.reseller_team_id)
    listed = page_of(session, query, PartnerListItem, page=page, page_size=page_size)
    names = reseller_names(session, [item.reseller_team_id for item in listed.items])
    for item in listed.items:
        item.reseller_name = names.get(item.reseller_team_id)
    return listed


@router.get("/{reseller_team_id}", summary="One partner, in full")
async def get_partner(
    reseller_team_id: TeamPath, provider: ProviderDep, svc: ServicesDep
) -> PartnerView:
    """State, tier, today's metrics, grace deadline, transitions, notes, and what the next tier
    requires."""
    state = await svc.programs.state(provider, reseller_team_id)
    program, metrics = await run_in_threadpool(
        program_and_metrics, svc.db, provider, reseller_team_id
    )
    return await _named(svc, partner_view(state.model_copy(update={"program": program}), metrics))


@router.post("/{reseller_team_id}/notes", summary="Add a dated note")
async def add_note(
    reseller_team_id: TeamPath, body: NoteBody, provider: ProviderDep, svc: ServicesDep
) -> PartnerView:
    """A note is `internal` (the provider's own) unless `visibility` is `partner`: then the
    reseller reads it in its portal. An issue report's note stays internal."""
    return await _apply(svc, provider, reseller_team_id, NoteInput, body)


@router.post("/{reseller_team_id}/at-risk", summary="Flag a partner at risk")
async def flag_at_risk(
    reseller_team_id: TeamPath, body: AtRiskBody, provider: ProviderDep, svc: ServicesDep
) -> PartnerView:
    return await _apply(svc, provider, reseller_team_id, AtRiskFlag, body)


@router.post("/{reseller_team_id}/grace-deadline", summary="Move an at-risk partner's deadline")
async def change_grace_deadline(
    reseller_team_id: TeamPath, body: GraceBody, provider: ProviderDep, svc: ServicesDep
) -> PartnerView:
    return await _apply(svc, provider, reseller_team_id, GraceChange, body)


@router.post("/{reseller_team_id}/block", summary="Block a partner from offers")
async def block(
    reseller_team_id: TeamPath,
    body: BlockBody,
    provider: ProviderDep,
    svc: ServicesDep,
) -> PartnerView:
    """Bar the partner from the listed offers, or from every offer when `offerIds` is empty.
    Its exclusive agreements on those offers (all of them, for a block of every offer) end at
    once: the offer gets its previous visibility back, and the partner and the provider are
    told. The partner is told of the block."""
    await run_in_threadpool(_require_offers, svc, provider, body.offer_ids)
    return await _apply(svc, provider, reseller_team_id, BlockRequest, body)


@router.post("/{reseller_team_id}/unblock", summary="Lift a partner's block")
async def unblock(
    reseller_team_id: TeamPath, body: ReasonBody, provider: ProviderDep, svc: ServicesDep
) -> PartnerView:
    """Lift every block: the partner returns to the state it had and sees its offers again. An
    exclusive the block ended stays ended; grant a new agreement to give it back."""
    return await _apply(svc, provider, reseller_team_id, UnblockRequest, body)


@router.post("/{reseller_team_id}/tier", summary="Promote or demote a partner")
async def change_tier(
    reseller_team_id: TeamPath, body: TierBody, provider: ProviderDep, svc: ServicesDep
) -> PartnerView:
    return await _apply(svc, provider, reseller_team_id, TierChange, body)


@router.post("/{reseller_team_id}/issues", summary="Report an issue with a partner")
async def report_issue(
    reseller_team_id: TeamPath, body: IssueBody, provider: ProviderDep, svc: ServicesDep
) -> PartnerView:
    """The progressive response: the first issue within the program's issue window (90 days
    by default) sends the partner a friendly notice, a repeat a formal notice, and the next
    one puts it at risk, with a grace period before removal. A serious issue counts twice.
    Each report is kept as an `issue` note."""
    return await _apply(svc, provider, reseller_team_id, IssueReport, body)


async def _apply(
    svc: Services,
    provider: str,
    reseller_team_id: str,
    action: type[ProviderAction],
    body: ActionBody,
) -> PartnerView:
    """Send the body as the workflow's request model: the fields are the same, in camelCase."""
    request = action.model_validate(body.model_dump())
    return await _named(
        svc, partner_view(await svc.programs.apply(provider, reseller_team_id, request))
    )


def _name_of(svc: Services, team_id: str) -> str | None:
    with svc.db.transaction() as session:
        return reseller_names(session, [team_id]).get(team_id)


async def _named(svc: Services, view: PartnerView) -> PartnerView:
    """The view with the reseller's name, read in a short transaction of its own."""
    name = await run_in_threadpool(_name_of, svc, view.reseller_team_id)
    return view.model_copy(update={"reseller_name": name})
