"""The marketplace's resellers: `GET /provider/resellers` for a provider to find them, and
`PUT /marketplace/resellers` for the marketplace's own sync, which registers and updates them.

Resellers are every provider's, so no provider's key writes them: the sync takes the key the
operator configured (`PARTNERFLOW_MARKETPLACE_KEY`, sent as `x-marketplace-key`), checked by
RequestGuard before the body is read.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Security, status
from fastapi.security import APIKeyHeader
from pydantic import Field, TypeAdapter
from starlette.concurrency import run_in_threadpool

from api.deps import ProviderDep, ServicesDep, SessionDep
from api.guard import MARKETPLACE_HEADER, MARKETPLACE_REFUSED
from api.views import ApiModel, Page, Problem
from models.partner import PartnerStatus
from models.program import Tier
from models.reseller import (
    LINE_PATTERN,
    MAX_QUERY_LENGTH,
    MAX_SYNC_RECORDS,
    RecordsRefused,
    ResellerRecord,
    parse_records,
)
from services.errors import InputError
from services.resellers import Upserted, search_resellers, upsert_resellers

router = APIRouter(prefix="/provider/resellers", tags=["resellers"])
marketplace_router = APIRouter(prefix="/marketplace", tags=["marketplace"])

marketplace_key_header = APIKeyHeader(
    name=MARKETPLACE_HEADER,
    scheme_name="MarketplaceKey",
    auto_error=False,
    description="The marketplace's key (PARTNERFLOW_MARKETPLACE_KEY), never a provider's.",
)


class ResellerItem(ApiModel):
    reseller_team_id: str
    name: str
    contact_name: str | None
    email: str | None
    phone: str | None
    region: str | None
    joined_at: datetime | None
    partner_status: PartnerStatus | None = Field(
        description="Its status in this provider's program; null if never on its list."
    )
    partner_tier: Tier | None


SearchText = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=MAX_QUERY_LENGTH,
        pattern=LINE_PATTERN,
        description="Part of the team ID or the name, in any case.",
    ),
]


@router.get("", summary="Find the marketplace's resellers by name or team ID")
def search(
    provider: ProviderDep,
    session: SessionDep,
    q: SearchText = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500, alias="pageSize")] = 50,
) -> Page[ResellerItem]:
    """Every reseller of the marketplace whose team ID or name holds `q`, by name, with its
    contact, region and join date, and its status and tier in this provider's program (none
    in another's)."""
    listings, total = search_resellers(session, provider, q, page=page, page_size=page_size)
    return Page[ResellerItem](
        items=[ResellerItem.model_validate(listing.model_dump()) for listing in listings],
        total=total,
        page=page,
        page_size=page_size,
    )


class SyncResult(ApiModel):
    added: int = Field(ge=0)
    updated: int = Field(ge=0, description="Resellers that existed and changed.")
    unchanged: int = Field(ge=0, description="Resellers that existed and had these values.")


_RECORDS = TypeAdapter(ResellerRecord)


def _records_schema() -> dict[str, Any]:
    schema = _RECORDS.json_schema(by_alias=True, mode="validation")
    return {"type": "array", "items": schema, "maxItems": MAX_SYNC_RECORDS}


def _upsert(svc: Any, records: list[ResellerRecord]) -> Upserted:
    try:
        with svc.db.transaction() as session:
            return upsert_resellers(session, records)
    except InputError as refused:
        raise InputError(f"nothing was stored: {refused}") from None


@marketplace_router.put(
    "/resellers",
    summary="The marketplace's sync: add or update resellers, all or none",
    responses={
        401: {"model": Problem, "description": "No x-marketplace-key, or a wrong one."},
        413: {"model": Problem, "description": "The body is larger than the API reads."},
        422: {"model": Problem, "description": "A record does not fit: `detail` names its row."},
        503: {"model": Problem, "description": "No marketplace key configured, or no database."},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _records_schema()}},
        }
    },
)
async def sync(
    request: Request,
    svc: ServicesDep,
    key: Annotated[str | None, Security(marketplace_key_header)],
) -> SyncResult:
    """A list of up to 5000 resellers, each by `resellerTeamId`: a new one is added (it needs
    a `name`), an existing one updated with the fields given (a field left out keeps its
    value, `null` clears an optional one). One record that does not fit refuses the whole
    list, naming its row (from 1) and field, and nothing is written."""
    if not getattr(request.state, "marketplace", False):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, MARKETPLACE_REFUSED)
    body = await request.body()
    try:
        rows = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise InputError(f"the body is not valid JSON: {error}") from None
    if not isinstance(rows, list):
        raise InputError("the body must be a JSON list of resellers")
    try:
        records = parse_records(rows, limit=MAX_SYNC_RECORDS)
    except RecordsRefused as refused:
        raise InputError(f"nothing was stored: {refused}") from None
    done = await run_in_threadpool(_upsert, svc, records)
    return SyncResult.model_validate(done.model_dump())
