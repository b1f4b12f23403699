"""Connecting to the program database: SQLite by default, PostgreSQL through psycopg 3."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from models.sqlite_writes import queue_writers, turns_for


def normalize_url(url: str) -> str:
    """Route PostgreSQL URLs through psycopg 3, whatever driver they name."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


SQLITE_BUSY_TIMEOUT = 30.0
"""Seconds an SQLite write waits for another's write lock before it fails as locked."""
POOL_TIMEOUT = 5.0
"""Seconds a request waits for a pooled connection before it fails (a 503 in the API)."""
CONNECT_TIMEOUT = 5
"""Seconds a PostgreSQL connection attempt may take: an outage fails fast, not after minutes."""
SQLITE_POOL_SIZE = 32
"""SQLite connections kept open: one for each of the worker's activity threads. A connection to
a file costs no server anything, and the pool's default five (plus ten opened and closed again)
made the local stack's threads queue for one, or open one, schema read and all, per request."""
SQLITE_MAX_OVERFLOW = 48
"""Connections opened beyond those when more threads need one at once (the API's thread pool
has 40): with the kept ones, every thread that may touch the database can have one."""


def make_engine(url: str, *, busy_timeout: float = SQLITE_BUSY_TIMEOUT, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout, enforced foreign keys, a pool for
    every thread and, on a file, its writers queued in order (models/sqlite_writes.py).

    Errors never carry the statement's parameters (orders, contacts, secrets): a failure
    logs and reports the statement and the driver's message alone.
    """
    url = normalize_url(url)
    kwargs.setdefault("hide_parameters", True)
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(
            url,
            pool_pre_ping=True,
            pool_timeout=POOL_TIMEOUT,
            connect_args={"connect_timeout": CONNECT_TIMEOUT},
            **kwargs,
        )
    database = make_url(url).database
    on_file = bool(database) and database != ":memory:" and not str(database).startswith("file:")
    if on_file and "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", SQLITE_POOL_SIZE)
        kwargs.setdefault("max_overflow", SQLITE_MAX_OVERFLOW)
    engine = create_engine(url, connect_args={"timeout": busy_timeout}, **kwargs)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cursor.close()

    if on_file:
        queue_writers(engine, turns_for(str(database)), busy_timeout)
    return engine


class Database:
    """The engine and a session factory, shared by the activities of one worker."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str) -> Database:
        return cls(make_engine(url))

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits together at the end, or not at all."""
        with self._sessions.begin() as session:
            yield session
