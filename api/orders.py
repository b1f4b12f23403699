"""`/provider/orders`: order items in, as batches or webhook events, customer ratings, and a list.

The write handlers open and commit their own transaction before answering, so
that a 200 means the orders are stored (the per-request `SessionDep` commits
only after the response has been sent). Item IDs are each provider's own: two
providers may send the same itemId, each then has an order of its own by it,
and neither ever reads, rates or changes the other's.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ProviderDep, ServicesDep, SessionDep
from api.order_requests import OrderBatch, WebhookEvent
from api.views import Page
from models.orders import (
    PRINTABLE,
    BatchResult,
    EventResult,
    Feedback,
    FeedbackResult,
    ItemId,
    OrderStatus,
    OrderView,
)
from services import orders

router = APIRouter(prefix="/provider/orders", tags=["orders"])


@router.post("", summary="Send in a batch of order items")
def send_orders(body: OrderBatch, provider: ProviderDep, svc: ServicesDep) -> BatchResult:
    """Create or update up to 5000 order items at once, all or none.

    Every item must name one of the provider's offers and a known reseller; an
    itemId may appear once per batch. If any item is wrong, nothing is stored
    and the 422 lists the bad items (index, itemId, what is wrong). Sending the
    same items again is harmless; an item older (by `updatedAt`) than the
    stored one is skipped as stale.
    """
    with svc.db.transaction() as session:
        return orders.upsert_orders(session, provider, body.orders)


@router.post("/events", summary="Apply one marketplace webhook event")
def receive_event(body: WebhookEvent, provider: ProviderDep, svc: ServicesDep) -> EventResult:
    """Each `eventId` is applied once: a replay answers `applied: false, outcome: duplicate`.

    Events other than `order.created` need the order item stored first (404
    otherwise; the event is not recorded, so a retry can apply it later). A
    `status_changed` whose `previousStatus` is not the stored status is applied
    if it is at least as new (`occurredAt`) as the stored state, and otherwise
    ignored as stale (`applied: false, outcome: stale`); cancelled, completed
    and rejected events older than the stored state are stale too. Moving into
    an accepted status sets the order's acceptance time if it has none.
    """
    with svc.db.transaction() as session:
        return orders.apply_event(session, provider, body.root)


@router.post("/{item_id}/feedback", summary="Store a customer's rating of an order item")
def give_feedback(
    item_id: ItemId,
    body: Feedback,
    provider: ProviderDep,
    svc: ServicesDep,
) -> FeedbackResult:
    """A rating of 1 to 5 for one of the provider's order items; a new rating replaces the old."""
    with svc.db.transaction() as session:
        return orders.rate_order(session, provider, item_id, body)


@router.get("", summary="List the provider's order items")
def list_orders(
    provider: ProviderDep,
    session: SessionDep,
    reseller_team_id: Annotated[
        str | None, Query(alias="resellerTeamId", max_length=100, pattern=PRINTABLE)
    ] = None,
    offer_id: Annotated[
        str | None, Query(alias="offerId", max_length=100, pattern=PRINTABLE)
    ] = None,
    status: OrderStatus | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500, alias="pageSize")] = 50,
) -> Page[OrderView]:
    """Newest first, optionally of one reseller, one offer or one status."""
    return orders.list_orders(
        session,
        provider,
        reseller_team_id=reseller_team_id,
        offer_id=offer_id,
        status=status,
        page=page,
        page_size=page_size,
    )
