"""The worker process: runs partner workflows and their activities until SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from temporalio.client import Client
from temporalio.worker import Worker

from clients.connection import connect_temporal, register_search_attributes
from clients.newsletters import Newsletters, ensure_every_subscriber
from clients.review_schedules import ensure_every_provider
from clients.reviews import Reviews
from models.contract import MAX_CACHED_WORKFLOWS
from models.database import Database
from runtime.settings import Settings
from runtime.signals import stop_on_signals
from runtime.telemetry import build_runtime
from store.database import display_url, open_database
from store.secret_box import log_secret_key
from workers.wiring import ACTIVITY_THREADS, build_worker

logger = logging.getLogger("partnerflow.worker")


@asynccontextmanager
async def running_worker(
    client: Client, db: Database, task_queue: str, max_cached_workflows: int = MAX_CACHED_WORKFLOWS
) -> AsyncIterator[Worker]:
    """A polling worker; on exit it finishes the activities in flight, then frees its threads."""
    executor = ThreadPoolExecutor(max_workers=ACTIVITY_THREADS, thread_name_prefix="activity")
    try:
        async with build_worker(
            client,
            db,
            task_queue=task_queue,
            executor=executor,
            max_cached_workflows=max_cached_workflows,
        ) as worker:
            yield worker
    finally:
        executor.shutdown(wait=True)


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Serve the partner program's task queue until `stop` is set (by default: a signal).

    It refuses a database whose schema is not this code's before it touches Temporal.
    At start it creates the review Schedules that any provider lacks (not in
    `build_worker`: the time-skipping test server has no Schedules).
    """
    stop = stop or stop_on_signals()
    log_secret_key(logger)
    db = open_database(settings.database_url)
    try:
        client = await connect_temporal(settings, build_runtime(settings))
        added = await register_search_attributes(client)
        if added:
            logger.info("registered search attributes %s", ", ".join(added))
        async with running_worker(client, db, settings.task_queue, settings.max_cached_workflows):
            logger.info(
                "worker polling task queue %r on %s (namespace %s) as %s, database %s, "
                "keeping up to %d workflows in memory%s",
                settings.task_queue,
                settings.temporal_address,
                settings.temporal_namespace,
                client.identity,
                display_url(settings.database_url),
                settings.max_cached_workflows,
                f", metrics on http://{settings.metrics_address}/metrics"
                if settings.metrics_address
                else "",
            )
            await ensure_every_provider(Reviews(client, settings.task_queue), db)
            await ensure_every_subscriber(Newsletters(client, settings.task_queue), db)
            await stop.wait()
            logger.info("stopping: finishing the activities in flight")
    finally:
        db.engine.dispose()
    logger.info("worker stopped")
