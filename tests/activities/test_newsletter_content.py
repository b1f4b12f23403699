"""What a partner's monthly newsletter says, against hand-built offers and orders with fixed dates:
the offers new to it in the month at its tier's price, its figures against the month before, and
the tip aimed at its weakest criterion; and the statements a chunk costs, whatever its size."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import event

from devstack.demo_data import add_offer, add_provider, add_reseller
from models.database import Database
from models.newsletter import MAX_NEW_OFFERS, NewsletterNotice
from models.offers import AccessSource, OfferStatus, Visibility
from models.pricing import PriceBasis
from models.program import ProgramSettings, Tier, TierCriteria, TierDiscounts
from models.schema import Offer, OfferAccess, OfferBlock, Order
from store.newsletter_content import ADVICE, FIRST_FIGURES, newsletter_notices

ACME = "acme"
GLOBEX = "globex"
MONTH = "2026-11"
PROGRAM = ProgramSettings(
    silver=TierCriteria(
        min_orders_per_month=5,
        min_acceptance_rate=0.90,
        min_completion_rate=0.90,
        min_rating=4.5,
        min_tenure_months=0,
    ),
    gold=TierCriteria(
        min_orders_per_month=8,
        min_acceptance_rate=0.95,
        min_completion_rate=0.95,
        min_rating=4.8,
        min_tenure_months=0,
        min_revenue=3000,
    ),
    tier_discounts=TierDiscounts(silver=5, gold=10),
)
"""Lines low enough that a partner's figures can be written out order by order; the program's
window is 90 days, so November's tip reads the orders from 2 September to 1 December."""


def at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def orders(
    team_id: str,
    created: datetime,
    count: int,
    status: str = "completed",
    *,
    price: str = "100.00",
    rating: int | None = None,
    provider_id: str = ACME,
) -> list[Order]:
    """`count` orders of one kind, created at one moment."""
    return [
        Order(
            id=f"{team_id}-{uuid.uuid4().hex[:10]}",
            provider_id=provider_id,
            offer_id=f"{provider_id}-internet",
            reseller_team_id=team_id,
            zip_code="10001",
            monthly_price=Decimal(price),
            status=status,
            created_at=created,
            accepted_at=None if status == "rejected" else created + timedelta(hours=1),
            rating=rating,
        )
        for _ in range(count)
    ]


def seed(db: Database, team_ids: list[str], *rows: Order) -> None:
    """ACME under PROGRAM and GLOBEX, each with a public offer created long before the month,
    the resellers, and the orders."""
    with db.transaction() as session:
        add_provider(session, ACME, "Acme Internet", PROGRAM)
        add_provider(session, GLOBEX, "Globex")
        for team_id in team_ids:
            add_reseller(session, team_id)
        session.flush()
        for provider_id in (ACME, GLOBEX):
            add_offer(session, provider_id, f"{provider_id}-internet").created_at = at(1, 5)
        session.add_all(rows)


def notices(db: Database, recipients: list[tuple[str, Tier]]) -> dict[str, NewsletterNotice]:
    with db.transaction() as session:
        return newsletter_notices(session, ACME, MONTH, recipients)


def new_offer(
    session: Any,
    offer_id: str,
    created: datetime,
    *,
    provider_id: str = ACME,
    visibility: Visibility = Visibility.PUBLIC,
    status: OfferStatus = OfferStatus.ACTIVE,
    price: float = 100.0,
    **columns: Any,
) -> Offer:
    offer = add_offer(session, provider_id, offer_id, visibility=visibility, price=price)
    offer.created_at = created
    offer.status = status.value
    for name, value in columns.items():
        setattr(offer, name, value)
    return offer


def test_the_new_offers_are_those_the_partner_sees_that_became_new_in_the_month(
    db: Database,
) -> None:
    seed(db, ["silverco", "goldco"])
    with db.transaction() as session:
        new_offer(session, "fiber-max", at(11, 20), tier_prices={"silver": "80.00"})
        new_offer(
            session,
            "internet-plus",
            at(11, 10),
            category="internet",
            description="300 Mbps, no contract",
            internal_name="IP-PROMO-7",
        )
        new_offer(session, "month-start", datetime(2026, 11, 1, tzinfo=UTC))
        new_offer(session, "month-end", datetime(2026, 12, 1, tzinfo=UTC))
        new_offer(session, "last-month", at(10, 20))
        new_offer(session, "retired", at(11, 12), status=OfferStatus.RETIRED)
        new_offer(session, "draft", at(11, 13), status=OfferStatus.DRAFT)
        new_offer(session, "blocked", at(11, 14))
        new_offer(session, "exclusive", at(9, 1), visibility=Visibility.SELECTED)
        new_offer(session, "old-grant", at(8, 1), visibility=Visibility.PREFERRED)
        new_offer(session, "globex-new", at(11, 10), provider_id=GLOBEX)
        session.flush()
        session.add_all(
            [
                OfferAccess(
                    offer_id="exclusive",
                    reseller_team_id="silverco",
                    source=AccessSource.SELECTED.value,
                    granted_at=at(11, 5),
                ),
                OfferAccess(
                    offer_id="old-grant",
                    reseller_team_id="goldco",
                    source=AccessSource.PREFERRED.value,
                    granted_at=at(8, 2),
                ),
                OfferBlock(
                    provider_id=ACME,
                    reseller_team_id="silverco",
                    offer_id="blocked",
                    reason="sold below the floor",
                ),
            ]
        )

    found = notices(db, [("silverco", Tier.SILVER), ("goldco", Tier.GOLD)])

    silver, gold = found["silverco"], found["goldco"]
    assert (silver.month, silver.month_label) == (MONTH, "November 2026")
    assert [offer.offer_id for offer in silver.new_offers] == [
        "fiber-max",
        "internet-plus",
        "exclusive",
        "month-start",
    ]
    assert [offer.offer_id for offer in gold.new_offers] == [
        "fiber-max",
        "blocked",
        "internet-plus",
        "month-start",
    ]
    fiber, internet = silver.new_offers[0], silver.new_offers[1]
    assert (fiber.price.price, fiber.price.basis, fiber.price.note) == (
        Decimal("80.00"),
        PriceBasis.OFFER,
        "silver price",
    )
    assert (internet.price.list_price, internet.price.price, internet.price.note) == (
        Decimal("100.00"),
        Decimal("95.00"),
        "5% silver discount",
    )
    assert (internet.name, internet.category, internet.description) == (
        "internet-plus",
        "internet",
        "300 Mbps, no contract",
    )
    assert gold.new_offers[0].price.price == Decimal("80.00")
    assert (gold.new_offers[2].price.price, gold.new_offers[2].price.note) == (
        Decimal("90.00"),
        "10% gold discount",
    )
    assert "IP-PROMO-7" not in silver.model_dump_json() + gold.model_dump_json()


def test_a_newsletter_lists_the_newest_offers_up_to_its_limit(db: Database) -> None:
    seed(db, ["silverco"])
    with db.transaction() as session:
        for day in range(1, MAX_NEW_OFFERS + 3):
            new_offer(session, f"offer-{day:02d}", at(11, day))

    listed = notices(db, [("silverco", Tier.SILVER)])["silverco"].new_offers

    assert [offer.offer_id for offer in listed] == [
        f"offer-{day:02d}" for day in range(MAX_NEW_OFFERS + 2, 2, -1)
    ]


def test_the_highlights_compare_the_month_with_the_month_before(db: Database) -> None:
    seed(
        db,
        ["silverco", "steadyco", "newco"],
        *orders("silverco", at(10, 15), 4, rating=5),
        *orders("silverco", at(10, 15), 4, rating=4),
        *orders("silverco", at(10, 15), 2, "rejected"),
        *orders("silverco", at(11, 15), 6, price="150.00", rating=5),
        *orders("silverco", at(11, 15), 4, price="150.00", rating=4),
        *orders("silverco", at(11, 15), 1, price="150.00"),
        *orders("silverco", at(11, 15), 1, "in_progress", price="150.00"),
        *orders("silverco", at(11, 15), 1, "rejected"),
        # The months' edges: the first instant of November is in it, of December not.
        *orders("steadyco", datetime(2026, 10, 1, tzinfo=UTC), 5, rating=5),
        *orders("steadyco", datetime(2026, 11, 1, tzinfo=UTC), 5, rating=5),
        *orders("steadyco", datetime(2026, 12, 1, tzinfo=UTC), 3, rating=1),
        *orders("newco", at(11, 3), 2, provider_id=GLOBEX),
    )

    found = notices(
        db, [("silverco", Tier.SILVER), ("steadyco", Tier.SILVER), ("newco", Tier.GOLD)]
    )

    def shown(team_id: str) -> dict[str, tuple[Any, ...]]:
        return {
            h.name: (h.before, h.after, h.change, h.improved) for h in found[team_id].highlights
        }

    assert shown("silverco") == {
        "orders": ("10", "13", "+30%", True),
        "revenue": ("$800.00", "$1,650.00", "+106%", True),
        "acceptance_rate": ("80.0%", "92.3%", "+12.3 points", True),
        "completion_rate": ("100.0%", "91.7%", "-8.3 points", False),
        "average_rating": ("4.50", "4.60", "+0.10", True),
    }
    assert found["silverco"].highlights[0].text == "orders: 10 → 13 (+30%)"
    assert shown("steadyco") == {
        "orders": ("5", "5", "no change", None),
        "revenue": ("$500.00", "$500.00", "no change", None),
        "acceptance_rate": ("100.0%", "100.0%", "no change", None),
        "completion_rate": ("100.0%", "100.0%", "no change", None),
        "average_rating": ("5.00", "5.00", "no change", None),
    }
    assert shown("newco") == {
        "orders": ("0", "0", None, None),
        "revenue": ("$0.00", "$0.00", None, None),
        "acceptance_rate": (None, None, None, None),
        "completion_rate": (None, None, None, None),
        "average_rating": (None, None, None, None),
    }


def test_the_tip_aims_at_the_missed_criterion_furthest_from_its_line(db: Database) -> None:
    # Orders 4 a month of 5 (80% of the line), acceptance 58.3% of 90% (65%).
    seed(
        db,
        ["twofails"],
        *orders("twofails", at(11, 10), 7, rating=5),
        *orders("twofails", at(11, 10), 5, "rejected"),
    )

    tip = notices(db, [("twofails", Tier.SILVER)])["twofails"].tip

    assert tip is not None
    assert (tip.criterion, tip.tier, tip.label) == ("acceptance_rate", "silver", "acceptance")
    assert tip.text == "acceptance 58.3% < 90.0%"
    assert tip.needs == (
        "accepting 31.7 percentage points more of the orders offered (58.3% → 90.0%)"
    )
    assert tip.advice == ADVICE["acceptance_rate"]


def test_a_partner_meeting_its_tier_gets_a_tip_toward_the_next(db: Database) -> None:
    # Silver met; gold's orders are at 75% of the line, its revenue at 60%.
    seed(db, ["risingco"], *orders("risingco", at(11, 10), 18, rating=5))

    tip = notices(db, [("risingco", Tier.SILVER)])["risingco"].tip

    assert tip is not None
    assert (tip.criterion, tip.tier) == ("revenue", "gold")
    assert tip.text == "revenue 1,800.00 < 3,000.00"
    assert tip.needs == "1,200.00 more revenue over 90 days (1,800.00 → 3,000.00)"
    assert tip.advice == ADVICE["revenue"]


def test_a_gold_partner_meeting_everything_is_told_to_keep_its_closest_criterion(
    db: Database,
) -> None:
    # Rating 4.97 against 4.8 (3.5% above), acceptance and completion 100% against 95% (5.3%).
    seed(
        db,
        ["goldco"],
        *orders("goldco", at(10, 10), 29, price="150.00", rating=5),
        *orders("goldco", at(10, 10), 1, price="150.00", rating=4),
    )

    tip = notices(db, [("goldco", Tier.GOLD)])["goldco"].tip

    assert tip is not None
    assert (tip.criterion, tip.tier, tip.needs) == ("average_rating", "gold", None)
    assert tip.text == "rating 5.0 >= 4.8"
    assert tip.advice.startswith("You meet every gold criterion; rating has the least room")


def test_a_partner_with_no_orders_is_told_how_to_get_its_first_figures(db: Database) -> None:
    seed(db, ["newco"], *orders("newco", at(11, 10), 20, rating=5, provider_id=GLOBEX))

    tip = notices(db, [("newco", Tier.BRONZE)])["newco"].tip

    assert tip is not None
    assert (tip.criterion, tip.tier) == ("orders_per_month", "silver")
    assert tip.text == "orders/month 0 < 5"
    assert tip.needs == "5 more orders a month (0 → 5)"
    assert tip.advice == FIRST_FIGURES


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """The SQL statements the engine runs inside the block."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2])

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def test_a_chunk_costs_the_same_statements_whatever_its_size(db: Database) -> None:
    team_ids = [f"team-{index:02d}" for index in range(50)]
    rows = [
        order
        for index, team_id in enumerate(team_ids)
        for order in orders(team_id, at(10 + index % 2, 10), 1 + index % 4, rating=5)
    ]
    seed(db, team_ids, *rows)
    with db.transaction() as session:
        new_offer(session, "fiber-max", at(11, 20))
        new_offer(session, "exclusive", at(9, 1), visibility=Visibility.SELECTED)
        session.flush()
        session.add_all(
            OfferAccess(
                offer_id="exclusive",
                reseller_team_id=team_id,
                source=AccessSource.SELECTED.value,
                granted_at=at(11, 5),
            )
            for team_id in team_ids[::3]
        )
    tiers = [Tier.SILVER, Tier.GOLD, Tier.BRONZE]
    recipients = [(team_id, tiers[index % 3]) for index, team_id in enumerate(team_ids)]

    with statements(db) as for_five:
        five = notices(db, recipients[:5])
    with statements(db) as for_fifty:
        fifty = notices(db, recipients)

    assert len(five) == 5 and len(fifty) == 50
    assert len(for_fifty) == len(for_five) <= 5
    assert [offer.offer_id for offer in fifty["team-03"].new_offers] == ["fiber-max", "exclusive"]
    assert all(notice.tip is not None for notice in fifty.values())
