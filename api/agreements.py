"""`/provider/agreements`: grant, read and steer exclusive agreements."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.agreement_views import (
    AGREEMENT_ID,
    AgreementListItem,
    AgreementView,
    AmendBody,
    CreateAgreementBody,
    RenewBody,
    TerminateBody,
)
from api.deps import ProviderDep, ServicesDep, SessionDep
from api.views import Page, page_of
from models.agreement import (
    AgreementAmendment,
    AgreementRequest,
    AgreementState,
    AgreementStatus,
    AgreementTerms,
    EarlyRenewal,
    TerminationRequest,
)
from services.catalog import agreements_query

router = APIRouter(prefix="/provider/agreements", tags=["agreements"])
AgreementPath = Annotated[str, AGREEMENT_ID]
_ACTION_FIELDS = {"requested_by", "request_id"}


def _view(state: AgreementState) -> AgreementView:
    return AgreementView.model_validate(state)


@router.post("", summary="Grant an exclusive agreement")
async def create_agreement(
    body: CreateAgreementBody, provider: ProviderDep, svc: ServicesDep
) -> AgreementView:
    """The offer becomes `selected` for the partner alone. Terms that cannot be honoured (the
    partner is not preferred, the offer or ZIP codes are already exclusive) get a 409 and
    change nothing; the same request again returns the same agreement."""
    terms = AgreementTerms.model_validate(
        body.model_dump(exclude={"agreement_id", *_ACTION_FIELDS})
    )
    request = AgreementRequest(
        terms=terms, requested_by=body.requested_by, request_id=body.request_id
    )
    return _view(await svc.agreements.create(provider, body.agreement_id, request))


@router.get("", summary="List the provider's agreements")
def list_agreements(
    provider: ProviderDep,
    session: SessionDep,
    status: AgreementStatus | None = None,
    reseller_team_id: Annotated[
        str | None, Query(alias="resellerTeamId", max_length=200, pattern=r"^[^\x00]*$")
    ] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500, alias="pageSize")] = 50,
) -> Page[AgreementListItem]:
    query = agreements_query(provider, status, reseller_team_id)
    return page_of(session, query, AgreementListItem, page=page, page_size=page_size)


@router.get("/{agreement_id}", summary="One agreement: terms, status, scorecards, history")
async def get_agreement(
    agreement_id: AgreementPath, provider: ProviderDep, svc: ServicesDep
) -> AgreementView:
    return _view(await svc.agreements.state(provider, agreement_id))


@router.post("/{agreement_id}/amend", summary="Amend the terms from the next review period")
async def amend_agreement(
    agreement_id: AgreementPath, body: AmendBody, provider: ProviderDep, svc: ServicesDep
) -> AgreementView:
    amendment = AgreementAmendment.model_validate(body.model_dump(exclude_none=True))
    return _view(await svc.agreements.apply(provider, agreement_id, amendment))


@router.post("/{agreement_id}/terminate", summary="End the exclusive now")
async def terminate_agreement(
    agreement_id: AgreementPath, body: TerminateBody, provider: ProviderDep, svc: ServicesDep
) -> AgreementView:
    request = TerminationRequest.model_validate(body.model_dump())
    return _view(await svc.agreements.apply(provider, agreement_id, request))


@router.post("/{agreement_id}/renew", summary="Renew for another term, now")
async def renew_agreement(
    agreement_id: AgreementPath, body: RenewBody, provider: ProviderDep, svc: ServicesDep
) -> AgreementView:
    request = EarlyRenewal.model_validate(body.model_dump())
    return _view(await svc.agreements.apply(provider, agreement_id, request))
