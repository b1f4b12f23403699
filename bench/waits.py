"""Where the stack process waits: the database's pool and write lock, and the event loop.

bench/stack.py measures these in the process under test, and a load generator
reads them over HTTP (`POST /_bench/waits/start`, then `/stop` for the figures
since). Each transaction is charged to the kind of thread that ran it (the event
loop, the API's thread pool, the worker's activity threads), and split into the
wait for a pooled connection (from the session's first query or flush to the
pool's checkout), the wait for SQLite's write lock (its first INSERT, UPDATE or
DELETE, which takes the lock), how long it then held the lock (until its commit
ended) and the commit itself. The event
loop's lag is sampled every 10 ms (how late a 10 ms sleep wakes: the time the
loop was busy with something else), with how many of the pool's connections
were checked out.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from bench.figures import percentile
from bench.sampler import thread_group

LOOP_INTERVAL = 0.01
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _is_write(statement: str) -> bool:
    return statement.lstrip().upper().startswith(WRITES)


@dataclass
class _Open:
    """One transaction in progress on this thread."""

    started: float
    requested: float | None = None
    checked_out: float | None = None
    write_started: float | None = None
    write_ended: float | None = None
    commit_started: float | None = None


@dataclass
class _Figures:
    transactions: list[float] = field(default_factory=list)
    pool_waits: list[float] = field(default_factory=list)
    lock_waits: list[float] = field(default_factory=list)
    holds: list[float] = field(default_factory=list)
    commits: list[float] = field(default_factory=list)


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "count": len(values),
        "p50": percentile(values, 50),
        "p99": percentile(values, 99),
        "max": max(values, default=float("nan")),
        "sum": sum(values),
    }


class DatabaseWaits:
    """Transactions of one engine, by thread kind: pool wait, lock wait, lock hold, commit."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._local = threading.local()
        self._guard = threading.Lock()
        self._figures: defaultdict[str, _Figures] = defaultdict(_Figures)
        self.connections_opened = 0
        event.listen(engine.pool, "connect", self._connected)
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        event.listen(engine, "commit", self._commit)
        event.listen(engine.pool, "checkout", self._checkout)
        # A session asks for its connection at its first query or flush (every session of
        # the process: the stack has one engine).
        event.listen(Session, "do_orm_execute", self._request)
        event.listen(Session, "before_flush", self._request)

    def reset(self) -> None:
        with self._guard:
            self._figures = defaultdict(_Figures)
            self.connections_opened = 0

    def _connected(self, *_: Any) -> None:
        with self._guard:
            self.connections_opened += 1

    def _open(self) -> _Open | None:
        found: _Open | None = getattr(self._local, "open", None)
        return found

    def _request(self, *_: Any) -> None:
        current = self._open()
        if current is not None and current.requested is None:
            current.requested = time.perf_counter()

    def _checkout(self, *_: Any) -> None:
        current = self._open()
        if current is not None and current.checked_out is None:
            current.checked_out = time.perf_counter()

    def _commit(self, *_: Any) -> None:
        current = self._open()
        if current is not None:
            current.commit_started = time.perf_counter()

    def _before(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        current = self._open()
        if current is not None and current.write_started is None and _is_write(statement):
            current.write_started = time.perf_counter()

    def _after(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        # The first write's own time: on SQLite it waits here for the write lock.
        current = self._open()
        if current is not None and current.write_started is not None:
            if current.write_ended is None and _is_write(statement):
                current.write_ended = time.perf_counter()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Around one `Database.transaction()`."""
        outer = self._open()
        self._local.open = _Open(time.perf_counter())
        try:
            yield
        finally:
            current = self._open()
            self._local.open = outer
            if current is not None:
                self._record(current, time.perf_counter())

    def _record(self, current: _Open, ended: float) -> None:
        with self._guard:
            figures = self._figures[thread_group(threading.current_thread().name)]
            figures.transactions.append(ended - current.started)
            if current.requested is not None and current.checked_out is not None:
                figures.pool_waits.append(max(current.checked_out - current.requested, 0.0))
            if current.write_ended is not None and current.write_started is not None:
                figures.lock_waits.append(current.write_ended - current.write_started)
                figures.holds.append(ended - current.write_ended)
            if current.commit_started is not None:
                figures.commits.append(ended - current.commit_started)

    def figures(self) -> dict[str, dict[str, dict[str, float]]]:
        """By thread kind, then part: count, p50, p99, max and sum of the seconds."""
        with self._guard:
            return {
                kind: {
                    "transactions": _summary(f.transactions),
                    "pool wait": _summary(f.pool_waits),
                    "write lock wait": _summary(f.lock_waits),
                    "write lock held": _summary(f.holds),
                    "commit": _summary(f.commits),
                }
                for kind, f in sorted(self._figures.items())
            }


class LoopWatch:
    """The event loop's lag and the pool's checked-out connections, sampled every 10 ms."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.lags: list[float] = []
        self.checked_out: list[int] = []
        self._task: asyncio.Task[None] | None = None
        self._began = (time.perf_counter(), time.thread_time())

    def start(self) -> None:
        """On the event loop's thread, as `figures`: its CPU time is measured in between."""
        self.lags, self.checked_out = [], []
        self._began = (time.perf_counter(), time.thread_time())
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        pool: Any = self.engine.pool
        while True:
            before = time.perf_counter()
            await asyncio.sleep(LOOP_INTERVAL)
            self.lags.append(max(time.perf_counter() - before - LOOP_INTERVAL, 0.0))
            if hasattr(pool, "checkedout"):
                self.checked_out.append(pool.checkedout())

    def figures(self) -> dict[str, Any]:
        pool: Any = self.engine.pool
        limit = pool.size() + max(getattr(pool, "_max_overflow", 0), 0)
        at_limit = sum(1 for n in self.checked_out if n >= limit)
        wall, cpu = self._began
        return {
            "loop thread busy": (time.thread_time() - cpu) / max(time.perf_counter() - wall, 1e-9),
            "lag": _summary(self.lags),
            "lag over 100 ms": sum(lag for lag in self.lags if lag > 0.1),
            "pool limit": limit,
            "pool max checked out": max(self.checked_out, default=0),
            "pool share at limit": at_limit / len(self.checked_out) if self.checked_out else 0.0,
        }


class StackWaits:
    """Both, for one engine: started and read over HTTP by the load generator."""

    def __init__(self, engine: Engine) -> None:
        self.database = DatabaseWaits(engine)
        self.loop = LoopWatch(engine)

    def start(self) -> None:
        self.database.reset()
        self.loop.start()

    def figures(self) -> dict[str, Any]:
        return {
            "database": self.database.figures(),
            "connections opened": self.database.connections_opened,
            "loop": self.loop.figures(),
        }
