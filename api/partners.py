"""`/provider/partners`: enroll, read and steer the provider's partners."""

from __future__ import annotations

from datetime import UTC, datetime
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
from models.metrics import PartnerMetrics, failed
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
from models.program import ProgramSettings, Tier
from models.records import MetricsRequest
from models.schema import Offer, PreferredListEntry, Provider, Reseller
from models.standing import retention_check
from services.errors import ConflictError, InputError
from store.metrics import partner_metrics

router = APIRouter(prefix="/provider/partners", tags=["partners"])
TeamPath = Annotated[str, TEAM_ID]


# Handlers that wait on Temporal open short transactions of their own, so that no database
# connection is held while a workflow works, and run them in the thread pool: on the event loop
# a query, or its wait for a connection or the GIL, would stall every other request and the
# worker's Temporal pollers that share the loop in the local stack.


def _require_reseller(svc: Services, team_id: str) -> None:
    with svc.db.transaction() as session:
        if session.get(Reseller, team_id) is None:
            raise InputError(f"unknown reseller {team_id!r}: no reseller has this team ID")


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


def _program_and_metrics(
    svc: Services, provider_id: str, reseller_team_id: str
) -> tuple[ProgramSettings, PartnerMetrics]:
    """The provider's program now, and the partner's metrics over its window."""
    with svc.db.transaction() as session:
        provider = session.get_one(Provider, provider_id)
        program = ProgramSettings.model_validate(provider.program)
    metrics = partner_metrics(
        svc.db,
        MetricsRequest(
            provider_id=provider_id,
            reseller_team_id=reseller_team_id,
            as_of=datetime.now(UTC),
            window_days=program.metrics_window_days,
        ),
    )
    return program, metrics


def _require_criteria_or_override(svc: Services, provider_id: str, body: EnrollBody) -> None:
    """Enrolling below the tier's criteria is a deliberate act: without `override` it is a
    409 that lists what the reseller misses today. A repeat of an enrollment already through
    returns the partner, as it did the first time, whatever the metrics have done since."""
    if body.override:
        return
    team = body.reseller_team_id
    with svc.db.transaction() as session:
        entry = session.get(PreferredListEntry, (provider_id, team))
        if (
            entry is not None
            and PartnerStatus(entry.status).on_preferred_list
            and entry.tier == body.tier.value
        ):
            return
    program, metrics = _program_and_metrics(svc, provider_id, team)
    if body.tier not in program.partner_tiers:
        return  # the workflow refuses it, with its own reason
    missed = failed(retention_check(metrics, program, body.tier))
    if missed:
        listed = "; ".join(criterion.describe() for criterion in missed)
        raise ConflictError(
            f"{team} misses the {body.tier.value} criteria: {listed}. To enroll it anyway, "
            'send "override": true with the reason in "notes"'
        )


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
    await run_in_threadpool(_require_reseller, svc, body.reseller_team_id)
    await run_in_threadpool(_require_criteria_or_override, svc, provider, body)
    request = EnrollmentRequest(
        tier=body.tier,
        effective_date=body.effective_at,
        notes=body.notes,
        override=body.override,
        requested_by=body.requested_by,
        request_id=body.request_id,
    )
    state = await svc.programs.enroll(provider, body.reseller_team_id, request)
    return partner_view(state)


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
    return partner_view(await svc.programs.apply(provider, reseller_team_id, request))


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
    return page_of(session, query, PartnerListItem, page=page, page_size=page_size)


@router.get("/{reseller_team_id}", summary="One partner, in full")
async def get_partner(
    reseller_team_id: TeamPath, provider: ProviderDep, svc: ServicesDep
) -> PartnerView:
    """State, tier, today's metrics, grace deadline, transitions, notes, and what the next tier
    requires."""
    state = await svc.programs.state(provider, reseller_team_id)
    program, metrics = await run_in_threadpool(
        _program_and_metrics, svc, provider, reseller_team_id
    )
    return partner_view(state.model_copy(update={"program": program}), metrics)


@router.post("/{reseller_team_id}/notes", summary="Add a dated note")
async def add_note(
    reseller_team_id: TeamPath, body: NoteBody, provider: ProviderDep, svc: ServicesDep
) -> PartnerView:
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
    return partner_view(await svc.programs.apply(provider, reseller_team_id, request))
