"""Serving the API: `partnerflow api` on its own, or inside the local stack."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Generator

import uvicorn

from api.app import create_app
from api.deps import Services
from clients.connection import connect_temporal, register_search_attributes
from runtime.settings import Settings
from runtime.signals import SHUTDOWN_GRACE, stop_on_signals
from runtime.telemetry import build_runtime
from store.database import open_database
from store.secret_box import log_secret_key

logger = logging.getLogger("partnerflow.api")

DEFAULT_API_HOST = "127.0.0.1"
DEFAULT_API_PORT = 8000


class ApiPortTaken(Exception):
    """Something else already listens on the API's port."""


def check_port_free(host: str, port: int) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise ApiPortTaken(
                f"port {port} on {host} is taken ({error.strerror}): stop what uses it, or "
                "choose another with --port"
            ) from None


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
