"""The metrics SQL against hand-built orders, checked metric by metric against DESIGN.md.

Every order below is written out by hand so that the expected values can be
counted from the list itself: which statuses count as accepted, decided,
fulfilled or cancelled, which orders fall inside the window, and which belong
to another provider or reseller.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from temporalio.testing import ActivityEnvironment

from activities.metrics import MetricsActivities
from devstack.demo_data import add_offer, add_provider, add_reseller
from models.database import Database
from models.metrics import PartnerMetrics
from models.records import MetricsRequest
from models.schema import Order
from store.metrics import metrics_from_row, metrics_query, partner_metrics, whole_months_between

AS_OF = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
WINDOW_DAYS = 90
WINDOW_START = AS_OF - timedelta(days=WINDOW_DAYS)
PROVIDER = "acme"
OTHER_PROVIDER = "globex"

ACCEPTED = {"accepted", "scheduled", "in_progress", "completed", "active"}


@dataclass(frozen=True)
class HandOrder:
    """One order as the test writes it; `at` is when it was created."""

    status: str
    at: datetime
    price: str
    accepted: bool = False
    rating: int | None = None
    provider: str = PROVIDER

    @property
    def counts_as_accepted(self) -> bool:
        return self.status in ACCEPTED or (self.status in {"cancelled", "failed"} and self.accepted)


def days_ago(days: float) -> datetime:
    return AS_OF - timedelta(days=days)


# The partner under test: every status, before and after acceptance where it matters.
ALPHA_IN_WINDOW = [
    HandOrder("accepted", days_ago(5), "50.00", accepted=True),
    HandOrder("scheduled", days_ago(10), "60.50", accepted=True),
    HandOrder("in_progress", days_ago(32), "70.25", accepted=True),
    HandOrder("completed", days_ago(25), "100.00", accepted=True, rating=5),
    HandOrder("completed", days_ago(35), "80.00", accepted=True, rating=4),
    HandOrder("active", days_ago(40), "90.99", accepted=True, rating=4),
    HandOrder("active", days_ago(45), "110.00", accepted=True),
    HandOrder("cancelled", days_ago(50), "40.00", accepted=True),
    HandOrder("failed", days_ago(55), "30.00", accepted=True),
    HandOrder("cancelled", days_ago(65), "20.00", accepted=False),
    HandOrder("failed", days_ago(70), "25.00", accepted=False),
    HandOrder("rejected", days_ago(75), "45.00"),
    HandOrder("rejected", days_ago(80), "55.00"),
    HandOrder("submitted_to_provider", days_ago(3), "65.00"),
    # Exactly at the window's start: inside the [start, end) window.
    HandOrder("pending", WINDOW_START, "35.00"),
    # Exactly 30 days before the end: the first instant of the recent month.
    HandOrder("completed", days_ago(30), "10.00", accepted=True, rating=1),
]
ALPHA_OUTSIDE = [
    # Exactly at the window's end: outside the half-open window.
    HandOrder("completed", AS_OF, "999.00", accepted=True, rating=1),
    HandOrder("completed", days_ago(91), "999.00", accepted=True, rating=1),
    HandOrder("rejected", days_ago(200), "999.00"),
    HandOrder("completed", AS_OF + timedelta(days=2), "999.00", accepted=True, rating=1),
    # Another provider's orders never count for this one.
    HandOrder("completed", days_ago(5), "999.00", accepted=True, rating=1, provider=OTHER_PROVIDER),
    HandOrder("cancelled", days_ago(6), "999.00", provider=OTHER_PROVIDER),
]
ALPHA_JOINED = datetime(2024, 1, 10, 9, 0, tzinfo=UTC)

BETA_IN_WINDOW = [
    HandOrder("completed", days_ago(1), "200.00", accepted=True, rating=2),
    HandOrder("rejected", days_ago(2), "300.00"),
]
BETA_JOINED = datetime(2025, 4, 20, tzinfo=UTC)

# No join date: tenure counts from the first order with the provider, long before the window.
GAMMA_FIRST_ORDER = days_ago(200)
GAMMA_ORDERS = [
    HandOrder("completed", GAMMA_FIRST_ORDER, "15.00", accepted=True),
    HandOrder("active", days_ago(12), "40.00", accepted=True),
]


def _insert(db: Database, team_id: str, orders: list[HandOrder], start_index: int = 0) -> None:
    with db.transaction() as session:
        session.add_all(
            Order(
                id=f"{team_id}-{index:03d}",
                provider_id=o.provider,
                offer_id=f"{o.provider}-internet",
                reseller_team_id=team_id,
                zip_code="10115",
                monthly_price=Decimal(o.price),
                status=o.status,
                created_at=o.at,
                accepted_at=o.at + timedelta(hours=3) if o.accepted else None,
                rating=o.rating,
            )
            for index, o in enumerate(orders, start=start_index)
        )


@pytest.fixture
def seeded(db: Database) -> Database:
    with db.transaction() as session:
        for provider in (PROVIDER, OTHER_PROVIDER):
            add_provider(session, provider, provider.title())
        session.flush()
        for provider in (PROVIDER, OTHER_PROVIDER):
            add_offer(session, provider, f"{provider}-internet")
        add_reseller(session, "alpha", joined_at=ALPHA_JOINED)
        add_reseller(session, "beta", joined_at=BETA_JOINED)
        add_reseller(session, "gamma")
        add_reseller(session, "delta", joined_at=datetime(2023, 6, 15, 12, 0, tzinfo=UTC))
        add_reseller(session, "epsilon")
        add_reseller(session, "zeta")
    _insert(db, "alpha", ALPHA_IN_WINDOW + ALPHA_OUTSIDE)
    _insert(db, "beta", BETA_IN_WINDOW)
    _insert(db, "gamma", GAMMA_ORDERS)
    # epsilon: no join date and orders only before the window.
    _insert(db, "epsilon", [HandOrder("completed", days_ago(400), "20.00", accepted=True)])
    # zeta: orders in the window, but only with another provider.
    _insert(
        db,
        "zeta",
        [HandOrder("completed", days_ago(3), "20.00", accepted=True, provider=OTHER_PROVIDER)],
    )
    return db


def metrics_of(db: Database, team_id: str, window_days: int = WINDOW_DAYS) -> PartnerMetrics:
    return partner_metrics(
        db,
        MetricsRequest(
            provider_id=PROVIDER, reseller_team_id=team_id, as_of=AS_OF, window_days=window_days
        ),
    )


def test_counts_follow_the_documented_status_rules(seeded: Database) -> None:
    m = metrics_of(seeded, "alpha")
    accepted = [o for o in ALPHA_IN_WINDOW if o.counts_as_accepted]
    decided = accepted + [o for o in ALPHA_IN_WINDOW if o.status == "rejected"]
    fulfilled = [o for o in ALPHA_IN_WINDOW if o.status in {"completed", "active"}]
    cancelled = [o for o in ALPHA_IN_WINDOW if o.status == "cancelled"]

    # Written out as well as derived, so a wrong derivation cannot hide a wrong query.
    assert (len(ALPHA_IN_WINDOW), len(accepted), len(decided)) == (16, 10, 12)
    assert (len(fulfilled), len(cancelled)) == (5, 2)

    assert m.provider_id == PROVIDER and m.reseller_team_id == "alpha"
    assert m.window_start == WINDOW_START and m.window_end == AS_OF
    assert m.total_orders == 16
    assert m.accepted_orders == 10
    assert m.decided_orders == 12
    assert m.acceptance_rate == pytest.approx(10 / 12)
    assert m.completion_rate == pytest.approx(5 / 10)
    # Cancelled before and after acceptance both count; failed orders do not.
    assert m.cancellation_rate == pytest.approx(2 / 16)


def test_volume_rating_revenue_and_growth(seeded: Database) -> None:
    m = metrics_of(seeded, "alpha")
    assert m.orders_per_month == pytest.approx(16 / (90 / 30), abs=1e-4)

    ratings = [o.rating for o in ALPHA_IN_WINDOW if o.rating is not None]
    assert ratings == [5, 4, 4, 1]
    assert m.rated_orders == 4
    assert m.average_rating == pytest.approx(14 / 4)

    # Revenue: the monthly price of the orders that are delivering (completed or active).
    assert m.revenue == pytest.approx(100.00 + 80.00 + 90.99 + 110.00 + 10.00)
    assert m.revenue == pytest.approx(
        float(sum(Decimal(o.price) for o in ALPHA_IN_WINDOW if o.status in {"completed", "active"}))
    )
    # Average order value: the mean monthly price of every order created in the window.
    prices = [Decimal(o.price) for o in ALPHA_IN_WINDOW]
    assert m.average_order_value == pytest.approx(float(sum(prices) / len(prices)), abs=0.005)

    # Last 30 days (from exactly 30 days before the end) against the 30 before.
    recent = [o for o in ALPHA_IN_WINDOW if o.at >= days_ago(30)]
    prior = [o for o in ALPHA_IN_WINDOW if days_ago(60) <= o.at < days_ago(30)]
    assert (len(recent), len(prior)) == (5, 6)
    assert m.month_over_month_growth == pytest.approx((5 - 6) / 6)


def test_tenure_from_join_date(seeded: Database) -> None:
    # 2024-01-10 09:00 to 2025-06-15 12:00: 17 whole months.
    assert metrics_of(seeded, "alpha").tenure_months == 17
    # 2025-04-20 to 2025-06-15: one whole month, not two.
    assert metrics_of(seeded, "beta").tenure_months == 1


def test_tenure_from_first_order_without_join_date(seeded: Database) -> None:
    m = metrics_of(seeded, "gamma")
    # The first order is outside the window but still marks when the partnership began.
    assert m.total_orders == 1
    assert m.tenure_months == whole_months_between(GAMMA_FIRST_ORDER, AS_OF) == 6


def test_zero_orders_in_window(seeded: Database) -> None:
    m = metrics_of(seeded, "delta")
    assert m.total_orders == 0
    assert m.orders_per_month == 0
    assert (m.accepted_orders, m.decided_orders, m.rated_orders) == (0, 0, 0)
    assert m.acceptance_rate is None
    assert m.completion_rate is None
    assert m.cancellation_rate is None
    assert m.average_rating is None
    assert m.average_order_value is None
    assert m.revenue == 0
    assert m.month_over_month_growth is None
    assert m.tenure_months == 24


def test_zero_orders_in_window_tenure_from_earlier_orders(seeded: Database) -> None:
    m = metrics_of(seeded, "epsilon")
    assert m.total_orders == 0
    assert m.tenure_months == whole_months_between(days_ago(400), AS_OF) == 13


def test_other_providers_orders_are_not_counted(seeded: Database) -> None:
    m = metrics_of(seeded, "zeta")
    assert m.total_orders == 0
    assert m.revenue == 0


def test_no_ratings_gives_no_rating(seeded: Database) -> None:
    m = metrics_of(seeded, "gamma")
    assert m.rated_orders == 0
    assert m.average_rating is None
    assert m.completion_rate == 1.0


def test_growth_needs_two_full_months_in_the_window(seeded: Database) -> None:
    assert metrics_of(seeded, "alpha", window_days=59).month_over_month_growth is None
    # beta has no orders in the month before the last one: growth has no base.
    assert metrics_of(seeded, "beta").month_over_month_growth is None


def test_shorter_window_counts_only_its_orders(seeded: Database) -> None:
    m = metrics_of(seeded, "alpha", window_days=30)
    recent = [o for o in ALPHA_IN_WINDOW if o.at >= days_ago(30)]
    assert m.total_orders == len(recent) == 5
    assert m.orders_per_month == pytest.approx(5.0)


def test_grouped_query_returns_one_row_per_reseller(seeded: Database) -> None:
    with seeded.transaction() as session:
        rows = session.execute(metrics_query(PROVIDER, WINDOW_START, AS_OF)).all()
        subset = session.execute(
            metrics_query(PROVIDER, WINDOW_START, AS_OF, ["beta", "gamma", "delta"])
        ).all()

    by_team = {row.reseller_team_id: row for row in rows}
    # Only resellers with orders of this provider in the window; one row each.
    assert len(rows) == len(by_team) == 3
    assert set(by_team) == {"alpha", "beta", "gamma"}
    assert sorted(row.reseller_team_id for row in subset) == ["beta", "gamma"]

    assert (by_team["alpha"].total_orders, by_team["beta"].total_orders) == (16, 2)
    assert by_team["gamma"].total_orders == 1
    for team_id, row in by_team.items():
        from_batch = metrics_from_row(PROVIDER, team_id, WINDOW_START, AS_OF, row)
        assert from_batch == metrics_of(seeded, team_id)


def test_metrics_from_row_without_a_row() -> None:
    joined = AS_OF - timedelta(days=400)
    m = metrics_from_row(PROVIDER, "nobody", WINDOW_START, AS_OF, None, joined)
    assert m.total_orders == 0 and m.acceptance_rate is None
    assert m.tenure_months == 13


def test_compute_partner_metrics_activity(seeded: Database) -> None:
    request = MetricsRequest(
        provider_id=PROVIDER, reseller_team_id="beta", as_of=AS_OF, window_days=WINDOW_DAYS
    )
    m = ActivityEnvironment().run(MetricsActivities(seeded).compute_partner_metrics, request)
    assert (m.total_orders, m.accepted_orders, m.decided_orders) == (2, 1, 2)
    assert m.acceptance_rate == pytest.approx(0.5)
    assert m.average_rating == pytest.approx(2.0)
    assert m.revenue == pytest.approx(200.0)
    assert m.average_order_value == pytest.approx(250.0)


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        (datetime(2024, 1, 15, tzinfo=UTC), datetime(2024, 2, 15, tzinfo=UTC), 1),
        (datetime(2024, 1, 15, 12, tzinfo=UTC), datetime(2024, 2, 15, 11, tzinfo=UTC), 0),
        (datetime(2023, 12, 1, tzinfo=UTC), datetime(2025, 3, 1, tzinfo=UTC), 15),
        (datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC), 0),
    ],
)
def test_whole_months_between(start: datetime, end: datetime, months: int) -> None:
    assert whole_months_between(start, end) == months
