"""`/health`: whether this API process answers, and whether what it needs answers too.

For load balancers and orchestrators, so no API key: `live` touches nothing, `ready`
asks the program database (a query, and its schema revision against this code's) and
Temporal (the namespace). The endpoint is public, so a failure's reason is short and
names no host or URL; the API's log has the whole error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from enum import StrEnum

from fastapi import APIRouter, Response, status
from sqlalchemy import Engine, text
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError

from api.deps import ServicesDep
from api.views import ApiModel
from migrations.runner import UPGRADE_COMMAND, SchemaState, schema_status

CHECK_TIMEOUT = timedelta(seconds=3)
"""Each check's limit: compose's probe gives the whole request 5 s."""
REASON_LENGTH = 200

logger = logging.getLogger("partnerflow.api.health")
router = APIRouter(prefix="/health", tags=["health"])


class CheckStatus(StrEnum):
    OK = "ok"
    ERROR = "error"


class Check(ApiModel):
    """One dependency: `database`, `schema` or `temporal`."""

    name: str
    status: CheckStatus
    reason: str


class Liveness(ApiModel):
    status: CheckStatus = CheckStatus.OK


class Readiness(ApiModel):
    """`ok` when every check is; the checks in a fixed order."""

    status: CheckStatus
    checks: list[Check]


class _Failed(Exception):
    """A check's own finding, said in its message."""


def _short(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    first = lines[0] if lines else type(error).__name__
    return first if len(first) <= REASON_LENGTH else first[: REASON_LENGTH - 1] + "…"


async def _check(name: str, probe: Callable[[], Awaitable[str]]) -> Check:
    try:
        reason = await asyncio.wait_for(probe(), CHECK_TIMEOUT.total_seconds())
    except TimeoutError:
        return Check(
            name=name,
            status=CheckStatus.ERROR,
            reason=f"no answer within {CHECK_TIMEOUT.total_seconds():g} s",
        )
    except _Failed as failed:
        return Check(name=name, status=CheckStatus.ERROR, reason=str(failed))
    except Exception as error:  # whatever a driver raises, the probe answers
        logger.warning("health check %s failed", name, exc_info=error)
        kind = type(getattr(error, "orig", None) or error).__name__
        return Check(
            name=name, status=CheckStatus.ERROR, reason=f"{kind}; the API's log has the error"
        )
    return Check(name=name, status=CheckStatus.OK, reason=reason)


def _query(engine: Engine) -> str:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1")).scalar_one()
    return f"{engine.dialect.name} answers"


def _schema(engine: Engine) -> str:
    found = schema_status(engine)
    at = ", ".join(found.revisions) or "no revision"
    needed = ", ".join(found.heads)
    match found.state:
        case SchemaState.CURRENT:
            return f"at {at}, the migrations' head"
        case SchemaState.BEHIND | SchemaState.EMPTY | SchemaState.UNVERSIONED:
            raise _Failed(f"{found.state.value}: at {at}, needs {needed}; run `{UPGRADE_COMMAND}`")
        case SchemaState.UNKNOWN:
            raise _Failed(f"unknown revision {at} (newer than {needed}): a newer partnerflow")


async def _temporal(client: Client) -> str:
    try:
        await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=client.namespace), timeout=CHECK_TIMEOUT
        )
    except RPCError as error:
        raise _Failed(f"{error.status.name}: {_short(error)}") from error
    except RuntimeError as error:  # a lazy client that cannot connect
        logger.warning("health check temporal failed", exc_info=error)
        raise _Failed("cannot connect to the Temporal frontend") from error
    return f"namespace {client.namespace} answers"


@router.get("/live", summary="The process answers", response_model=Liveness)
async def live() -> Liveness:
    """Always 200 while the process serves requests: touches neither database nor Temporal."""
    return Liveness()


@router.get(
    "/ready",
    summary="The database, its schema and Temporal answer",
    response_model=Readiness,
    responses={status.HTTP_503_SERVICE_UNAVAILABLE: {"model": Readiness}},
)
async def ready(svc: ServicesDep, response: Response) -> Readiness:
    """200 when the program database answers a query at this code's schema revision and
    Temporal answers for the namespace; else 503, with the failing check named."""
    engine = svc.db.engine
    database, temporal = await asyncio.gather(
        _check("database", lambda: asyncio.to_thread(_query, engine)),
        _check("temporal", lambda: _temporal(svc.client)),
    )
    if database.status is CheckStatus.OK:
        schema = await _check("schema", lambda: asyncio.to_thread(_schema, engine))
    else:
        schema = Check(
            name="schema", status=CheckStatus.ERROR, reason="not checked: the database is down"
        )
    checks = [database, schema, temporal]
    ok = all(check.status is CheckStatus.OK for check in checks)
    if not ok:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Readiness(status=CheckStatus.OK if ok else CheckStatus.ERROR, checks=checks)
