"""What the API refuses before it reads a request's body: one declared larger than the limit,
and a provider or reseller path without a valid key.

FastAPI parses a body before it solves the dependencies that check the key, so a
stranger could make the process read and parse a large body for nothing. This
middleware checks the key first and hands whom it names to the `provider_id` or
`reseller_team_id` dependency. A body streamed without a length is cut off at the limit.

Provider paths (`/provider/`, and `/reseller/offers`, the provider's look at what one
reseller sees) take a provider's `x-api-key`; the reseller API (every other `/reseller/`
path) takes a reseller team's own `x-reseller-key`. Neither key reaches the other's paths.
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

PROVIDER_PREFIX = "/provider/"
RESELLER_PREFIX = "/reseller/"
PROVIDERS_LOOK = "/reseller/offers"
"""What one reseller sees, as its provider looks at it: a provider path under /reseller/."""
MISSING_KEY = "missing x-api-key header"
UNKNOWN_KEY = "unknown or revoked API key"
RESELLER_HEADER = "x-reseller-key"
MISSING_RESELLER_KEY = (
    "missing x-reseller-key header: the reseller API takes a reseller team's own key "
    "(an operator issues one with `partnerflow resellers key TEAM`); a provider's x-api-key "
    "cannot act as a reseller"
)
UNKNOWN_RESELLER_KEY = "unknown or revoked reseller key"
RESELLER_KEY_ON_PROVIDER_PATH = (
    "this is a provider's path, and a reseller key does not reach it: it takes a provider's "
    "API key in x-api-key"
)
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


def _unauthorized(detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status.HTTP_401_UNAUTHORIZED)


class RequestGuard:
    """Answers 413 to a body declared over the limit, and 401 to a keyed path whose key is
    missing or unknown, before the body is read."""

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        lookup: Callable[[Scope, str], str | None],
        marketplace_key: str | None = None,
        reseller_lookup: Callable[[Scope, str], str | None] | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.lookup = lookup
        self.marketplace_key = marketplace_key
        self.reseller_lookup = reseller_lookup or (lambda scope, key: None)

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
        path: str = scope["path"]
        if path.startswith(MARKETPLACE_PREFIX):
            return self._marketplace_refusal(scope, headers)
        if path.startswith(PROVIDER_PREFIX) or path.rstrip("/") == PROVIDERS_LOOK:
            return await self._provider_refusal(scope, headers)
        if path.startswith(RESELLER_PREFIX):
            return await self._reseller_refusal(scope, headers)
        return None

    async def _provider_refusal(self, scope: Scope, headers: Headers) -> JSONResponse | None:
        key = headers.get("x-api-key")
        if not key:
            detail = RESELLER_KEY_ON_PROVIDER_PATH if headers.get(RESELLER_HEADER) else MISSING_KEY
            return _unauthorized(detail)
        return await self._identify(scope, self.lookup, key, "provider_id", UNKNOWN_KEY)

    async def _reseller_refusal(self, scope: Scope, headers: Headers) -> JSONResponse | None:
        key = headers.get(RESELLER_HEADER)
        if not key:
            return _unauthorized(MISSING_RESELLER_KEY)
        return await self._identify(
            scope, self.reseller_lookup, key, "reseller_team_id", UNKNOWN_RESELLER_KEY
        )

    async def _identify(
        self,
        scope: Scope,
        lookup: Callable[[Scope, str], str | None],
        key: str,
        name: str,
        unknown: str,
    ) -> JSONResponse | None:
        """Look `key` up and put whom it names in the request's state as `name`."""
        try:
            found = await run_in_threadpool(lookup, scope, key)
        except Exception as error:
            if not is_outage(error):
                raise
            return database_unavailable(error)
        if found is None:
            return _unauthorized(unknown)
        scope.setdefault("state", {})[name] = found
        return None

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
