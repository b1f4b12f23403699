"""Writes keyed by an idempotency key: a retried activity finds its row and writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from models.database import Database


class Keyed(Protocol):
    idempotency_key: str


def already_recorded(session: Session, model: type[Keyed], key: str) -> bool:
    """Whether a row of `model` (a table with a unique `idempotency_key`) has this key."""
    key_column: InstrumentedAttribute[str] = model.idempotency_key  # type: ignore[assignment]
    return session.scalar(select(key_column).where(key_column == key)) is not None


def insert_once(db: Database, row: Keyed, also: Callable[[Session], None] | None = None) -> bool:
    """Insert `row` (and run `also`) in one transaction unless its key is already there.

    `row` is a mapped instance of a table with a unique `idempotency_key` column.
    """
    try:
        with db.transaction() as session:
            if already_recorded(session, type(row), row.idempotency_key):
                return False
            session.add(row)
            if also is not None:
                also(session)
    except IntegrityError:
        return False  # a concurrent attempt of this activity won
    return True
