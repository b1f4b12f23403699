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
from temporalio.worker import Worker

from models.database import Database, create_schema
from workers.review_client import Reviews
from workers.review_schedules import ensure_every_provider
from workers.settings import Settings
from workers.temporal_client import connect, register_search_attributes
from workers.wiring import ACTIVITY_THREADS, build_worker

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
LOG_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"

logger = logging.getLogger("partnerflow.worker")


class TemporalUnreachable(Exception):
    """No Temporal server answers at the configured address."""


def configure_logging(level: int = logging.INFO, log_file: Path | None = None) -> None:
    """Readable log lines on stderr, or into `log_file` with only warnings left on stderr."""
    formatter = logging.Formatter(LOG_FORMAT, LOG_DATE_FORMAT)
    console = logging.StreamHandler()
    console.setFormatter(formatter)
    handlers: list[logging.Handler] = [console]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        console.setLevel(logging.WARNING)
        to_file = logging.FileHandler(log_file, encoding="utf-8")
        to_file.setFormatter(formatter)
        handlers.append(to_file)
    logging.basicConfig(level=level, handlers=handlers, force=True)


def display_url(url: str) -> str:
    """A database URL safe to print: the password masked."""
    return make_url(url).render_as_string(hide_password=True)


def open_database(url: str) -> Database:
    """The program database with its schema in place (creating an SQLite file's directory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    db = Database.from_url(url)
    try:
        create_schema(db.engine)
    except BaseException:
        db.engine.dispose()
        raise
    return db


async def connect_temporal(settings: Settings) -> Client:
    """A client for the configured namespace, or TemporalUnreachable saying what to do."""
    try:
        return await connect(settings.temporal_address, settings.temporal_namespace)
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


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Serve the partner program's task queue until `stop` is set (by default: a signal).

    At start it creates the review Schedules that any provider lacks (not in
    `build_worker`: the time-skipping test server has no Schedules).
    """
    stop = stop or stop_on_signals()
    client = await connect_temporal(settings)
    added = await register_search_attributes(client)
    if added:
        logger.info("registered search attributes %s", ", ".join(added))
    db = open_database(settings.database_url)
    try:
        async with running_worker(client, db, settings.task_queue):
            logger.info(
                "worker polling task queue %r on %s (namespace %s), database %s",
                settings.task_queue,
                settings.temporal_address,
                settings.temporal_namespace,
                display_url(settings.database_url),
            )
            await ensure_every_provider(Reviews(client, settings.task_queue), db)
            await stop.wait()
            logger.info("stopping: finishing the activities in flight")
    finally:
        db.engine.dispose()
    logger.info("worker stopped")
