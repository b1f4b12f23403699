"""The FastAPI application: `partnerflow api` serves it, tests drive it in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.types import Scope

from api import (
    agreements,
    announcements,
    delivery,
    feedback,
    health,
    keys,
    newsletter,
    offers,
    orders,
    partners,
    program,
    reseller_portal,
    resellers,
    reviews,
    templates,
)
from api.deps import Services
from api.docs import install_docs
from api.errors import install_error_handlers
from api.guard import RequestGuard
from api.views import Problem
from clients.connection import connect_temporal
from runtime.settings import Settings
from services.providers import provider_for_key
from services.reseller_keys import reseller_for_key
from store.database import open_database
from web import install as install_dashboard

DESCRIPTION = """\
Run a reseller partner program: enroll and steer preferred partners, send in
orders so their metrics are real, set who sees which offer, grant exclusive
agreements, read (or start) the monthly and quarterly program reviews, write
the messages partners receive, choose how they reach them (log, email, signed
webhook) and read the outbox.
Every provider request carries the provider's key in `x-api-key`, except the health
probes (`/health/live`, `/health/ready`) that load balancers and orchestrators call.

Resellers have an API of their own under `/reseller/` (but `/reseller/offers`, the
provider's look at what one reseller sees): where a team stands in each program it sees,
what the next tier asks, the offers it sees at the price it gets, its agreements,
scorecards and messages, and feedback to a provider. It takes the team's own key in
`x-reseller-key`, which an operator issues (`partnerflow resellers key TEAM`); a provider's
key does not reach it, nor a reseller's key a provider's path.
"""


def _problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description}


PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: _problem("No x-api-key header, or a key that is unknown or revoked."),
    404: _problem("The provider has no such thing; another provider's things are not found."),
    409: _problem("The request clashes with the state of what it names; `detail` says how."),
    413: _problem("The body is larger than the API reads (PARTNERFLOW_MAX_BODY_BYTES)."),
    422: _problem("The request does not fit: `detail` names each field and what is wrong."),
    503: _problem("The program database or Temporal is unavailable; try again after Retry-After."),
}
"""Every provider operation's error answers, each `{"detail": "..."}` as Problem documents."""
RESELLER_PROBLEMS: dict[int | str, dict[str, Any]] = {
    **PROBLEMS,
    401: _problem("No x-reseller-key header, or a reseller key that is unknown or revoked."),
    404: _problem(
        "Not among the reseller's own: a program it does not see, another team's message or "
        "scorecard."
    ),
}
"""The reseller API's error answers."""


def create_app(services: Services | None = None, settings: Settings | None = None) -> FastAPI:
    """The API over `services`, or over the database and Temporal that `settings` name."""
    config = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if services is not None:
            yield
            return
        db = open_database(config.database_url)
        try:
            client = await connect_temporal(config)
            app.state.services = Services(db=db, client=client, task_queue=config.task_queue)
            yield
        finally:
            db.engine.dispose()

    app = FastAPI(
        title="partnerflow",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    install_docs(app)
    app.add_middleware(
        RequestGuard,
        max_body_bytes=config.max_body_bytes,
        lookup=_provider_for_key,
        marketplace_key=config.marketplace_key,
        reseller_lookup=_reseller_for_key,
    )
    if services is not None:
        app.state.services = services
    install_error_handlers(app, config.max_body_bytes)
    for module in (
        partners,
        offers,
        orders,
        program,
        agreements,
        reviews,
        templates,
        delivery,
        announcements,
        newsletter,
    ):
        app.include_router(module.router, responses=PROBLEMS)
    app.include_router(reseller_portal.router, responses=RESELLER_PROBLEMS)
    app.include_router(feedback.reseller_router, responses=RESELLER_PROBLEMS)
    app.include_router(feedback.router, responses=PROBLEMS)
    # Keys last: the fuzz meets DELETE before POST makes more keys (tests/api/test_fuzz.py).
    for module in (resellers, keys):
        app.include_router(module.router, responses=PROBLEMS)
    app.include_router(resellers.marketplace_router)
    app.include_router(health.router)
    install_dashboard(app)
    return app


def _provider_for_key(scope: Scope, key: str) -> str | None:
    services: Services = scope["app"].state.services
    with services.db.transaction() as session:
        return provider_for_key(session, key)


def _reseller_for_key(scope: Scope, key: str) -> str | None:
    services: Services = scope["app"].state.services
    with services.db.transaction() as session:
        signed = reseller_for_key(session, key)
    return signed.reseller_team_id if signed else None
