"""Serving the API: `partnerflow api` on its own, or inside the local stack."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Generator

import uvicorn

from api.app import create_app
from api.deps import Services
from clients.connection import connect_temporal, register_search_attributes
from runtime.ports import ApiPortTaken, check_port_free
from runtime.settings import Settings
from runtime.signals import SHUTDOWN_GRACE, stop_on_signals
from runtime.telemetry import build_runtime
from store.database import open_database
from store.secret_box import log_secret_key

logger = logging.getLogger("partnerflow.api")


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves SIGINT and SIGTERM to the process that embeds it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@contextlib.asynccontextmanager
async def running_api(
    services: Services, host: str, port: int, log_level: str = "warning"
) -> AsyncIterator[str]:
    """Serve the API on host:port while the block runs; yields its base URL."""
    check_port_free(host, port)
    config = uvicorn.Config(
        create_app(services),
        host=host,
        port=port,
        log_level=log_level,
        lifespan="off",
        # uvicorn's lines go through the process's own logging: one format, text or JSON.
        log_config=None,
        timeout_graceful_shutdown=int(SHUTDOWN_GRACE.total_seconds()),
    )
    server = _EmbeddedServer(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                await task
                raise ApiPortTaken(f"the API could not start on {host}:{port}")
            await asyncio.sleep(0.02)
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        await task


async def serve_api(settings: Settings, host: str, port: int) -> None:
    """`partnerflow api`: serve until SIGTERM or Ctrl-C, finishing the requests in flight."""
    stop = stop_on_signals()
    check_port_free(host, port)
    log_secret_key(logger)
    db = open_database(settings.database_url)
    try:
        client = await connect_temporal(settings, build_runtime(settings))
        await register_search_attributes(client)
        services = Services(db=db, client=client, task_queue=settings.task_queue)
        async with running_api(services, host, port, log_level="info") as url:
            logger.info("API docs at %s/docs", url)
            await stop.wait()
            logger.info("stopping: finishing the requests in flight")
    finally:
        db.engine.dispose()
