"""Every failure a provider can cause becomes a 4xx whose `detail` says what is wrong; the
server's own configuration or dependencies failing it a 503 that says the same."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from api.guard import too_large
from api.outage import database_unavailable, is_outage
from clients.requests import InputRejected, RequestRejected, WorkflowNotFound
from models.wire import describe_errors
from services.errors import ConflictError, InputError, NotFoundError
from store.secret_box import SecretKeyError


def _problem(code: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=code)


def install_error_handlers(app: FastAPI, max_body_bytes: int) -> None:
    async def invalid_request(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError | ValidationError)
        return _problem(
            status.HTTP_422_UNPROCESSABLE_CONTENT, describe_errors(error.errors(), camel=True)
        )

    async def mapped(request: Request, error: Exception) -> JSONResponse:
        code = next(c for kind, c in _CODES.items() if isinstance(error, kind))
        return _problem(code, str(error))

    async def database_error(request: Request, error: Exception) -> JSONResponse:
        if not is_outage(error):
            raise error
        return database_unavailable(error)

    async def temporal_down(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RPCError)
        if error.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
            return _problem(
                status.HTTP_503_SERVICE_UNAVAILABLE, f"Temporal is unavailable: {error}"
            )
        raise error

    async def workflow_unanswering(request: Request, error: Exception) -> JSONResponse:
        # Our queries raise nothing of their own: a failed one is the workflow's task failing in
        # an overloaded worker (the SDK's deadlock detector), which clears on a retry.
        return _problem(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"the workflow could not answer now, try again: {error}",
        )

    async def secrets_unconfigured(request: Request, error: Exception) -> JSONResponse:
        # The operator's configuration, not the provider's request, is what must change (so
        # not a 4xx), and it clears once the key is set (so 503, worth retrying, not a 500).
        return _problem(status.HTTP_503_SERVICE_UNAVAILABLE, str(error))

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        if error.status_code == status.HTTP_413_CONTENT_TOO_LARGE:
            return too_large(max_body_bytes)
        if error.status_code == status.HTTP_400_BAD_REQUEST and error.detail == _UNREADABLE:
            # FastAPI's answer to a body json.loads cannot decode (bytes that are not UTF-8):
            # as unfit as malformed JSON, so answered the same way.
            return _problem(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                "the body is not valid JSON: it is not UTF-8 text",
            )
        return await http_exception_handler(request, error)

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(ValidationError, invalid_request)
    for kind in _CODES:
        app.add_exception_handler(kind, mapped)
    app.add_exception_handler(RPCError, temporal_down)
    app.add_exception_handler(WorkflowQueryFailedError, workflow_unanswering)
    app.add_exception_handler(SQLAlchemyError, database_error)
    app.add_exception_handler(SecretKeyError, secrets_unconfigured)


_UNREADABLE = "There was an error parsing the body"

_CODES: dict[type[Exception], int] = {
    InputError: status.HTTP_422_UNPROCESSABLE_CONTENT,
    InputRejected: status.HTTP_422_UNPROCESSABLE_CONTENT,
    NotFoundError: status.HTTP_404_NOT_FOUND,
    WorkflowNotFound: status.HTTP_404_NOT_FOUND,
    ConflictError: status.HTTP_409_CONFLICT,
    RequestRejected: status.HTTP_409_CONFLICT,
}
