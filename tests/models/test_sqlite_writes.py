"""SQLite's writers queued in order: each write transaction takes a turn and gives it back."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, Table, select, text, update
from sqlalchemy.exc import OperationalError

from models.database import make_engine
from models.sqlite_writes import WriteTurns, turns_for

pytestmark = pytest.mark.real_clock  # waits with timeouts, on the real clock


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    made = make_engine(f"sqlite:///{tmp_path / 'writes.db'}", busy_timeout=0.3)
    with made.begin() as connection:
        connection.execute(text("CREATE TABLE items (n INTEGER)"))
    yield made
    made.dispose()


def run_in_threads(work: list[Callable[[], None]]) -> list[BaseException]:
    """Run each function in a thread of its own, all at once; what they raised."""
    failures: list[BaseException] = []

    def run(function: Callable[[], None]) -> None:
        try:
            function()
        except BaseException as error:  # a thread's failure would otherwise vanish
            failures.append(error)

    threads = [threading.Thread(target=run, args=(function,)) for function in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


def test_waiters_are_served_in_the_order_they_came() -> None:
    turns = WriteTurns()
    assert turns.take(timeout=0)
    served: list[int] = []
    threads = []
    for number in range(5):

        def wait(number: int = number) -> None:
            assert turns.take(timeout=30)
            served.append(number)
            turns.give_back()

        thread = threading.Thread(target=wait)
        thread.start()
        while turns.waiting < number + 1:  # start the next one once this one is in the queue
            threading.Event().wait(0.001)
        threads.append(thread)
    turns.give_back()
    for thread in threads:
        thread.join()
    assert served == [0, 1, 2, 3, 4]


def test_a_turn_not_given_in_time_is_refused_and_leaves_the_queue() -> None:
    turns = WriteTurns()
    assert turns.take(timeout=0)
    assert not turns.take(timeout=0.01)
    turns.give_back()
    assert turns.take(timeout=0)


def test_one_queue_per_file_for_every_engine(tmp_path: Path) -> None:
    assert turns_for(str(tmp_path / "a.db")) is turns_for(str(tmp_path / "x" / ".." / "a.db"))
    assert turns_for(str(tmp_path / "a.db")) is not turns_for(str(tmp_path / "b.db"))


def test_a_commit_gives_the_turn_back_while_the_connection_stays_open(engine: Engine) -> None:
    with engine.connect() as first:
        first.execute(text("INSERT INTO items VALUES (1)"))
        first.commit()
        with engine.begin() as second:  # would wait in vain if the turn were still held
            second.execute(text("INSERT INTO items VALUES (2)"))
        first.execute(text("INSERT INTO items VALUES (3)"))
        first.rollback()
    with engine.connect() as reader:
        assert reader.execute(text("SELECT n FROM items ORDER BY n")).scalars().all() == [1, 2]


def test_a_writer_that_waits_longer_than_the_busy_timeout_fails_as_locked(engine: Engine) -> None:
    with engine.connect() as holder:
        holder.execute(text("INSERT INTO items VALUES (1)"))
        with engine.connect() as late, pytest.raises(OperationalError, match="database is locked"):
            late.execute(text("INSERT INTO items VALUES (2)"))
        holder.commit()
    with engine.begin() as after:  # the refused writer left the queue; the turn is free
        after.execute(text("INSERT INTO items VALUES (3)"))
    with engine.connect() as reader:
        assert reader.execute(text("SELECT n FROM items ORDER BY n")).scalars().all() == [1, 3]


def test_reads_take_no_turn(engine: Engine) -> None:
    with engine.connect() as writer:
        writer.execute(text("INSERT INTO items VALUES (1)"))
        with engine.connect() as reader:
            assert reader.execute(text("SELECT count(*) FROM items")).scalar_one() == 0
        writer.commit()


def test_a_read_for_update_holds_the_write_lock_until_the_transaction_ends(
    engine: Engine,
) -> None:
    """SQLite drops FOR UPDATE from the statement; the read takes the write lock instead, so
    no other writer can change what was read before this transaction writes or ends."""
    items = Table("items", MetaData(), Column("n", Integer))
    with engine.connect() as holder:
        holder.execute(text("INSERT INTO items VALUES (1)"))
        holder.commit()
        assert holder.execute(select(items.c.n).with_for_update()).scalars().all() == [1]
        with engine.connect() as late, pytest.raises(OperationalError, match="database is locked"):
            late.execute(text("INSERT INTO items VALUES (2)"))
        holder.execute(update(items).values(n=items.c.n + 1))
        holder.commit()
    with engine.begin() as after:
        after.execute(text("INSERT INTO items VALUES (3)"))
    with engine.connect() as reader:
        assert reader.execute(text("SELECT n FROM items ORDER BY n")).scalars().all() == [2, 3]


def test_read_for_update_then_write_loses_no_change(tmp_path: Path) -> None:
    """Ten threads each add one to a counter, read FOR UPDATE and written a moment later."""
    engine = make_engine(f"sqlite:///{tmp_path / 'counter.db'}", busy_timeout=60)
    counter = Table("counter", MetaData(), Column("n", Integer))
    with engine.begin() as connection:
        counter.create(connection)
        connection.execute(counter.insert().values(n=0))

    def add_one() -> None:
        with engine.begin() as connection:
            n = connection.execute(select(counter.c.n).with_for_update()).scalar_one()
            threading.Event().wait(0.01)  # another reader would read the same n here
            connection.execute(update(counter).values(n=n + 1))

    assert run_in_threads([add_one] * 10) == []
    with engine.connect() as reader:
        assert reader.execute(select(counter.c.n)).scalar_one() == 10
    engine.dispose()


def test_many_threads_write_every_row_once(tmp_path: Path) -> None:
    # A busy timeout no loaded machine reaches: this is about order and loss, not waiting.
    engine = make_engine(f"sqlite:///{tmp_path / 'many.db'}", busy_timeout=60)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE items (n INTEGER)"))

    def write(start: int) -> None:
        for n in range(start, start + 20):
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO items VALUES (:n)"), {"n": n})

    assert run_in_threads([partial(write, start) for start in range(0, 200, 20)]) == []
    with engine.connect() as reader:
        assert reader.execute(text("SELECT n FROM items ORDER BY n")).scalars().all() == list(
            range(200)
        )
    engine.dispose()
