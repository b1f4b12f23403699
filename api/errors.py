"""Every failure a provider can cause becomes a 4xx whose `detail` says what is wrong; the
server's own configuration or dependencies failing it a 503 that says the same."""

from __future__ import annotations

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError
from temporalio.service import RPCError, RPCStatusCode

from clients.requests import RequestRejected, WorkflowNotFound
from models.wire import describe_errors
from services.errors import ConflictError, InputError, NotFoundError
from store.secret_box import SecretKeyError

BUSY_RETRY_AFTER = 5
"""Seconds a client is asked to wait before it tries a write again on a busy SQLite."""


def _problem(code: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=code)


def install_error_handlers(app: FastAPI) -> None:
    async def invalid_request(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError | ValidationError)
        return _problem(status.HTTP_422_UNPROCESSABLE_CONTENT, describe_errors(error.errors()))

    async def mapped(request: Request, error: Exception) -> JSONResponse:
        code = next(c for kind, c in _CODES.items() if isinstance(error, kind))
        return _problem(code, str(error))

    async def database_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, OperationalError)
        if "database is locked" in str(error.orig):
            response = _problem(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                "the program database is busy: another process holds SQLite's one write lock "
                "(a program review storing its snapshots can hold it for a while), and this "
                "request waited for it in vain. Its changes were rolled back: try again in a "
                "moment (PostgreSQL has no such limit).",
            )
            response.headers["Retry-After"] = str(BUSY_RETRY_AFTER)
            return response
        raise error

    async def temporal_down(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RPCError)
        if error.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
            return _problem(
                status.HTTP_503_SERVICE_UNAVAILABLE, f"Temporal is unavailable: {error}"
            )
        raise error

    async def secrets_unconfigured(request: Request, error: Exception) -> JSONResponse:
        # The operator's configuration, not the provider's request, is what must change (so
        # not a 4xx), and it clears once the key is set (so 503, worth retrying, not a 500).
        return _problem(status.HTTP_503_SERVICE_UNAVAILABLE, str(error))

    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(ValidationError, invalid_request)
    for kind in _CODES:
        app.add_exception_handler(kind, mapped)
    app.add_exception_handler(RPCError, temporal_down)
    app.add_exception_handler(OperationalError, database_error)
    app.add_exception_handler(SecretKeyError, secrets_unconfigured)


_CODES: dict[type[Exception], int] = {
    InputError: status.HTTP_422_UNPROCESSABLE_CONTENT,
    NotFoundError: status.HTTP_404_NOT_FOUND,
    WorkflowNotFound: status.HTTP_404_NOT_FOUND,
    ConflictError: status.HTTP_409_CONFLICT,
    RequestRejected: status.HTTP_409_CONFLICT,
}
