"""SQLite's one write lock, handed from writer to writer in the order they came.

SQLite lets one connection write at a time. A connection that finds the lock taken
waits in SQLite's busy handler, which sleeps and tries again at growing intervals
(1, 2, 5, ... up to 100 ms): the lock stays idle while its waiters sleep, and
whoever tries at the right moment takes it, not whoever came first. In the local
stack, where the worker's activity threads and the API's threads write to one file
from one process, a write under load waited up to seconds behind writers that came
after it.

So each engine on a file database takes a turn in a FIFO queue, kept per file for
the whole process, before its transaction's first INSERT, UPDATE or DELETE (where
SQLite would take its lock), and gives the turn back when the transaction commits
or rolls back, or at the latest when the connection returns to the pool. The next
writer is woken at once. SQLite's own lock still guards the file: another process
(a CLI command, a second worker) is waited for by the busy handler as before, and
a turn not given within the busy timeout fails as SQLite would, "database is
locked".

Plain reads take no turn. A read FOR UPDATE, which SQLite would run without any lock,
takes the turn and SQLite's write lock at once (BEGIN IMMEDIATE): what the transaction
reads next cannot change under it until it ends, as a row lock guarantees on PostgreSQL.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections import deque
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

_WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)
"""The statements before which pysqlite begins a transaction, and SQLite takes its lock."""
_TURN = "partnerflow_write_turn"
"""The connection's `info` key saying that it holds the turn."""


class WriteTurns:
    """One holder at a time; waiters are served first come, first served."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._held = False
        self._waiting: deque[threading.Lock] = deque()

    @property
    def waiting(self) -> int:
        """Writers waiting for the turn now."""
        with self._guard:
            return len(self._waiting)

    def take(self, timeout: float) -> bool:
        """Wait at most `timeout` seconds for the turn; whether it was had."""
        with self._guard:
            if not self._held:
                self._held = True
                return True
            turn = threading.Lock()
            turn.acquire()
            self._waiting.append(turn)
        if turn.acquire(timeout=max(timeout, 0.0)):
            return True  # handed over by `give_back`, still held
        with self._guard:
            try:
                self._waiting.remove(turn)
            except ValueError:
                return True  # handed over just as the wait ended: it is this writer's now
        return False

    def give_back(self) -> None:
        """Hand the turn to the writer that has waited longest, or free it."""
        with self._guard:
            if self._waiting:
                self._waiting.popleft().release()
            else:
                self._held = False


_BY_FILE: dict[str, WriteTurns] = {}
_BY_FILE_GUARD = threading.Lock()


def turns_for(path: str) -> WriteTurns:
    """The queue of the database file at `path`, shared by every engine of this process."""
    key = str(Path(path).resolve())
    with _BY_FILE_GUARD:
        return _BY_FILE.setdefault(key, WriteTurns())


def queue_writers(engine: Engine, turns: WriteTurns, timeout: float) -> None:
    """Make `engine`'s transactions take a turn before their first write (see the module)."""

    def _take(conn: Any) -> None:
        if not turns.take(timeout):
            raise sqlite3.OperationalError("database is locked")
        conn.info[_TURN] = True

    @event.listens_for(engine, "before_cursor_execute")
    def _take_turn(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if conn.info.get(_TURN) or not _WRITE.match(statement):
            return
        _take(conn)

    @event.listens_for(engine, "before_execute")
    def _lock_for_update(conn: Any, statement: Any, *_: Any) -> None:
        if conn.info.get(_TURN) or getattr(statement, "_for_update_arg", None) is None:
            return
        _take(conn)
        dbapi_connection = conn.connection.dbapi_connection
        if not dbapi_connection.in_transaction:
            dbapi_connection.execute("BEGIN IMMEDIATE")

    def _give_back(info: dict[Any, Any]) -> None:
        if info.pop(_TURN, False):
            turns.give_back()

    # A commit or rollback ends the write transaction; SQLite frees its lock a moment later,
    # which the next writer's busy handler covers. The pool's events are the safety net for a
    # connection given back or discarded with its transaction still open.
    event.listen(engine, "commit", lambda conn: _give_back(conn.info))
    event.listen(engine, "rollback", lambda conn: _give_back(conn.info))
    event.listen(engine.pool, "checkin", lambda _dbapi, record: _give_back(record.info))
    event.listen(engine.pool, "invalidate", lambda _dbapi, record, _e: _give_back(record.info))
