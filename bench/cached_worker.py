"""A partnerflow worker alone in its process, any size of workflow cache: bench/worker_memory.py.

    python -m bench.cached_worker --database URL --temporal HOST:PORT --max-cached N
        [--metrics-address 127.0.0.1:PORT] [--tracemalloc FILE]
        [--runner product|passthrough|sandboxed|floor]

It is `partnerflow worker` (workers/worker.py's `running_worker`) with `max_cached_workflows`
given (PARTNERFLOW_MAX_CACHED_WORKFLOWS for the product's), without the review Schedules and
newsletter subscribers it creates at start. The SDK
runtime serves its Prometheus metrics (`temporal_sticky_cache_size`, …) on
`--metrics-address`, as PARTNERFLOW_METRICS_ADDRESS makes a real worker do. It
prints `ready` on stdout once it polls, and runs until SIGTERM. It imports
nothing of bench/ but this file, so its memory is the worker's.

With `--tracemalloc FILE` it traces Python's allocations from the start (which
costs memory and time of its own) and, on each SIGUSR1, writes the live
allocations grouped by file and line to FILE as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from clients.connection import connect
from models.contract import TASK_QUEUE
from store.database import open_database
from workers import wiring
from workers.wiring import ACTIVITY_THREADS, build_worker

TRACE_TOP = 40
RUNNERS = ("product", "passthrough", "sandboxed", "floor")
"""How the worker runs workflows: `product` as partnerflow does (no sandbox: workers/wiring.py),
`passthrough` the SDK's sandbox with the `workflows` package passed through (the product from
ddac6c0 until the fifth round of issue 20), `sandboxed` the SDK's default sandbox, which
imports each workflow's modules afresh for every run (the product before issue 20). `floor`
holds no partner at all but bench/floor.py's entity, Temporal's own least workflow, under the
`passthrough` kind of sandbox: what any cached workflow costs this SDK."""


def use_runner(runner: str) -> None:
    """Make `build_worker` build its Worker with `runner` (a bench-side patch of its module)."""
    if runner in ("product", "floor"):
        return
    workflow_runner: WorkflowRunner = (
        SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules("workflows")
        )
        if runner == "passthrough"
        else SandboxedWorkflowRunner()
    )
    setattr(wiring, "WORKFLOW_RUNNER", workflow_runner)  # noqa: B010


def floor_worker(client: Client, executor: ThreadPoolExecutor, max_cached: int) -> Worker:
    """A worker of Temporal's least entity (bench/floor.py) instead of partnerflow's."""
    from bench.floor import FLOOR_TASK_QUEUE, FloorEntity, noop

    return Worker(
        client,
        task_queue=FLOOR_TASK_QUEUE,
        workflows=[FloorEntity],
        activities=[noop],
        activity_executor=executor,
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules("bench")
        ),
        max_cached_workflows=max_cached,
    )


def write_allocations(output: Path) -> None:
    """The live Python allocations by file and line, largest first, as JSON (renamed into
    place once complete)."""
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__)]
    )
    by_line = snapshot.statistics("lineno")
    by_file = snapshot.statistics("filename")
    traced, peak = tracemalloc.get_traced_memory()
    body = {
        "traced": traced,
        "peak": peak,
        "lines": [
            {
                "where": f"{s.traceback[0].filename}:{s.traceback[0].lineno}",
                "size": s.size,
                "count": s.count,
            }
            for s in by_line[:TRACE_TOP]
        ],
        "files": [
            {"where": s.traceback[0].filename, "size": s.size, "count": s.count}
            for s in by_file[:TRACE_TOP]
        ],
    }
    partial = output.with_suffix(".partial")
    partial.write_text(json.dumps(body))
    partial.replace(output)


async def serve(args: argparse.Namespace) -> None:
    runtime = (
        Runtime(
            telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=args.metrics_address))
        )
        if args.metrics_address
        else None
    )
    client = await connect(args.temporal, runtime=runtime)
    db = open_database(args.database)
    executor = ThreadPoolExecutor(max_workers=ACTIVITY_THREADS, thread_name_prefix="activity")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if args.tracemalloc:
        output: Path = args.tracemalloc
        loop.add_signal_handler(signal.SIGUSR1, lambda: write_allocations(output))
    try:
        worker = (
            floor_worker(client, executor, args.max_cached)
            if args.runner == "floor"
            else build_worker(
                client,
                db,
                task_queue=args.task_queue,
                executor=executor,
                max_cached_workflows=args.max_cached,
            )
        )
        async with worker:
            print("ready", flush=True)
            await stop.wait()
    finally:
        executor.shutdown(wait=True)
        db.engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database", required=True, help="the program database URL")
    parser.add_argument("--temporal", required=True, help="the Temporal frontend, HOST:PORT")
    parser.add_argument("--task-queue", default=TASK_QUEUE)
    parser.add_argument("--max-cached", type=int, required=True, help="max_cached_workflows")
    parser.add_argument("--metrics-address", help="serve the SDK's Prometheus metrics here")
    parser.add_argument("--tracemalloc", type=Path, help="trace allocations; SIGUSR1 writes them")
    parser.add_argument("--runner", choices=RUNNERS, default="product")
    args = parser.parse_args(argv)
    use_runner(args.runner)
    if args.tracemalloc:
        tracemalloc.start()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
