"""The orders service on the database directly: what the API cannot show, such as two
requests on one order at the same moment."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import TypeAdapter

from devstack.demo_data import add_offer, add_provider, add_reseller
from models.database import Database
from models.orders import AnyOrderEvent, BatchResult, EventResult, OrderItem, OrderStatus, Outcome
from models.schema import ORDER_STATUSES, Order
from services.orders import apply_event, upsert_orders

PROVIDER = "acme"
OTHER = "globex"
OFFER = "acme-fiber"
TEAM = "team-one"
T0 = datetime(2026, 10, 1, tzinfo=UTC)
events = TypeAdapter[AnyOrderEvent](AnyOrderEvent)


def pending(item_id: str, offer_id: str = OFFER) -> OrderItem:
    return OrderItem(
        item_id=item_id,
        offer_id=offer_id,
        reseller_team_id=TEAM,
        service_address={"zip_code": "98101"},
        monthly_price=60,
        status=OrderStatus.PENDING,
        created_at=T0,
    )


@pytest.fixture
def seeded(db: Database) -> Database:
    with db.transaction() as session:
        add_provider(session, PROVIDER, "Acme")
        add_provider(session, OTHER, "Globex")
        add_reseller(session, TEAM)
        session.flush()
        add_offer(session, PROVIDER, OFFER)
        add_offer(session, OTHER, f"{OTHER}-fiber")
        upsert_orders(session, PROVIDER, [pending("o-1")])
    return db


def status_change(event_id: str, previous: str, new: str, hours: int) -> AnyOrderEvent:
    return events.validate_python(
        {
            "type": "order.status_changed",
            "eventId": event_id,
            "itemId": "o-1",
            "previousStatus": previous,
            "newStatus": new,
            "occurredAt": T0 + timedelta(hours=hours),
        }
    )


def test_the_statuses_are_the_schemas():
    assert tuple(OrderStatus) == ORDER_STATUSES


def test_batch_counts_add_up():
    total = BatchResult(received=2, created=2) + BatchResult(received=3, updated=1, stale=2)
    assert total == BatchResult(received=5, created=2, updated=1, unchanged=0, stale=2)


def test_concurrent_events_on_one_order_apply_one_after_the_other(seeded: Database):
    """The accepting event holds the order; the older rejection, sent meanwhile, waits for it
    and then finds itself stale, instead of overwriting the acceptance it never saw."""
    if seeded.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: there is no row lock to test")
    accept = status_change("ev-accept", "pending", "accepted", hours=2)
    reject = status_change("ev-reject", "pending", "rejected", hours=1)
    started = threading.Event()

    def send_rejection() -> EventResult:
        with seeded.transaction() as session:
            started.set()
            return apply_event(session, PROVIDER, reject)

    with ThreadPoolExecutor(1) as pool:
        with seeded.transaction() as session:
            assert apply_event(session, PROVIDER, accept).outcome is Outcome.UPDATED
            rejection = pool.submit(send_rejection)
            started.wait(5)
            with pytest.raises(TimeoutError):
                rejection.result(timeout=0.5)  # waiting for the accepting transaction
        assert rejection.result(timeout=10).outcome is Outcome.STALE
    with seeded.transaction() as session:
        order = session.get_one(Order, (PROVIDER, "o-1"))
        assert (order.status, order.accepted_at) == ("accepted", T0 + timedelta(hours=2))


def test_another_provider_stores_the_same_item_id_as_its_own(seeded: Database):
    with seeded.transaction() as session:
        counts = upsert_orders(session, OTHER, [pending("o-1", f"{OTHER}-fiber")])
        assert counts.created == 1
        moved = apply_event(session, OTHER, status_change("ev-1", "pending", "rejected", hours=1))
        assert moved.status is OrderStatus.REJECTED
    with seeded.transaction() as session:
        mine, theirs = (session.get_one(Order, (p, "o-1")) for p in (PROVIDER, OTHER))
        assert (mine.status, mine.offer_id) == ("pending", OFFER)
        assert (theirs.status, theirs.offer_id) == ("rejected", f"{OTHER}-fiber")


def test_an_order_held_by_one_provider_never_holds_up_another(seeded: Database):
    """acme's transaction holds its o-1; globex's o-1 is another row, written at once: no wait
    tells globex that acme has that item."""
    if seeded.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: there is no row lock to test")

    def their_batch() -> BatchResult:
        with seeded.transaction() as session:
            return upsert_orders(session, OTHER, [pending("o-1", f"{OTHER}-fiber")])

    with ThreadPoolExecutor(1) as pool:
        with seeded.transaction() as session:
            accept = status_change("ev-accept", "pending", "accepted", hours=2)
            assert apply_event(session, PROVIDER, accept).outcome is Outcome.UPDATED
            assert pool.submit(their_batch).result(timeout=5).created == 1
