"""What every request needs: the database, the Temporal clients, and the provider it acts for."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader
from sqlalchemy.orm import Session
from temporalio.client import Client

from api.guard import (
    MISSING_KEY,
    MISSING_RESELLER_KEY,
    RESELLER_HEADER,
    UNKNOWN_KEY,
    UNKNOWN_RESELLER_KEY,
)
from clients.agreements import Agreements
from clients.announcements import Announcements
from clients.deliveries import MessageDeliveries
from clients.partners import PartnerPrograms
from clients.program_changes import ProgramChanges
from clients.reviews import Reviews
from models.database import Database


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    db: Database
    client: Client
    task_queue: str
    clock: Callable[[], datetime] = field(default=utc_now)
    """What time it is for deciding which period a review covers (a test's skipped clock)."""

    @property
    def programs(self) -> PartnerPrograms:
        return PartnerPrograms(self.client, self.task_queue)

    @property
    def agreements(self) -> Agreements:
        return Agreements(self.client, self.task_queue)

    @property
    def reviews(self) -> Reviews:
        return Reviews(self.client, self.task_queue)

    @property
    def program_changes(self) -> ProgramChanges:
        return ProgramChanges(self.client, self.task_queue)

    @property
    def deliveries(self) -> MessageDeliveries:
        return MessageDeliveries(self.client, self.task_queue)

    @property
    def announcements(self) -> Announcements:
        return Announcements(self.client, self.task_queue)


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


api_key_header = APIKeyHeader(
    name="x-api-key", auto_error=False, description="The provider's API key."
)


def session(svc: Annotated[Services, Depends(services)]) -> Iterator[Session]:
    """One transaction per request: committed if the handler returns, rolled back if it fails."""
    with svc.db.transaction() as db_session:
        yield db_session


def provider_id(request: Request, key: Annotated[str | None, Security(api_key_header)]) -> str:
    """The provider whose key RequestGuard checked before the body was read (`key` declares the
    header in the OpenAPI document)."""
    checked: str | None = getattr(request.state, "provider_id", None)
    if checked is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, UNKNOWN_KEY if key else MISSING_KEY)
    return checked


reseller_key_header = APIKeyHeader(
    name=RESELLER_HEADER,
    scheme_name="ResellerKey",
    auto_error=False,
    description="A reseller team's own key, which an operator issues "
    "(`partnerflow resellers key TEAM`).",
)


def reseller_team_id(
    request: Request, key: Annotated[str | None, Security(reseller_key_header)]
) -> str:
    """The reseller team whose key RequestGuard checked before the body was read."""
    checked: str | None = getattr(request.state, "reseller_team_id", None)
    if checked is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, UNKNOWN_RESELLER_KEY if key else MISSING_RESELLER_KEY
        )
    return checked


ServicesDep = Annotated[Services, Depends(services)]
SessionDep = Annotated[Session, Depends(session, scope="function")]
ProviderDep = Annotated[str, Depends(provider_id)]
ResellerDep = Annotated[str, Depends(reseller_team_id)]
