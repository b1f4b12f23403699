"""What the API refuses before it reads a body: no key or an unknown one (401), a body over the
limit (413). A stranger cannot make the process read or parse a large body."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx

from runtime.settings import MAX_BODY_BYTES
from tests.api.conftest import ProviderApi

CHUNK = 64 * 1024
HUGE = 110 * 1024 * 1024


class CountedBody:
    """A streamed request body of `size` bytes that counts how much of it was read."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.read = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.read < self.size:
            chunk = b" " * min(CHUNK, self.size - self.read)
            self.read += len(chunk)
            yield chunk


def _keyed(api: ProviderApi, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"content-type": "application/json", "x-api-key": api.key, **(extra or {})}


def _largest_batch() -> bytes:
    """5,000 items whose every field is as long as the API allows, pretty-printed."""
    at = "2999-12-31T23:59:59.999999+00:00"
    item = {
        "itemId": "i" * 100,
        "offerId": "o" * 100,
        "resellerTeamId": "r" * 100,
        "serviceAddress": {"zipCode": "12345-6789"},
        "monthlyPrice": "9999999999.99",
        "status": "submitted_to_provider",
        "createdAt": at,
        "acceptedAt": at,
        "updatedAt": at,
    }
    return json.dumps({"orders": [item] * 5000}, indent=2).encode()


async def test_a_huge_body_without_a_key_is_refused_unread(http: httpx.AsyncClient):
    body = CountedBody(HUGE)
    response = await http.post(
        "/provider/orders", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 401
    assert response.json() == {"detail": "missing x-api-key header"}
    assert body.read <= 2 * CHUNK


async def test_a_huge_body_with_an_unknown_key_is_refused_unread(http: httpx.AsyncClient):
    body = CountedBody(HUGE)
    response = await http.post(
        "/provider/orders",
        content=body,
        headers={"content-type": "application/json", "x-api-key": "pf_not-a-key"},
    )
    assert response.status_code == 401
    assert response.json() == {"detail": "unknown or revoked API key"}
    assert body.read <= 2 * CHUNK


async def test_a_body_declared_over_the_limit_is_refused_with_413_unread(acme: ProviderApi):
    body = CountedBody(MAX_BODY_BYTES + 1)
    response = await acme.http.post(
        "/provider/orders",
        content=body,
        headers=_keyed(acme, {"content-length": str(body.size)}),
    )
    assert response.status_code == 413
    assert f"larger than {MAX_BODY_BYTES} bytes" in response.json()["detail"]
    assert body.read <= 2 * CHUNK


async def test_a_streamed_body_is_cut_off_at_the_limit(acme: ProviderApi):
    body = CountedBody(HUGE)
    response = await acme.http.post("/provider/orders", content=body, headers=_keyed(acme))
    assert response.status_code == 413
    assert f"larger than {MAX_BODY_BYTES} bytes" in response.json()["detail"]
    assert body.read <= MAX_BODY_BYTES + 2 * CHUNK


async def test_the_largest_legitimate_batch_is_read_and_checked(acme: ProviderApi):
    """Under the limit: read and parsed, and refused only for naming offers the provider lacks."""
    batch = _largest_batch()
    assert len(batch) < MAX_BODY_BYTES
    response = await acme.http.post("/provider/orders", content=batch, headers=_keyed(acme))
    assert response.status_code == 422
    assert "nothing was stored" in response.json()["detail"]


async def test_health_and_the_schema_need_no_key(http: httpx.AsyncClient):
    assert (await http.get("/health/live")).status_code == 200
    assert (await http.get("/openapi.json")).status_code == 200
