"""Outbox rows put in place in bulk, each idempotency key at most once: shared by every message
sent to many partners at once (announcements, newsletters)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models.schema import Notification

RECORD_CHUNK = 500
"""Recipients rendered and inserted per statement."""

T = TypeVar("T")


def insert_absent(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert the outbox rows whose key is not there yet, in one statement."""
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(Notification).on_conflict_do_nothing(
        index_elements=[Notification.idempotency_key]
    )
    session.execute(statement, rows)


def chunks(items: Sequence[T], size: int = RECORD_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
