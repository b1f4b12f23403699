"""What the API refuses before it reads a request's body: one declared larger than the limit,
and a provider path without a valid key.

FastAPI parses a body before it solves the dependencies that check the key, so a
stranger could make the process read and parse a large body for nothing. This
middleware checks `x-api-key` first and hands the provider it names to the
`provider_id` dependency. A body streamed without a length is cut off at the limit.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from fastapi import HTTPException, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.outage import database_unavailable, is_outage

KEYED_PREFIXES = ("/provider/", "/reseller/")
MISSING_KEY = "missing x-api-key header"
UNKNOWN_KEY = "unknown or revoked API key"
MARKETPLACE_PREFIX = "/marketplace/"
MARKETPLACE_HEADER = "x-marketplace-key"
MARKETPLACE_UNCONFIGURED = (
    "the marketplace sync is not configured on this server: its operator sets "
    "PARTNERFLOW_MARKETPLACE_KEY"
)
MARKETPLACE_REFUSED = (
    "missing or wrong x-marketplace-key: this path is the marketplace's own, not a provider's"
)


def too_large(limit: int) -> JSONResponse:
    return JSONResponse(
        {
            "detail": f"the request body is larger than {limit} bytes, the most this API reads "
            "(PARTNERFLOW_MAX_BODY_BYTES): send the orders in batches of at most 5000"
        },
        status.HTTP_413_CONTENT_TOO_LARGE,
    )


def _declared_length(headers: Headers) -> int | None:
    value = headers.get("content-length")
    return int(value) if value is not None and value.isdigit() else None


class RequestGuard:
    """Answers 413 to a body declared over the limit, and 401 to a keyed path whose key is
    missing or unknown, before the body is read."""

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        lookup: Callable[[Scope, str], str | None],
        marketplace_key: str | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.lookup = lookup
        self.marketplace_key = marketplace_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal = await self._refusal(scope, headers)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, self._limited(receive), send)

    def _limited(self, receive: Receive) -> Receive:
        """`receive`, raising 413 once the body read exceeds the limit (FastAPI passes an
        HTTPException raised while it reads a body on to the error handlers)."""
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE)
            return message

        return limited

    async def _refusal(self, scope: Scope, headers: Headers) -> JSONResponse | None:
        declared = _declared_length(headers)
        if declared is not None and declared > self.max_body_bytes:
            return too_large(self.max_body_bytes)
        if scope["path"].startswith(MARKETPLACE_PREFIX):
            return self._marketplace_refusal(scope, headers)
        if not scope["path"].startswith(KEYED_PREFIXES):
            return None
        key = headers.get("x-api-key")
        refusal: JSONResponse | None = None
        if not key:
            refusal = JSONResponse({"detail": MISSING_KEY}, status.HTTP_401_UNAUTHORIZED)
        else:
            try:
                provider = await run_in_threadpool(self.lookup, scope, key)
            except Exception as error:
                if not is_outage(error):
                    raise
                refusal = database_unavailable(error)
            else:
                if provider is None:
                    refusal = JSONResponse({"detail": UNKNOWN_KEY}, status.HTTP_401_UNAUTHORIZED)
                else:
                    scope.setdefault("state", {})["provider_id"] = provider
        return refusal

    def _marketplace_refusal(self, scope: Scope, headers: Headers) -> JSONResponse | None:
        """The marketplace's paths take the operator's marketplace key, never a provider's:
        resellers are every provider's, and providers are tenants who must not change them."""
        if not self.marketplace_key:
            return JSONResponse(
                {"detail": MARKETPLACE_UNCONFIGURED}, status.HTTP_503_SERVICE_UNAVAILABLE
            )
        sent = headers.get(MARKETPLACE_HEADER, "")
        if not hmac.compare_digest(sent.encode(), self.marketplace_key.encode()):
            return JSONResponse({"detail": MARKETPLACE_REFUSED}, status.HTTP_401_UNAUTHORIZED)
        scope.setdefault("state", {})["marketplace"] = True
        return None
