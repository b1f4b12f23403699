"""The worker process: runs partner workflows and their activities until SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy.engine import make_url
from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.worker import Worker

from migrations.runner import require_current_schema, upgrade_database
from models.database import Database
from services.secret_box import key_status
from workers.review_client import Reviews
from workers.review_schedules import ensure_every_provider
from workers.settings import Settings
from workers.telemetry import build_runtime
from workers.temporal_client import connect, register_search_attributes
from workers.wiring import ACTIVITY_THREADS, build_worker

logger = logging.getLogger("partnerflow.worker")


class TemporalUnreachable(Exception):
    """No Temporal server answers at the configured address."""


def display_url(url: str) -> str:
    """A database URL safe to print: the password masked."""
    return make_url(url).render_as_string(hide_password=True)


def make_sqlite_directory(url: str) -> None:
    """Create the directory an SQLite database file goes in; other URLs need nothing."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def open_database(url: str, *, upgrade: bool = False) -> Database:
    """The program database at this code's schema revision (an SQLite file's directory made).

    Without `upgrade`, a schema that is not current raises SchemaNotCurrent, which says to run
    `partnerflow db upgrade`; with it (the local stack's own SQLite file), it is migrated here.
    """
    make_sqlite_directory(url)
    db = Database.from_url(url)
    try:
        if upgrade:
            migrated = upgrade_database(db.engine)
            if migrated.before.revisions != migrated.after.revisions:
                logger.info(
                    "program database %s migrated from %s to %s",
                    display_url(url),
                    ", ".join(migrated.before.revisions) or migrated.before.state.value,
                    ", ".join(migrated.after.revisions),
                )
        else:
            require_current_schema(db.engine)
    except BaseException:
        db.engine.dispose()
        raise
    return db


async def connect_temporal(settings: Settings, runtime: Runtime | None = None) -> Client:
    """A client for the configured namespace, or TemporalUnreachable saying what to do."""
    try:
        return await connect(settings.temporal_address, settings.temporal_namespace, runtime)
    except RuntimeError as error:
        raise TemporalUnreachable(
            f"Temporal does not answer at {settings.temporal_address} "
            f"(namespace {settings.temporal_namespace}): {error}\n"
            "Start the local stack with `make run`, or point TEMPORAL_ADDRESS "
            "(and TEMPORAL_NAMESPACE) at your Temporal cluster."
        ) from error


@asynccontextmanager
async def running_worker(client: Client, db: Database, task_queue: str) -> AsyncIterator[Worker]:
    """A polling worker; on exit it finishes the activities in flight, then frees its threads."""
    executor = ThreadPoolExecutor(max_workers=ACTIVITY_THREADS, thread_name_prefix="activity")
    try:
        async with build_worker(client, db, task_queue=task_queue, executor=executor) as worker:
            yield worker
    finally:
        executor.shutdown(wait=True)


def stop_on_signals() -> asyncio.Event:
    """An event that SIGTERM and SIGINT set, instead of interrupting whatever is running."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return stop


def log_secret_key(log: logging.Logger) -> None:
    """Say at start whether stored secrets can be encrypted; a malformed key stops the start."""
    configured, line = key_status()
    log.log(logging.INFO if configured else logging.WARNING, line)


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
        async with running_worker(client, db, settings.task_queue):
            logger.info(
                "worker polling task queue %r on %s (namespace %s) as %s, database %s%s",
                settings.task_queue,
                settings.temporal_address,
                settings.temporal_namespace,
                client.identity,
                display_url(settings.database_url),
                f", metrics on http://{settings.metrics_address}/metrics"
                if settings.metrics_address
                else "",
            )
            await ensure_every_provider(Reviews(client, settings.task_queue), db)
            await stop.wait()
            logger.info("stopping: finishing the activities in flight")
    finally:
        db.engine.dispose()
    logger.info("worker stopped")
