"""Partner metrics from the orders table: one SQL aggregate over the window."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from models.database import Database
from models.metrics import PartnerMetrics, window_bounds
from models.orders import ACCEPTED_STATUSES, FULFILLED_STATUSES
from models.records import MetricsRequest
from models.schema import Order, Reseller

GROWTH_SPAN = timedelta(days=30)


def _count_if(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


def metrics_query(
    provider_id: str,
    window_start: datetime,
    window_end: datetime,
    reseller_team_ids: Sequence[str] | None = None,
    *,
    offer_id: str | None = None,
    zip_codes: Sequence[str] | None = None,
) -> Select[Any]:
    """One row per reseller with orders in the window: the counts every metric is built from.

    `offer_id` and `zip_codes` narrow the orders to one offer and one region
    (an exclusive agreement's scope); tenure still counts from the reseller's
    first order with the provider.

    Accepted means the provider took the order: it reached an accepted status,
    or was cancelled or failed after acceptance. Decided adds rejections.
    """
    accepted = or_(
        Order.status.in_(ACCEPTED_STATUSES),
        and_(Order.status.in_(("cancelled", "failed")), Order.accepted_at.is_not(None)),
    )
    fulfilled = Order.status.in_(FULFILLED_STATUSES)
    recent_start = window_end - GROWTH_SPAN
    prior_start = window_end - 2 * GROWTH_SPAN

    # Only read where no join date is known: COALESCE evaluates it for those alone, and the
    # (provider, reseller, created_at) index answers it, where a join on every reseller's first
    # order scanned all of the provider's orders.
    earlier = aliased(Order)
    first_order_at = (
        select(func.min(earlier.created_at))
        .where(
            earlier.provider_id == provider_id,
            earlier.reseller_team_id == Order.reseller_team_id,
        )
        .scalar_subquery()
    )
    query = (
        select(
            Order.reseller_team_id,
            func.count().label("total_orders"),
            _count_if(accepted).label("accepted_orders"),
            _count_if(or_(accepted, Order.status == "rejected")).label("decided_orders"),
            _count_if(fulfilled).label("fulfilled_orders"),
            _count_if(Order.status == "cancelled").label("cancelled_orders"),
            func.avg(Order.rating).label("average_rating"),
            func.count(Order.rating).label("rated_orders"),
            func.avg(Order.monthly_price).label("average_order_value"),
            func.coalesce(
                func.sum(case((fulfilled, Order.monthly_price), else_=literal(0))), 0
            ).label("revenue"),
            _count_if(Order.created_at >= recent_start).label("recent_orders"),
            _count_if(and_(Order.created_at >= prior_start, Order.created_at < recent_start)).label(
                "prior_orders"
            ),
            func.coalesce(Reseller.joined_at, first_order_at).label("joined_at"),
        )
        .join(Reseller, Reseller.team_id == Order.reseller_team_id)
        .where(
            Order.provider_id == provider_id,
            Order.created_at >= window_start,
            Order.created_at < window_end,
        )
        .group_by(Order.reseller_team_id, Reseller.joined_at)
    )
    if reseller_team_ids is not None:
        query = query.where(Order.reseller_team_id.in_(list(reseller_team_ids)))
    if offer_id is not None:
        query = query.where(Order.offer_id == offer_id)
    if zip_codes:
        query = query.where(Order.zip_code.in_(list(zip_codes)))
    return query


def whole_months_between(start: datetime, end: datetime) -> int:
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if (end.day, end.time()) < (start.day, start.time()):
        months -= 1
    return max(months, 0)


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def metrics_from_row(
    provider_id: str,
    reseller_team_id: str,
    window_start: datetime,
    window_end: datetime,
    row: Any | None,
    joined_at: datetime | None = None,
) -> PartnerMetrics:
    """Turn one aggregate row (or none: no orders in the window) into the documents' metrics."""
    if row is not None and row.joined_at is not None:
        joined_at = row.joined_at
    base = {
        "provider_id": provider_id,
        "reseller_team_id": reseller_team_id,
        "window_start": window_start,
        "window_end": window_end,
        "tenure_months": whole_months_between(joined_at, window_end) if joined_at else 0,
    }
    if row is None:
        return PartnerMetrics(
            **base, total_orders=0, orders_per_month=0, accepted_orders=0, decided_orders=0
        )
    window_days = (window_end - window_start).total_seconds() / 86400
    total = int(row.total_orders)
    accepted = int(row.accepted_orders)
    decided = int(row.decided_orders)
    growth = None
    if window_days >= 2 * GROWTH_SPAN.days and row.prior_orders:
        growth = (int(row.recent_orders) - int(row.prior_orders)) / int(row.prior_orders)
    return PartnerMetrics(
        **base,
        total_orders=total,
        orders_per_month=round(total / (window_days / 30), 4) if window_days else 0,
        accepted_orders=accepted,
        decided_orders=decided,
        acceptance_rate=_ratio(accepted, decided),
        completion_rate=_ratio(int(row.fulfilled_orders), accepted),
        cancellation_rate=_ratio(int(row.cancelled_orders), total),
        average_rating=(
            round(float(row.average_rating), 4) if row.average_rating is not None else None
        ),
        rated_orders=int(row.rated_orders),
        average_order_value=(
            round(float(row.average_order_value), 2)
            if row.average_order_value is not None
            else None
        ),
        revenue=round(float(row.revenue), 2),
        month_over_month_growth=growth,
    )


def window_metrics(
    session: Session,
    provider_id: str,
    reseller_team_id: str,
    window_start: datetime,
    window_end: datetime,
    *,
    offer_id: str | None = None,
    zip_codes: Sequence[str] | None = None,
) -> PartnerMetrics:
    """One reseller's metrics over [window_start, window_end), optionally in one offer, region."""
    query = metrics_query(
        provider_id,
        window_start,
        window_end,
        [reseller_team_id],
        offer_id=offer_id,
        zip_codes=zip_codes,
    )
    row = session.execute(query).one_or_none()
    joined_at = None
    if row is None:
        # No orders in the window: tenure still counts from the join date, or from
        # the first order with this provider where no join date is known.
        joined_at = session.scalar(
            select(Reseller.joined_at).where(Reseller.team_id == reseller_team_id)
        ) or session.scalar(
            select(func.min(Order.created_at)).where(
                Order.provider_id == provider_id,
                Order.reseller_team_id == reseller_team_id,
            )
        )
    return metrics_from_row(provider_id, reseller_team_id, window_start, window_end, row, joined_at)


def partner_metrics(db: Database, request: MetricsRequest) -> PartnerMetrics:
    """The metrics of one partner over the window that ends at `request.as_of`."""
    with db.transaction() as session:
        return partner_metrics_in(session, request)


def partner_metrics_in(session: Session, request: MetricsRequest) -> PartnerMetrics:
    """partner_metrics, read in this session's transaction."""
    window_start, window_end = window_bounds(request.as_of, request.window_days)
    return window_metrics(
        session, request.provider_id, request.reseller_team_id, window_start, window_end
    )
