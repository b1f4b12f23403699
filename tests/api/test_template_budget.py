"""Over HTTP, a template over its budget is refused on save and on preview with a 422 whose
detail says why, nothing is stored, and `/health/live` answers while a preview renders."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import httpx
import pytest

from tests.api.conftest import ProviderApi

WELCOME = "/provider/templates/welcome"
HANG = 60.0
"""Seconds after which a request is taken for hung: a guard, not a timing. A loaded CI
machine took more than 10 s to answer a save on PostgreSQL."""
POLL = 0.005
"""Seconds between two asks of `/health/live`, which in process may answer without ever
giving the event loop back: the pause does, and lets the request's task run."""
WORST = "{{ ((((10**64)**64)**64)**64)**8 > 1 }}"
"""Until the sandbox bounded numbers, this one never answered and held the event loop."""
SLOW = "{% set s = 'word ' * 12000 %}{% for i in range(150) %}{% set n = s|wordcount %}{% endfor %}"
"""Legal, and slow: some 0.2 s of processor time, a fifth of a preview's budget."""


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (WORST, "body line 1: a number in this template would have more than 4096 bits"),
        ("Hi\n{{ 'a' * 10**9 }}", "body line 2: the repetition would be longer than 64000"),
        ("{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}", "loops"),
    ],
    ids=["powers", "repetition", "loops"],
)
async def test_a_template_over_budget_is_refused_on_save_and_preview(
    acme: ProviderApi, body: str, says: str
) -> None:
    saved = await asyncio.wait_for(acme.put(WELCOME, {"body": body}), HANG)
    assert saved.status_code == 422, saved.text
    assert saved.json()["detail"].startswith("the welcome template does not render: ")
    assert says in saved.json()["detail"]

    previewed = await asyncio.wait_for(acme.post(f"{WELCOME}/preview", {"body": body}), HANG)
    assert previewed.status_code == 422, previewed.text
    assert says in previewed.json()["detail"]

    assert not (await acme.get(WELCOME)).json()["bodyOverridden"], "nothing saved"
    assert (await acme.get(f"{WELCOME}/versions")).json() == []


async def polling_live(
    http: httpx.AsyncClient, request: Awaitable[httpx.Response]
) -> tuple[httpx.Response, list[int]]:
    """`request`'s response, and the status of every `/health/live` asked while it ran."""
    answer = asyncio.ensure_future(request)
    statuses: list[int] = []
    while not answer.done():
        statuses.append((await http.get("/health/live")).status_code)
        await asyncio.sleep(POLL)
    return await answer, statuses


async def test_health_live_answers_while_the_worst_template_is_previewed(acme: ProviderApi):
    previewing = acme.post(f"{WELCOME}/preview", {"body": WORST})
    response, statuses = await asyncio.wait_for(polling_live(acme.http, previewing), HANG)
    assert response.status_code == 422 and "4096 bits" in response.json()["detail"]
    assert statuses and set(statuses) == {200}


async def test_health_live_answers_while_a_slow_legal_preview_renders(acme: ProviderApi):
    previewing = acme.post(f"{WELCOME}/preview", {"body": SLOW + "done"})
    response, statuses = await asyncio.wait_for(polling_live(acme.http, previewing), HANG)
    assert response.status_code == 200, response.text
    assert response.json()["body"] == "done"
    assert len(statuses) >= 3 and set(statuses) == {200}, statuses
