"""The dashboard in-process: the API's app (which mounts it) over httpx, one client per browser
session, on the real worker, the time-skipping server and the database."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from playwright.async_api import Browser as Chromium
from playwright.async_api import Page, async_playwright
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.deps import Services
from clients.partners import PartnerPrograms
from models.database import Database
from models.program import ProgramSettings
from services.providers import issue_key
from services.reseller_keys import issue_reseller_key
from tests.api.conftest import ApiClock
from tests.helpers import Program
from tests.workers.test_ui_browser import CHROMIUM_FLAGS, _chromium

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Provider:
    program: Program
    key: str

    @property
    def provider_id(self) -> str:
        return self.program.provider_id


def new_provider(env: WorkflowEnvironment, db: Database) -> Provider:
    program = Program(db, env, ProgramSettings()).create()
    with db.transaction() as session:
        key = issue_key(session, program.provider_id)
    return Provider(program, key)


@pytest.fixture
def acme(env: WorkflowEnvironment, db: Database) -> Provider:
    return new_provider(env, db)


@pytest.fixture
def globex(env: WorkflowEnvironment, db: Database) -> Provider:
    return new_provider(env, db)


@pytest.fixture
def clock() -> ApiClock:
    return ApiClock()


@pytest.fixture
def app(
    env: WorkflowEnvironment, db: Database, programs: PartnerPrograms, clock: ApiClock
) -> FastAPI:
    return create_app(
        Services(db=db, client=env.client, task_queue=programs.task_queue, clock=clock)
    )


Browser = Callable[..., httpx.AsyncClient]


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[Browser]:
    """Makes clients of the app that keep cookies, as a browser does: one per session."""
    made: list[httpx.AsyncClient] = []

    def new(base_url: str = "http://partnerflow") -> httpx.AsyncClient:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)
        made.append(client)
        return client

    yield new
    for client in made:
        await client.aclose()


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, html
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, key: str) -> httpx.Response:
    """Fill and send the sign-in form as a browser would; the answer is not followed."""
    form = await client.get("/sign-in")
    assert form.status_code == 200, form.text
    return await client.post("/sign-in", data={"csrf": csrf_of(form.text), "api_key": key})


async def signed_in(browser: Browser, provider: Provider) -> tuple[httpx.AsyncClient, str]:
    """A client with a session of `provider`'s, and the session's CSRF token."""
    client = browser()
    answer = await sign_in(client, provider.key)
    assert answer.status_code == 303 and answer.headers["location"] == "/", answer.text
    overview = await client.get("/")
    assert overview.status_code == 200, overview.text
    return client, csrf_of(overview.text)


PORTAL_SIGN_IN = "/portal/sign-in"


def reseller_key(db: Database, team_id: str) -> str:
    """A new reseller key of the team's, as `partnerflow resellers key` issues it."""
    with db.transaction() as session:
        return issue_reseller_key(session, team_id, "portal test").key


async def portal_sign_in(client: httpx.AsyncClient, key: str) -> httpx.Response:
    """Fill and send the portal's sign-in form as a browser would; the answer is not followed."""
    form = await client.get(PORTAL_SIGN_IN)
    assert form.status_code == 200, form.text
    return await client.post(PORTAL_SIGN_IN, data={"csrf": csrf_of(form.text), "reseller_key": key})


async def portal_signed_in(browser: Browser, key: str) -> tuple[httpx.AsyncClient, str]:
    """A client with a portal session of the key's team, and the session's CSRF token."""
    client = browser()
    answer = await portal_sign_in(client, key)
    assert answer.status_code == 303 and answer.headers["location"] == "/portal", answer.text
    programs = await client.get("/portal")
    assert programs.status_code == 200, programs.text
    return client, csrf_of(programs.text)


TIMEOUT_MS = 30_000


@pytest.fixture
async def chromium() -> AsyncIterator[Chromium]:
    executable = _chromium()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield browser
        finally:
            await browser.close()


Shoot = Callable[[Page, str], Awaitable[Path]]


@pytest.fixture
def shoot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest
) -> Shoot:
    """Save a full-page screenshot, named for the test module's walk (`dashboard-`,
    `portal-`) where PARTNERFLOW_ARTIFACTS_DIR collects them."""
    walk = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_").split("_")[0]

    async def shoot(page: Page, name: str) -> Path:
        path = tmp_path / name
        await page.screenshot(path=str(path), full_page=True)
        with capsys.disabled():
            print(f"\nscreenshot: {path}")
        artifacts = os.environ.get("PARTNERFLOW_ARTIFACTS_DIR")
        if artifacts:
            Path(artifacts).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(artifacts) / f"{walk}-{name}")
        return path

    return shoot
