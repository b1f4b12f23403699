"""`/docs` works with no internet: Swagger UI's files come from partnerflow itself.

The API runs in uvicorn on a local port; headless Chromium (Debian's) loads the page
with every request to another host refused, as on a machine without internet.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import cast
from urllib.parse import urlsplit

import pytest
import uvicorn
from playwright.sync_api import Route, sync_playwright
from temporalio.client import Client

from api.app import create_app
from api.deps import Services
from models.database import Database
from tests.workers.processes import free_port, port_open
from tests.workers.test_ui_browser import CHROMIUM_FLAGS, _chromium


@pytest.fixture
def api_port(db: Database) -> Iterator[int]:
    # The OpenAPI page reads neither Temporal nor a provider's data: no client is made.
    app = create_app(Services(db=db, client=cast(Client, None), task_queue="docs-only"))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not port_open(port) and time.monotonic() < deadline:
        time.sleep(0.05)
    yield port
    server.should_exit = True
    thread.join(timeout=10)


def test_the_openapi_page_renders_without_the_internet(api_port: int) -> None:
    refused: list[str] = []

    def local_only(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=_chromium(), headless=True, args=CHROMIUM_FLAGS
        )
        try:
            page = browser.new_page()
            page.route("**/*", local_only)
            page.goto(f"http://127.0.0.1:{api_port}/docs")
            page.wait_for_selector(".opblock", timeout=30_000)
            shown = page.inner_text("body")
        finally:
            browser.close()

    assert refused == []
    assert "partnerflow" in shown
    assert "/provider/reviews" in shown and "/provider/partners/preferred" in shown
