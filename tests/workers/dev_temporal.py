"""The Temporal dev server in the test's process, with a worker on the test's database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from clients.requests import poll_until
from clients.reviews import Reviews
from devstack.dev_server import DevConfig, dev_server
from models.database import Database
from workers.wiring import build_worker


@dataclass
class WorkerServer:
    """The dev server, a task queue of the test's own, and what a `partnerflow worker` process
    needs to serve that queue on the test's database."""

    client: Client
    address: str
    ui_port: int
    task_queue: str
    environment: dict[str, str]


@asynccontextmanager
async def dev_server_for_workers(config: DevConfig, db: Database) -> AsyncIterator[WorkerServer]:
    """The running dev server (the `dev_server_config` fixture's) and a task queue of the
    test's own: the test starts its workers (processes, or one in-process)."""
    task_queue = f"partner-program-{uuid.uuid4().hex[:8]}"
    environment = {
        "PARTNERFLOW_DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
        "TEMPORAL_ADDRESS": config.address,
        "PARTNERFLOW_TASK_QUEUE": task_queue,
    }
    async with dev_server(config) as server:
        yield WorkerServer(server.client, config.address, config.ui_port, task_queue, environment)


@dataclass
class DevTemporal:
    client: Client
    address: str
    ui_port: int
    task_queue: str
    reviews: Reviews


@asynccontextmanager
async def dev_temporal(config: DevConfig, db: Database) -> AsyncIterator[DevTemporal]:
    """The dev server (Schedules, visibility, the UI) and a worker on a queue of its own."""
    async with (
        dev_server_for_workers(config, db) as server,
        build_worker(server.client, db, task_queue=server.task_queue),
    ):
        yield DevTemporal(
            server.client,
            server.address,
            server.ui_port,
            server.task_queue,
            Reviews(server.client, server.task_queue),
        )


VISIBILITY_TIMEOUT = 30
"""Visibility trails the workflows; on a loaded machine by seconds."""


async def listed_ids(client: Client, query: str) -> set[str]:
    return {execution.id async for execution in client.list_workflows(query)}


async def await_listed(client: Client, query: str, expected: set[str]) -> set[str]:
    """The IDs `query` lists once they are `expected` (or, after a while, whatever it lists)."""
    try:
        return await poll_until(
            lambda: listed_ids(client, query),
            lambda ids: ids == expected,
            timeout=VISIBILITY_TIMEOUT,
            interval=0.2,
        )
    except TimeoutError:
        return await listed_ids(client, query)


async def closed_status(client: Client, workflow_id: str) -> WorkflowExecutionStatus | None:
    """The workflow's status once it has closed, None while it runs or has not started."""
    try:
        status = (await client.get_workflow_handle(workflow_id).describe()).status
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            return None
        raise
    return None if status is WorkflowExecutionStatus.RUNNING else status
