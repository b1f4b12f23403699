"""The program database unreachable, or its pool exhausted: a 503 that says so and when to try
again, and one readable line in the log, never a 500 or a dump of SQL parameters."""

from __future__ import annotations

import logging

from fastapi import status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

logger = logging.getLogger("partnerflow.api")

RETRY_AFTER = 5
"""Seconds a client is asked to wait before it tries again."""
CAUSE_CHARS = 200


def is_outage(error: BaseException) -> bool:
    """Whether `error` says the database cannot be reached or used right now."""
    if isinstance(error, OperationalError | InterfaceError | DisconnectionError | PoolTimeout):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def cause(error: BaseException) -> str:
    """The driver's own first line, without the statement or its parameters."""
    original = error.orig if isinstance(error, DBAPIError) else error
    lines = str(original).strip().splitlines() or [type(original).__name__]
    first = lines[0]
    return first if len(first) <= CAUSE_CHARS else first[: CAUSE_CHARS - 1] + "…"


def database_unavailable(error: BaseException) -> JSONResponse:
    if "database is locked" in str(error):
        detail = (
            "the program database is busy: another process holds SQLite's one write lock "
            "(a program review storing its snapshots can hold it for a while), and this "
            "request waited for it in vain. Its changes were rolled back: try again in a "
            "moment (PostgreSQL has no such limit)."
        )
    else:
        detail = (
            f"the program database is unavailable ({cause(error)}): nothing was changed; "
            f"try again in {RETRY_AFTER} seconds"
        )
    logger.warning("program database unavailable: %s", cause(error))
    return JSONResponse(
        {"detail": detail},
        status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(RETRY_AFTER)},
    )
