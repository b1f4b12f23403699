"""What one cached partner workflow holds: the modules its sandbox imports, its Python heap.

    .venv/bin/python -m bench.sandbox_probe [--partners 100]

A companion of bench/worker_memory.py, in one process: a Temporal dev server, a
fresh SQLite database (bench/worker_memory.py's seed), and a worker
(`build_worker`) whose SDK sandbox importer is watched. One enrollment first,
then it prints which modules that partner's sandbox holds that are not the
worker's own (imported again for this one run); then, with tracemalloc on,
N more enrollments one at a time, and the live Python allocations they added,
per workflow, by file and by line. Nothing is written to bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tempfile
import tracemalloc
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from temporalio.worker.workflow_sandbox import _importer

from bench.environment import dev_server
from bench.worker_memory import PROVIDER, seed, team, welcomes_sent
from clients.partners import PartnerPrograms
from models.database import Database
from models.partner import EnrollmentRequest
from models.program import Tier
from store.database import open_database
from workers.wiring import build_worker

PARTNER_MODULE = "workflows.partner_lifecycle.workflow"
TOP = 15

_importers: list[weakref.ref[Any]] = []
_original_init = _importer.Importer.__init__


def _watched_init(self: Any, *args: Any, **kwargs: Any) -> None:
    _original_init(self, *args, **kwargs)
    _importers.append(weakref.ref(self))


def watch_importers() -> None:
    """Keep a weak reference to every sandbox importer (one per workflow run)."""
    setattr(_importer.Importer, "__init__", _watched_init)  # noqa: B010


def partner_importers() -> list[Any]:
    alive = (ref() for ref in _importers)
    return [imp for imp in alive if imp is not None and PARTNER_MODULE in imp.new_modules]


async def welcomed(db: Database, count: int) -> None:
    while await asyncio.to_thread(welcomes_sent, db) < count:
        await asyncio.sleep(0.2)
    await asyncio.sleep(1)


def print_growth(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, n: int) -> None:
    repo = str(Path(__file__).resolve().parents[1]) + "/"
    for key in ("filename", "lineno"):
        stats = after.compare_to(before, key)
        total = sum(s.size_diff for s in stats)
        print(
            f"\nPython heap added by {n} partner workflows: {total / 1024**2:.1f} MiB, "
            f"{total / n / 1024:.0f} KiB each; the largest by {key}:"
        )
        for stat in stats[:TOP]:
            frame = stat.traceback[0]
            where = frame.filename.replace(repo, "") + (
                f":{frame.lineno}" if key == "lineno" else ""
            )
            print(
                f"{stat.size_diff / n / 1024:8.1f} KiB {stat.count_diff / n:6.0f} blocks  {where}"
            )


async def probe(partners: int) -> None:
    watch_importers()
    request = EnrollmentRequest(tier=Tier.SILVER, requested_by="bench")
    with tempfile.TemporaryDirectory(prefix="partnerflow-bench-probe-") as tmp:
        db = open_database(f"sqlite:///{Path(tmp) / 'partnerflow.db'}", upgrade=True)
        try:
            seed(db, partners + 1)
            async with (
                dev_server() as env,
                build_worker(env.client, db, max_cached_workflows=partners + 100),
            ):
                programs = PartnerPrograms(env.client)
                await programs.enroll(PROVIDER, team(partners), request)
                await welcomed(db, 1)
                one = partner_importers()[-1]
                own = sorted(
                    name
                    for name, module in one.new_modules.items()
                    if sys.modules.get(name) is not module
                )
                print(
                    f"one partner workflow's sandbox: {len(one.new_modules)} modules, "
                    f"{len(own)} of them its own (not the worker's): {', '.join(own)}"
                )
                gc.collect()
                tracemalloc.start()
                before = tracemalloc.take_snapshot()
                for i in range(partners):
                    await programs.enroll(PROVIDER, team(i), request)
                await welcomed(db, partners + 1)
                gc.collect()
                after = tracemalloc.take_snapshot()
                tracemalloc.stop()
                print(f"partner sandboxes alive: {len(partner_importers())}")
                print_growth(before, after, partners)
        finally:
            db.engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--partners", type=int, default=100)
    options = parser.parse_args(argv)
    asyncio.run(probe(options.partners))
    return 0


if __name__ == "__main__":
    sys.exit(main())
