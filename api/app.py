"""The FastAPI application: `partnerflow api` serves it, tests drive it in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import agreements, delivery, health, offers, orders, partners, program, reviews, templates
from api.deps import Services
from api.errors import install_error_handlers
from clients.connection import connect_temporal
from runtime.settings import Settings
from store.database import open_database

DESCRIPTION = """\
Run a reseller partner program: enroll and steer preferred partners, send in
orders so their metrics are real, set who sees which offer, grant exclusive
agreements, read (or start) the monthly and quarterly program reviews, write
the messages partners receive, choose how they reach them (log, email, signed
webhook) and read the outbox.
Every request carries the provider's key in `x-api-key`, except the health probes
(`/health/live`, `/health/ready`) that load balancers and orchestrators call.
"""


def create_app(services: Services | None = None, settings: Settings | None = None) -> FastAPI:
    """The API over `services`, or over the database and Temporal that `settings` name."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if services is not None:
            yield
            return
        config = settings or Settings()
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
    )
    if services is not None:
        app.state.services = services
    install_error_handlers(app)
    for module in (partners, offers, orders, program, agreements, reviews, templates, delivery):
        app.include_router(module.router)
    app.include_router(health.router)
    return app
