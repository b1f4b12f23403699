"""The system under test in a process of its own: the API on uvicorn, and the partnerflow worker.

`python -m bench.stack --database URL --temporal HOST:PORT [--no-api] [--no-worker]
[--shared]` binds a free local port, prints `port N` on stdout once uvicorn serves
(`port 0` for a worker alone), and runs until SIGTERM. With `--shared` the API and
the worker share one Temporal client and one database engine (one connection
pool), as `partnerflow dev` has them; without it each has its own, as separate
`partnerflow api` and `partnerflow worker` processes would. Every response
carries a `server-timing` header that splits the server's time into the database
(the API's own transactions: key and reseller lookups, reads, order batches),
Temporal (the update-with-start, update or query call) and the rest (FastAPI,
pydantic, the view, waiting for the event loop), so the load generator can say
where a request's time went without any change to the product's code. `POST
/_bench/profile/start` and `/stop` sample this process's CPU in between
(bench/sampler.py); a worker alone (`--no-api --profile-output F`) does the same
on SIGUSR1 and SIGUSR2, writing the profile to F. Logging is at
WARNING, so the log channel's notifications cost no terminal output.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import Client, WorkflowHandle

from api.app import create_app
from api.deps import Services
from bench.sampler import CpuSampler
from bench.waits import StackWaits
from clients.connection import connect
from clients.partners import PartnerPrograms
from models.contract import TASK_QUEUE
from models.database import Database
from models.partner import EnrollmentRequest, PartnerState
from store.database import open_database
from workers.worker import running_worker

PROFILE_PATH = "/_bench/profile/"
WAITS_PATH = "/_bench/waits/"

R = TypeVar("R")


@dataclass
class RequestTiming:
    """Seconds one request spent in each part of the server."""

    db: float = 0.0
    temporal: float = 0.0
    started: float = field(default_factory=time.perf_counter)


_timing: ContextVar[RequestTiming | None] = ContextVar("bench_timing", default=None)


def _charge(kind: str, seconds: float) -> None:
    timing = _timing.get()
    if timing is not None:
        setattr(timing, kind, getattr(timing, kind) + seconds)


class TimedDatabase(Database):
    """The API's database, charging each transaction's time to the request that opened it, and
    its waits (bench/waits.py) to the kind of thread that ran it."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.waits = StackWaits(engine)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        started = time.perf_counter()
        try:
            with self.waits.database.transaction(), super().transaction() as session:
                yield session
        finally:
            _charge("db", time.perf_counter() - started)


class TimedPartnerPrograms(PartnerPrograms):
    async def enroll(
        self, provider_id: str, reseller_team_id: str, request: EnrollmentRequest
    ) -> PartnerState:
        started = time.perf_counter()
        try:
            return await super().enroll(provider_id, reseller_team_id, request)
        finally:
            _charge("temporal", time.perf_counter() - started)

    async def _call(
        self,
        provider_id: str,
        reseller_team_id: str,
        call: Callable[[WorkflowHandle[Any, Any]], Awaitable[R]],
    ) -> R:
        """Updates and queries of an existing partner (notes, flags, a partner's state)."""
        started = time.perf_counter()
        try:
            return await super()._call(provider_id, reseller_team_id, call)
        finally:
            _charge("temporal", time.perf_counter() - started)


@dataclass
class TimedServices(Services):
    @property
    def programs(self) -> PartnerPrograms:
        return TimedPartnerPrograms(self.client, self.task_queue)


class ServerTiming:
    """ASGI middleware: a `server-timing` header of app, db and temporal milliseconds.

    It also answers `POST /_bench/profile/start` and `POST /_bench/profile/stop` (the
    latter with the CPU profile of this process since the start, as JSON), and the same
    under `/_bench/waits/` for the waits of bench/waits.py.
    """

    def __init__(self, app: ASGIApp, waits: StackWaits, sampler: CpuSampler | None = None) -> None:
        self.app = app
        self.waits = waits
        self.sampler = sampler or CpuSampler()

    async def _bench(self, path: str, send: Send) -> None:
        if path == PROFILE_PATH + "start":
            self.sampler.start()
            body = b"{}"
        elif path == WAITS_PATH + "start":
            self.waits.start()
            body = b"{}"
        elif path == WAITS_PATH + "stop":
            body = json.dumps(self.waits.figures()).encode()
        else:
            body = json.dumps(await asyncio.to_thread(self.sampler.stop)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith((PROFILE_PATH, WAITS_PATH)) and scope["method"] == "POST":
            await self._bench(scope["path"], send)
            return
        timing = RequestTiming()
        token = _timing.set(timing)

        async def send_timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                total = time.perf_counter() - timing.started
                value = (
                    f"app;dur={total * 1000:.3f}, db;dur={timing.db * 1000:.3f}, "
                    f"temporal;dur={timing.temporal * 1000:.3f}"
                )
                message["headers"] = [
                    *message.get("headers", []),
                    (b"server-timing", value.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_timed)
        finally:
            _timing.reset(token)


def parse_server_timing(header: str) -> dict[str, float]:
    """`app;dur=1.2, db;dur=0.3` as {"app": 1.2, "db": 0.3} (milliseconds)."""
    found: dict[str, float] = {}
    for part in header.split(","):
        name, _, duration = part.strip().partition(";dur=")
        if name and duration:
            found[name] = float(duration)
    return found


def _bound_socket() -> socket.socket:
    # IPPROTO_TCP named explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says
    # TCP, and without it Nagle's algorithm and delayed ACKs add ~40 ms to every response.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.asynccontextmanager
async def _maybe_worker(
    enabled: bool, client: Client | None, db: Database | None, args: argparse.Namespace
) -> AsyncIterator[None]:
    """The worker on `client` and `db` where given (`partnerflow dev`'s), else on its own, as
    `partnerflow worker` would have them."""
    if not enabled:
        yield
        return
    own_db = db is None
    client = client or await connect(args.temporal, args.namespace)
    db = db or open_database(args.database)
    try:
        async with running_worker(client, db, args.task_queue):
            yield
    finally:
        if own_db:
            db.engine.dispose()


async def serve(args: argparse.Namespace) -> None:
    # Shared: one client and one engine, opened once, as `partnerflow dev` does (run_dev).
    shared_client = await connect(args.temporal, args.namespace) if args.shared else None
    shared_db = TimedDatabase(open_database(args.database).engine) if args.shared else None
    try:
        await _serve(args, shared_client, shared_db)
    finally:
        if shared_db is not None:
            shared_db.engine.dispose()


async def _serve(
    args: argparse.Namespace, shared_client: Client | None, shared_db: TimedDatabase | None
) -> None:
    async with _maybe_worker(args.worker, shared_client, shared_db, args):
        if not args.api:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stop.set)
            if args.profile_output:
                _profile_on_signals(loop, args.profile_output)
            print("port 0", flush=True)
            await stop.wait()
            return
        client = shared_client or await connect(args.temporal, args.namespace)
        db = shared_db or TimedDatabase(open_database(args.database).engine)
        services = TimedServices(db=db, client=client, task_queue=args.task_queue)
        sock = _bound_socket()
        config = uvicorn.Config(
            ServerTiming(create_app(services), db.waits),
            lifespan="off",
            log_level="warning",
            access_log=False,
        )
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            if serving.done():
                await serving  # raises what stopped it
                return
            await asyncio.sleep(0.05)
        print(f"port {sock.getsockname()[1]}", flush=True)
        try:
            await serving
        finally:
            if shared_db is None:
                db.engine.dispose()


def _profile_on_signals(loop: asyncio.AbstractEventLoop, output: Path) -> None:
    """Without the API, SIGUSR1 starts sampling this process's CPU and SIGUSR2 writes the
    profile since then to `output` (as JSON, renamed into place once complete)."""
    sampler = CpuSampler()

    def write() -> None:
        partial = output.with_suffix(".partial")
        partial.write_text(json.dumps(sampler.stop()))
        partial.replace(output)

    loop.add_signal_handler(signal.SIGUSR1, sampler.start)
    loop.add_signal_handler(signal.SIGUSR2, lambda: loop.run_in_executor(None, write))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database", required=True, help="the program database URL")
    parser.add_argument("--temporal", required=True, help="the Temporal frontend, HOST:PORT")
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--task-queue", default=TASK_QUEUE)
    parser.add_argument("--api", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--worker", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument(
        "--shared",
        action="store_true",
        help="one Temporal client and one database engine for the API and the worker, as "
        "`partnerflow dev` has them",
    )
    parser.add_argument(
        "--profile-output",
        type=Path,
        help="with --no-api: SIGUSR1 starts a CPU profile, SIGUSR2 writes it to this file",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
