"""Orders coming in from the marketplace: batches, webhook events and customer feedback.

Order items follow the marketplace's own model (an offer, a reseller, a service
address, a monthly price and one of the ten statuses). They arrive three ways,
all of which end here:

- a batch (the API's `POST /provider/orders`, and `partnerflow orders import`):
  checked as a whole first, so a batch with one bad item writes nothing;
- one webhook event at a time: each event ID is applied once, a replay changes nothing;
- a customer rating for an item, which the marketplace's orders do not carry.

Item IDs are each provider's own: (provider, itemId) names an order, so two providers may
use the same itemId, and neither learns anything of the other's items.

`Order.updated_at` holds the marketplace's time of the latest change applied to
the item (its `updatedAt`, or an event's `occurredAt`), not the time this
database was written: it is what tells a late, stale event from a fresh one.
So it is always written explicitly, never left to the column's `onupdate`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from models.orders import (
    ACCEPTED_STATUSES,
    AnyOrderEvent,
    BatchResult,
    EventResult,
    Feedback,
    FeedbackResult,
    ItemProblems,
    OrderCreated,
    OrderItem,
    OrderStatus,
    OrderStatusChanged,
    OrderView,
    Outcome,
    ServiceAddress,
    refusal,
)
from models.schema import Offer, Order, Reseller
from models.schema import OrderEvent as AppliedEvent
from models.wire import Page
from services.errors import ConflictError, InputError, NotFoundError


def _write_time(order: Order, at: datetime) -> None:
    """Advance the order's marketplace time to `at` and make sure the UPDATE carries it, so that
    the column's onupdate=utcnow never stands in for it."""
    order.updated_at = max(order.updated_at, at)
    flag_modified(order, "updated_at")


def _load(session: Session, provider_id: str, item_ids: Sequence[str]) -> dict[str, Order]:
    """The provider's stored orders with these item IDs: one query.

    The rows stay locked until the transaction ends (PostgreSQL), so that two requests
    changing the same orders apply one after the other, each to what the other left.
    """
    if not item_ids:
        return {}
    query = (
        select(Order)
        .where(Order.provider_id == provider_id, Order.id.in_(set(item_ids)))
        .with_for_update()
    )
    return {order.id: order for order in session.scalars(query)}


def _check(session: Session, provider_id: str, items: Sequence[OrderItem]) -> list[ItemProblems]:
    """What the database says is wrong with each item: one query for offers, one for resellers."""
    offers = set(
        session.scalars(
            select(Offer.id).where(
                Offer.provider_id == provider_id, Offer.id.in_({i.offer_id for i in items})
            )
        )
    )
    resellers = set(
        session.scalars(
            select(Reseller.team_id).where(
                Reseller.team_id.in_({i.reseller_team_id for i in items})
            )
        )
    )
    first_seen: dict[str, int] = {}
    found = []
    for index, item in enumerate(items):
        problems = []
        if item.item_id in first_seen:
            problems.append(f"itemId {item.item_id} repeats orders[{first_seen[item.item_id]}]")
        first_seen.setdefault(item.item_id, index)
        if item.offer_id not in offers:
            problems.append(f"provider {provider_id} has no offer {item.offer_id!r}")
        if item.reseller_team_id not in resellers:
            problems.append(f"unknown reseller {item.reseller_team_id!r}")
        if problems:
            found.append(ItemProblems(index, item.item_id, problems))
    return found


def _put(
    session: Session, provider_id: str, item: OrderItem, order: Order | None
) -> tuple[Outcome, Order]:
    """Create the order, or bring the stored one up to the item unless the item is older."""
    values: dict[str, Any] = {
        "offer_id": item.offer_id,
        "reseller_team_id": item.reseller_team_id,
        "zip_code": item.service_address.zip_code,
        "monthly_price": item.monthly_price,
        "status": item.status.value,
        "created_at": item.created_at,
        # A time the item gives beats one already stored, which beats the createdAt stand-in.
        "accepted_at": item.accepted_at
        or (order.accepted_at if order else None)
        or item.accepted_time,
    }
    if order is None:
        order = Order(
            id=item.item_id, provider_id=provider_id, updated_at=item.observed_at, **values
        )
        session.add(order)
        return Outcome.CREATED, order
    if item.observed_at < order.updated_at:
        return Outcome.STALE, order
    changed = {name: value for name, value in values.items() if getattr(order, name) != value}
    if not changed:
        return Outcome.UNCHANGED, order
    for name, value in changed.items():
        setattr(order, name, value)
    _write_time(order, item.observed_at)
    return Outcome.UPDATED, order


def _flush(session: Session) -> None:
    try:
        session.flush()
    except IntegrityError as error:
        raise ConflictError(
            "another request stored some of the same order items or events at the same moment: "
            "send this one again"
        ) from error


def upsert_orders(session: Session, provider_id: str, items: Sequence[OrderItem]) -> BatchResult:
    """Create or update a batch of the provider's order items, all of them or none.

    Every item must name one of the provider's offers and a known reseller, and
    an itemId may appear once; else InputError lists each bad item and nothing
    is written. Sending the same items again changes nothing.
    """
    stored = _load(session, provider_id, [item.item_id for item in items])
    problems = _check(session, provider_id, items)
    if problems:
        raise InputError(refusal(problems, len(items)))
    outcomes = [_put(session, provider_id, item, stored.get(item.item_id))[0] for item in items]
    _flush(session)
    return BatchResult(
        received=len(items),
        created=outcomes.count(Outcome.CREATED),
        updated=outcomes.count(Outcome.UPDATED),
        unchanged=outcomes.count(Outcome.UNCHANGED),
        stale=outcomes.count(Outcome.STALE),
    )


def _own_order(session: Session, provider_id: str, item_id: str) -> Order:
    """The provider's order item, locked like `_load`'s."""
    order = session.get(Order, (provider_id, item_id), with_for_update=True)
    if order is None:
        raise NotFoundError(f"provider {provider_id} has no order item {item_id!r}")
    return order


def _move(order: Order, status: OrderStatus, at: datetime, previous: OrderStatus | None) -> Outcome:
    """Move the order to `status` as of `at`, unless the event is stale.

    An event is stale when it is older than the order's stored state and, for a
    status change, its previousStatus is not the stored status either: the
    order has already moved past it. A status change whose previousStatus does
    not match but that is newer than the stored state is applied: the
    marketplace's events in between were lost or are still on their way, and
    will be stale when they come.
    """
    fresh = at >= order.updated_at or (previous is not None and previous.value == order.status)
    if not fresh:
        return Outcome.STALE
    if order.status == status.value:
        return Outcome.UNCHANGED
    order.status = status.value
    if status in ACCEPTED_STATUSES and order.accepted_at is None:
        order.accepted_at = at
    _write_time(order, at)
    return Outcome.UPDATED


def _replay(session: Session, provider_id: str, event: AnyOrderEvent) -> EventResult | None:
    """The answer to an event already applied, or None for a new one."""
    seen = session.get(AppliedEvent, (provider_id, event.event_id))
    if seen is None:
        return None
    if (seen.event_type, seen.order_id) != (event.type, event.item_id):
        raise ConflictError(
            f"eventId {event.event_id} was already used for {seen.event_type} of itemId "
            f"{seen.order_id}"
        )
    order = session.get(Order, (provider_id, seen.order_id))
    return EventResult(
        event_id=event.event_id,
        item_id=event.item_id,
        applied=False,
        outcome=Outcome.DUPLICATE,
        status=OrderStatus(order.status) if order else None,
    )


def apply_event(session: Session, provider_id: str, event: AnyOrderEvent) -> EventResult:
    """Apply one webhook event of the provider's orders, once.

    `order.created` creates the item, or updates a stored one like a batch of
    one would; the other events need the item to be stored already
    (NotFoundError otherwise, and the event is not recorded, so that the
    marketplace's retry can apply it later). Moving into an accepted status
    sets accepted_at to the event's time if it is unset. See `_move` for
    stale events: they are recorded but change nothing.
    """
    replayed = _replay(session, provider_id, event)
    if replayed is not None:
        return replayed
    if isinstance(event, OrderCreated):
        item = event.item
        stored = _load(session, provider_id, [item.item_id])
        problems = _check(session, provider_id, [item])
        if problems:
            raise InputError(f"order.created refused: {', '.join(problems[0].problems)}")
        outcome, order = _put(session, provider_id, item, stored.get(item.item_id))
    else:
        order = _own_order(session, provider_id, event.item_id)
        if isinstance(event, OrderStatusChanged):
            outcome = _move(order, event.new_status, event.occurred_at, event.previous_status)
        else:
            outcome = _move(order, event.status, event.occurred_at, None)
    session.add(
        AppliedEvent(
            provider_id=provider_id,
            event_id=event.event_id,
            event_type=event.type,
            order_id=event.item_id,
        )
    )
    _flush(session)
    return EventResult(
        event_id=event.event_id,
        item_id=event.item_id,
        applied=outcome is not Outcome.STALE,
        outcome=outcome,
        status=OrderStatus(order.status),
    )


def rate_order(
    session: Session, provider_id: str, item_id: str, feedback: Feedback
) -> FeedbackResult:
    """Store the customer's rating of one of the provider's order items (a new one replaces it)."""
    order = _own_order(session, provider_id, item_id)
    order.rating = feedback.rating
    order.rating_comment = feedback.comment
    # A rating is not a change in the marketplace: keep the order's marketplace time.
    _write_time(order, order.updated_at)
    _flush(session)
    return FeedbackResult(item_id=order.id, rating=feedback.rating)


def list_orders(
    session: Session,
    provider_id: str,
    *,
    reseller_team_id: str | None = None,
    offer_id: str | None = None,
    status: OrderStatus | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Page[OrderView]:
    """The provider's order items, newest first, optionally of one reseller, offer or status."""
    query = select(Order).where(Order.provider_id == provider_id)
    if reseller_team_id is not None:
        query = query.where(Order.reseller_team_id == reseller_team_id)
    if offer_id is not None:
        query = query.where(Order.offer_id == offer_id)
    if status is not None:
        query = query.where(Order.status == status.value)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Order.created_at.desc(), Order.id)
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return Page[OrderView](
        items=[_view(row) for row in rows], total=total, page=page, page_size=page_size
    )


def _view(order: Order) -> OrderView:
    return OrderView(
        item_id=order.id,
        offer_id=order.offer_id,
        reseller_team_id=order.reseller_team_id,
        service_address=ServiceAddress(zip_code=order.zip_code),
        monthly_price=order.monthly_price,
        status=OrderStatus(order.status),
        created_at=order.created_at,
        accepted_at=order.accepted_at,
        updated_at=order.updated_at,
        rating=order.rating,
    )
