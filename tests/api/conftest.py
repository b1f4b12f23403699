"""The API in-process over httpx, on the real worker, the time-skipping server and the database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.deps import Services
from clients.partners import PartnerPrograms
from models.database import Database
from models.program import ProgramSettings
from services.providers import issue_key
from services.reseller_keys import issue_reseller_key
from tests.helpers import Program


@dataclass
class ProviderApi:
    """One provider's view of the API: its seeded program and a client sending its key."""

    program: Program
    key: str
    http: httpx.AsyncClient

    @property
    def provider_id(self) -> str:
        return self.program.provider_id

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.http.get(url, headers={"x-api-key": self.key}, **kwargs)

    async def post(self, url: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.http.post(url, json=json, headers={"x-api-key": self.key}, **kwargs)

    async def put(self, url: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.http.put(url, json=json, headers={"x-api-key": self.key}, **kwargs)

    async def patch(self, url: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.http.patch(url, json=json, headers={"x-api-key": self.key}, **kwargs)

    async def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.http.delete(url, headers={"x-api-key": self.key}, **kwargs)


class ApiClock:
    """The API's clock in a test: the real one until pinned to the test server's skipped time."""

    def __init__(self) -> None:
        self.at: datetime | None = None

    def __call__(self) -> datetime:
        return self.at or datetime.now(UTC)


@pytest.fixture
def clock() -> ApiClock:
    return ApiClock()


@pytest.fixture
async def http(
    env: WorkflowEnvironment, db: Database, programs: PartnerPrograms, clock: ApiClock
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the API app, wired to the test's worker (task queue), database and clock."""
    app = create_app(
        Services(db=db, client=env.client, task_queue=programs.task_queue, clock=clock)
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://partnerflow") as client:
        yield client


def provider_api(env: WorkflowEnvironment, db: Database, http: httpx.AsyncClient) -> ProviderApi:
    """A new provider (public, preferred and gold-only offers) with an API key of its own."""
    program = Program(db, env, ProgramSettings()).create()
    with db.transaction() as session:
        key = issue_key(session, program.provider_id)
    return ProviderApi(program, key, http)


@pytest.fixture
def acme(env: WorkflowEnvironment, db: Database, http: httpx.AsyncClient) -> ProviderApi:
    return provider_api(env, db, http)


@pytest.fixture
def globex(env: WorkflowEnvironment, db: Database, http: httpx.AsyncClient) -> ProviderApi:
    """A second provider, to show that one never sees or changes the other's data."""
    return provider_api(env, db, http)


@dataclass
class ResellerApi:
    """One reseller team's view of the `/reseller/` API: a client sending its own key."""

    team_id: str
    key: str
    http: httpx.AsyncClient

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.http.get(url, headers={"x-reseller-key": self.key}, **kwargs)

    async def post(self, url: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.http.post(url, json=json, headers={"x-reseller-key": self.key}, **kwargs)


def reseller_api(db: Database, http: httpx.AsyncClient, team_id: str) -> ResellerApi:
    """A key of its own for a registered reseller team, and a client that sends it."""
    with db.transaction() as session:
        key = issue_reseller_key(session, team_id, "tests").key
    return ResellerApi(team_id, key, http)
