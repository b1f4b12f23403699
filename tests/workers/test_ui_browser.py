"""An operator's walk through the Temporal UI of `partnerflow dev`, in headless Chromium.

The local stack runs as `make run` starts it (its own state directory and free
ports); the browser types a search-attribute query into the UI's query box,
opens a partner at risk, finds its transition in the event history and reads its
summary and current details, taking a screenshot at each step. The screenshots
land in the test's tmp dir (their paths are printed) and, when
PARTNERFLOW_ARTIFACTS_DIR is set, are copied there.

Chromium is Debian's `chromium` package (`.ci/run` installs it); Playwright's
own browser download does not work here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from devstack.demo import DEMO_PROVIDER_ID
from models.contract import partner_workflow_id
from models.operator_queries import AT_RISK
from tests.workers.processes import DEV_READY, Command, dev_stack, free_port

pytestmark = pytest.mark.dev_server  # partnerflow dev starts a dev server of its own

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
START_TIMEOUT = 180
"""Seconds for `partnerflow dev` to load and enroll the demo on a loaded 2-CPU machine."""
UI_TIMEOUT_MS = 90_000
"""The UI is a JS app that fetches as it renders: wait for what it shows, generously."""
VISIBILITY_TIMEOUT = 60


def _chromium() -> str:
    """Debian's chromium: required in CI, which installs it; skipped, loudly, elsewhere."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    message = (
        "the browser test needs Debian's chromium (apt-get update && apt-get install -y "
        "chromium); .ci/run installs it"
    )
    if os.environ.get("CI"):
        pytest.fail(f"chromium is missing in CI: {message}", pytrace=False)
    warnings.warn(f"SKIPPING the Temporal UI browser test: {message}", stacklevel=2)
    pytest.skip(message)


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Headless Chromium; Playwright gives each launch a fresh profile directory."""
    executable = _chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield launched
        finally:
            launched.close()


def _at_risk_teams(state_dir: Path) -> set[str]:
    with sqlite3.connect(state_dir / "partnerflow.db") as db:
        rows = db.execute("SELECT reseller_team_id FROM preferred_list WHERE status = 'at_risk'")
        return {team for (team,) in rows}


def _await_listed(ui_port: int, query: str, expected: set[str]) -> None:
    """Wait until the UI's own API lists `expected`: visibility trails the workflows."""
    url = (
        f"http://127.0.0.1:{ui_port}/api/v1/namespaces/default/workflows"
        f"?query={quote(query, safe='')}"
    )
    deadline = time.monotonic() + VISIBILITY_TIMEOUT
    listed: set[str] = set()
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                executions = json.load(response).get("executions", [])
            listed = {e["execution"]["workflowId"] for e in executions}
        except urllib.error.URLError as error:
            print(f"the UI's API answered {error}, asking again")
        if listed == expected:
            return
        time.sleep(0.5)
    raise AssertionError(f"the UI lists {sorted(listed)} for {query}, not {sorted(expected)}")


Shoot = Callable[[Page, str], Path]


@pytest.fixture
def shoot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Shoot:
    """Save a screenshot of the page under the test's tmp dir, and say where."""

    def shoot(page: Page, name: str) -> Path:
        path = tmp_path / name
        page.screenshot(path=str(path), full_page=True)
        with capsys.disabled():
            print(f"\nscreenshot: {path}")
        artifacts = os.environ.get("PARTNERFLOW_ARTIFACTS_DIR")
        if artifacts:
            Path(artifacts).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(artifacts) / name)
        return path

    return shoot


def test_an_operator_finds_an_at_risk_partner_and_reads_its_transition(
    tmp_path: Path, browser: Browser, shoot: Shoot
):
    port, ui_port, api_port = free_port(), free_port(), free_port()
    dev: Command = dev_stack(tmp_path, port, ui_port, api_port)
    try:
        dev.wait_for(DEV_READY, START_TIMEOUT)
        teams = _at_risk_teams(tmp_path / ".partnerflow")
        assert teams, "the demo put no partner at risk"
        query = AT_RISK.render(DEMO_PROVIDER_ID)
        expected = {partner_workflow_id(DEMO_PROVIDER_ID, team) for team in teams}
        _await_listed(ui_port, query, expected)
        _walk_through_the_ui(browser, f"http://127.0.0.1:{ui_port}", query, teams, shoot)
    finally:
        code = dev.stop(signal.SIGTERM)
    assert code == 0, dev.output


def _walk_through_the_ui(
    browser: Browser, ui: str, query: str, teams: set[str], shoot: Shoot
) -> None:
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    page.set_default_timeout(UI_TIMEOUT_MS)
    expect.set_options(timeout=UI_TIMEOUT_MS)

    # The operator types the query into the Workflows page's query box.
    page.goto(f"{ui}/namespaces/default/workflows")
    page.get_by_test_id("toggle-manual-query").click()
    box = page.get_by_test_id("workflow-manual-search-input")
    box.fill(query)
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"query=.*at_risk"))
    expect(page.get_by_test_id("workflows-summary-configurable-table-row")).to_have_count(
        len(teams)
    )
    for team in teams:
        link = page.get_by_role("link", name=partner_workflow_id(DEMO_PROVIDER_ID, team))
        expect(link.first).to_be_visible()
    shoot(page, "1-partners-at-risk.png")

    # Opens one partner: its transition to at_risk is in the history, with its summary.
    team = sorted(teams)[0]
    page.get_by_role("link", name=partner_workflow_id(DEMO_PROVIDER_ID, team), exact=True).click()
    page.get_by_role("tab", name=re.compile(r"^Event History")).click()
    page.get_by_role("button", name="Compact").click()
    # The review's verdict: one local activity writes the transition and puts the warning in
    # the outbox; then the warning's delivery.
    expect(page.get_by_text("record_partner_writes", exact=True)).to_be_visible()
    expect(
        page.get_by_text(
            re.compile(
                rf"^{team}: preferred, silver -> at_risk, silver by review .*, at_risk_warning in "
                r"the outbox: .* below the silver standard"
            )
        )
    ).to_be_visible()
    expect(
        page.get_by_text(re.compile(rf"^deliver: warned {team}: .*, deadline \d{{4}}-\d\d-\d\d$"))
    ).to_be_visible()
    # Expanded, the step's result is the transition it wrote as JSON: from, to, why.
    page.get_by_test_id("event-summary-row").filter(has_text="record_partner_writes").click()
    expect(page.get_by_text(re.compile(r'"to_status": ?"at_risk"'))).to_be_visible()
    shoot(page, "2-partner-history.png")

    # Its summary and current details: status, tier, grace deadline, last review.
    page.get_by_role("tab", name="User Metadata").click()
    frames = page.locator("iframe")
    expect(frames).to_have_count(3)
    summary, _, current = (frames.nth(i).content_frame for i in range(3))
    expect(
        summary.get_by_text(f"Partner {team} of provider {DEMO_PROVIDER_ID}: preferred, silver")
    ).to_be_visible()
    expect(
        current.get_by_text(f"Partner {team} of provider {DEMO_PROVIDER_ID}: at_risk, silver")
    ).to_be_visible()
    expect(current.get_by_text(re.compile(r"^grace deadline: \d{4}-\d\d-\d\d"))).to_be_visible()
    expect(current.get_by_text(re.compile(r"^last review: demo-review-"))).to_be_visible()
    shoot(page, "3-partner-details.png")
