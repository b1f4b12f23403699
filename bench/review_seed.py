"""A provider with N resellers and M orders for the program review benchmark (issue 5).

Seeded and realistic: order counts per reseller skewed (most resellers sell a
little, a few sell a lot), statuses mostly accepted, completed or active with a
few rejected and cancelled, ratings on some orders. Each reseller gets a role
that says where it stands against the default program (models/program.py) and
what the review should decide for it; about 2% of resellers change standing:
preferred partners that slip below silver, at-risk partners that recover, gold
partners that fall back to silver, silver partners that meet gold, and resellers
off the list that newly qualify. Everyone else stays where it is: most resellers
are not partners and do not qualify (too few orders, or short of a quality bar).

Outcomes inside the review's metrics window are dealt from exact counts (as
devstack/demo_data.py does) rather than drawn, so each reseller's rates land on
the side of a threshold its role says, whatever the sample size.

The orders go in fast: PostgreSQL's COPY (psycopg 3) and SQLite's executemany
in large transactions with `synchronous=OFF`, the orders table's secondary
indexes dropped during the load and built once afterwards.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.schema import AddConstraint, DropConstraint

from bench.figures import BenchError
from devstack.demo_data import add_offer
from models.database import Database
from models.partner import PartnerStatus
from models.program import ProgramSettings, Tier
from models.review import ReviewCadence, ReviewPeriod
from models.schema import Order
from models.standing import WAKING, Standing
from services.providers import create_provider

PROVIDER_ID = "review-bench"
ENTRY_OFFER, HIGH_END_OFFER = "review-internet", "review-business"
OFFERS = {ENTRY_OFFER: 60.0, HIGH_END_OFFER: 240.0}
HISTORY_DAYS = 120
"""Orders span the 90-day metrics window and the month before it."""
CHANGING_SHARE = 0.02
"""Resellers whose standing the review changes."""
PARTNER_SHARE = 0.04
"""Resellers on the preferred list before the review (capped by `max_partners`)."""
ORDER_COLUMNS = (
    "id",
    "provider_id",
    "offer_id",
    "reseller_team_id",
    "zip_code",
    "monthly_price",
    "status",
    "created_at",
    "accepted_at",
    "updated_at",
    "rating",
    "rating_comment",
)
RESELLER_COLUMNS = ("team_id", "name", "email", "joined_at", "created_at")
CHUNK = 50_000
"""Orders written per batch."""


@dataclass(frozen=True)
class Role:
    """Where a reseller stands before the review, and what the review should decide."""

    name: str
    status: PartnerStatus | None
    tier: Tier
    expected: Standing
    share_of_partners: float = 0.0


MARKET = Role("market", None, Tier.BRONZE, Standing.UNCHANGED)
CANDIDATE = Role("candidate", None, Tier.BRONZE, Standing.NEW_CANDIDATE)
PREFERRED, AT_RISK = PartnerStatus.PREFERRED, PartnerStatus.AT_RISK
PARTNER_ROLES = (
    Role("silver", PREFERRED, Tier.SILVER, Standing.UNCHANGED, 0.68),
    Role("gold", PREFERRED, Tier.GOLD, Standing.UNCHANGED, 0.12),
    Role("slipping", PREFERRED, Tier.SILVER, Standing.BELOW_STANDARD, 0.07),
    Role("rising", PREFERRED, Tier.SILVER, Standing.PROMOTION, 0.02),
    Role("fading", PREFERRED, Tier.GOLD, Standing.DEMOTION, 0.02),
    Role("recovering", AT_RISK, Tier.SILVER, Standing.RECOVERED, 0.04),
    Role("struggling", AT_RISK, Tier.SILVER, Standing.STILL_BELOW, 0.05),
)


@dataclass(frozen=True)
class Profile:
    """How one reseller sells: orders per month and the shape of their outcomes."""

    per_month: float
    acceptance: float
    completion: float
    rating: float
    rated_share: float
    price: float
    cancellation: float
    tenure_months: int


@dataclass(frozen=True)
class SeededReseller:
    team_id: str
    role: Role
    profile: Profile


@dataclass
class SeedPlan:
    """What will be seeded: the period the review covers and every reseller with its role."""

    period: ReviewPeriod
    window_start: datetime
    resellers: list[SeededReseller]

    @property
    def partners(self) -> list[SeededReseller]:
        return [r for r in self.resellers if r.role.status is not None]

    @property
    def window_months(self) -> float:
        return (self.period.end - self.window_start).days / 30

    def expected(self) -> Counter[str]:
        """The standings the roles call for, among the resellers a review assesses: those
        with orders in the window, and the partners."""
        return Counter(
            r.role.expected.value
            for r in self.resellers
            if r.role.status is not None or round(r.profile.per_month * self.window_months)
        )


@dataclass
class SeedResult:
    orders: int
    resellers: int
    orders_seconds: float
    index_seconds: float
    """Building the orders' indexes, and validating their foreign keys on PostgreSQL."""
    analyze_seconds: float


# ---------------------------------------------------------------------------- the plan


Ranges = dict[str, tuple[float, float]]
GOOD: Ranges = {
    "acceptance": (0.93, 0.99),
    "completion": (0.97, 0.995),
    "rating": (4.6, 4.75),
    "price": (45, 90),
    "cancellation": (0.0, 0.02),
}
"""Above every silver bar with a margin, below gold's rating."""
EXCELLENT: Ranges = {
    "acceptance": (0.975, 0.995),
    "completion": (0.975, 0.995),
    "rating": (4.86, 4.97),
    "price": (200, 320),
    "cancellation": (0.0, 0.01),
}
"""Above every gold bar, revenue included (50+ orders a month at premium prices)."""


def _drawn(rng: random.Random, ranges: Ranges, per_month: float, tenure: int) -> Profile:
    return Profile(
        per_month=per_month,
        tenure_months=tenure,
        rated_share=rng.uniform(0.3, 0.7),
        **{name: rng.uniform(low, high) for name, (low, high) in ranges.items()},
    )


def _good(rng: random.Random, per_month: float, tenure: int) -> Profile:
    return _drawn(rng, GOOD, per_month, tenure)


def _short(rng: random.Random, per_month: float, tenure: int) -> Profile:
    """Below silver on one quality criterion, with a margin: acceptance, completion or rating."""
    good = _good(rng, per_month, tenure)
    match rng.randrange(3):
        case 0:
            return _replace(good, acceptance=rng.uniform(0.70, 0.86))
        case 1:
            return _replace(good, completion=rng.uniform(0.75, 0.91))
        case _:
            return _replace(good, rating=rng.uniform(3.6, 4.3), rated_share=rng.uniform(0.4, 0.8))


def _replace(profile: Profile, **changes: Any) -> Profile:
    return Profile(**(profile.__dict__ | changes))


def _slipping(rng: random.Random, tenure: int) -> Profile:
    """Below silver: too few orders, or short of a quality bar."""
    if rng.random() < 0.3:
        return _good(rng, rng.uniform(2, 8), tenure)
    return _short(rng, rng.uniform(12, 40), tenure)


def _profile(rng: random.Random, role: Role) -> Profile:
    silver_tenure = rng.randint(4, 36)
    gold_tenure = rng.randint(13, 60)
    match role.name:
        case "silver" | "recovering" | "candidate":
            return _good(rng, rng.uniform(12, 40), silver_tenure)
        case "fading":
            return _good(rng, rng.uniform(15, 40), gold_tenure)
        case "gold" | "rising":
            return _drawn(rng, EXCELLENT, rng.uniform(55, 110), gold_tenure)
        case "slipping" | "struggling":
            return _slipping(rng, silver_tenure)
    raise ValueError(role.name)


def plan_resellers(
    resellers: int,
    orders: int,
    *,
    now: datetime,
    max_partners: int,
    seed: int = 5,
    program: ProgramSettings | None = None,
) -> SeedPlan:
    """Roles and profiles for `resellers` resellers selling about `orders` orders in all."""
    program = program or ProgramSettings()
    rng = random.Random(seed)
    period = ReviewPeriod.last_ended(ReviewCadence.MONTHLY, now)
    window_start = period.end - timedelta(days=program.metrics_window_days)
    months = HISTORY_DAYS / 30

    partners = min(round(resellers * PARTNER_SHARE), max_partners)
    roles: list[Role] = []
    for role in PARTNER_ROLES[1:]:
        roles += [role] * round(partners * role.share_of_partners)
    roles += [PARTNER_ROLES[0]] * max(partners - len(roles), 0)
    changing = sum(1 for role in roles if role.expected in WAKING)
    roles += [CANDIDATE] * max(round(resellers * CHANGING_SHARE) - changing, 0)
    if len(roles) > resellers:
        raise BenchError(f"{resellers} resellers are too few for {len(roles)} partners/candidates")

    placed: list[tuple[Role, Profile]] = [(role, _profile(rng, role)) for role in roles]
    budget = orders - sum(round(p.per_month * months) for _, p in placed)
    market = resellers - len(placed)
    if market and budget < market:
        raise BenchError(f"{orders} orders are too few for {resellers} resellers")
    # Skewed volumes: lognormal weights, so most resellers sell a little and a few a lot.
    weights = [rng.lognormvariate(0, 1.3) for _ in range(market)]
    scale = budget / sum(weights) if weights else 0
    for weight in weights:
        per_month = weight * scale / months
        tenure = rng.choice((1, 2)) if rng.random() < 0.05 else rng.randint(3, 60)
        # Resellers off the list that sell enough stay short of a quality bar: the ones
        # that would qualify are the candidates above, or partners already.
        if per_month * 3 >= 25 or rng.random() < 0.5:
            profile = _short(rng, per_month, tenure)
        else:
            profile = _good(rng, per_month, tenure)
        placed.append((MARKET, profile))
    rng.shuffle(placed)
    return SeedPlan(
        period=period,
        window_start=window_start,
        resellers=[
            SeededReseller(f"team-{index:06d}", role, profile)
            for index, (role, profile) in enumerate(placed)
        ],
    )


# ---------------------------------------------------------------------------- the orders


def _deal(rng: random.Random, count: int, profile: Profile) -> list[tuple[str, int | None]]:
    """`count` (status, rating) pairs whose rates are the profile's, shuffled."""
    rejected = round(count * (1 - profile.acceptance))
    accepted = count - rejected
    fulfilled = round(accepted * profile.completion)
    cancelled = min(round(count * profile.cancellation), accepted - fulfilled)
    pending = accepted - fulfilled - cancelled
    rated = round(fulfilled * profile.rated_share)
    low = max(1, min(5, math.floor(profile.rating)))
    high_count = round(rated * (profile.rating - low))
    ratings: list[int | None] = [None] * (fulfilled - rated)
    ratings += [min(low + 1, 5)] * high_count + [low] * (rated - high_count)
    rng.shuffle(ratings)
    outcomes: list[tuple[str, int | None]] = [("rejected", None)] * rejected
    outcomes += [(rng.choice(("completed", "active")), rating) for rating in ratings]
    outcomes += [("cancelled", None)] * cancelled
    outcomes += [
        (rng.choice(("accepted", "scheduled", "in_progress", "failed")), None)
        for _ in range(pending)
    ]
    rng.shuffle(outcomes)
    return outcomes


def _order_rows(seeded: SeedPlan, seed: int) -> Iterator[tuple[str | int | None, ...]]:
    """Every order as a row of ORDER_COLUMNS, as text both bulk paths take.

    Timestamps are naive UTC text with microseconds, which is how SQLAlchemy keeps them
    in SQLite (compared as text) and what PostgreSQL reads in a UTC session.
    """
    rng = random.Random(f"{seed}/orders")
    rand = rng.random
    end = seeded.period.end.replace(tzinfo=None)
    window_start = seeded.window_start.replace(tzinfo=None)
    history_start = end - timedelta(days=HISTORY_DAYS)
    window_months = seeded.window_months
    before_months = (window_start - history_start).days / 30
    number = 0
    for reseller in seeded.resellers:
        profile, team = reseller.profile, reseller.team_id
        offer = HIGH_END_OFFER if profile.price >= 150 else ENTRY_OFFER
        segments = (
            # The window's count is exact; the month before it varies a little.
            (window_start, end, round(profile.per_month * window_months)),
            (
                history_start,
                window_start,
                round(profile.per_month * before_months * (0.9 + 0.2 * rand())),
            ),
        )
        for start, stop, count in segments:
            span = (stop - start).total_seconds() - 2
            for status, rating in _deal(rng, count, profile):
                number += 1
                created = start + timedelta(seconds=1 + rand() * span)
                created_text = created.isoformat(" ", "microseconds")
                accepted_text = None
                if status != "rejected":
                    accepted = created + timedelta(seconds=3600 + rand() * 169_200)
                    accepted_text = accepted.isoformat(" ", "microseconds")
                yield (
                    f"o{number:09d}",
                    PROVIDER_ID,
                    offer,
                    team,
                    str(10000 + int(rand() * 90000)),
                    f"{profile.price * (0.9 + 0.2 * rand()):.2f}",
                    status,
                    created_text,
                    accepted_text,
                    accepted_text or created_text,
                    rating,
                    None,
                )


def _reseller_rows(seeded: SeedPlan) -> list[tuple[str, ...]]:
    end = seeded.period.end.replace(tzinfo=None)
    rows: list[tuple[str, ...]] = []
    for reseller in seeded.resellers:
        joined = end - timedelta(days=30.5 * reseller.profile.tenure_months + 5)
        joined_text = joined.isoformat(" ", "microseconds")
        rows.append(
            (
                reseller.team_id,
                reseller.team_id.replace("-", " ").title(),
                f"partners@{reseller.team_id}.example",
                joined_text,
                joined_text,
            )
        )
    return rows


def _chunks(rows: Iterator[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _bulk_sqlite(engine: Engine, seeded: SeedPlan, seed: int) -> int:
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        marks = ", ".join("?" for _ in RESELLER_COLUMNS)
        cursor.executemany(
            f"INSERT INTO resellers ({', '.join(RESELLER_COLUMNS)}) VALUES ({marks})",
            _reseller_rows(seeded),
        )
        connection.commit()
        marks = ", ".join("?" for _ in ORDER_COLUMNS)
        statement = f"INSERT INTO orders ({', '.join(ORDER_COLUMNS)}) VALUES ({marks})"
        total = 0
        for chunk in _chunks(_order_rows(seeded, seed), CHUNK * 4):
            cursor.executemany(statement, chunk)
            connection.commit()
            total += len(chunk)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        return total
    finally:
        connection.close()


def _bulk_postgresql(engine: Engine, seeded: SeedPlan, seed: int) -> int:
    connection = engine.raw_connection()
    try:
        driver: Any = connection.driver_connection
        total = 0
        with driver.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'UTC'")
            with cursor.copy(f"COPY resellers ({', '.join(RESELLER_COLUMNS)}) FROM STDIN") as copy:
                for reseller in _reseller_rows(seeded):
                    copy.write_row(reseller)
            with cursor.copy(f"COPY orders ({', '.join(ORDER_COLUMNS)}) FROM STDIN") as copy:
                for order in _order_rows(seeded, seed):
                    copy.write_row(order)
                    total += 1
        driver.commit()
        return total
    finally:
        connection.close()


def seed_database(db: Database, seeded: SeedPlan, seed: int = 5) -> SeedResult:
    """The provider, its two public offers, the resellers and their orders, in `db`."""
    with db.transaction() as session:
        create_provider(session, "Review Bench Fiber", provider_id=PROVIDER_ID)
        session.flush()
        for offer_id, price in OFFERS.items():
            add_offer(session, PROVIDER_ID, offer_id, price=price)
    engine = db.engine
    backend = engine.dialect.name
    table: Any = Order.__table__
    indexes = sorted(table.indexes, key=lambda index: str(index.name))
    # PostgreSQL checks each foreign key row by row during a COPY (5M orders: minutes);
    # added back afterwards, each is validated in one pass. SQLite's checks are cheap.
    foreign_keys = list(table.foreign_key_constraints) if backend == "postgresql" else []

    def orders_schema(present: bool) -> None:
        with engine.begin() as connection:
            for index in indexes:
                (index.create if present else index.drop)(connection)
            for constraint in foreign_keys:
                connection.execute((AddConstraint if present else DropConstraint)(constraint))

    orders_schema(present=False)
    started = time.perf_counter()
    if backend == "sqlite":
        orders = _bulk_sqlite(engine, seeded, seed)
    else:
        orders = _bulk_postgresql(engine, seeded, seed)
    loaded = time.perf_counter()
    orders_schema(present=True)
    indexed = time.perf_counter()
    if backend == "postgresql":
        # What autovacuum would do soon after a load this size: statistics for the planner
        # and a visibility map for index-only scans.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE orders"))
            connection.execute(text("VACUUM ANALYZE resellers"))
    analyzed = time.perf_counter()
    return SeedResult(
        orders=orders,
        resellers=len(seeded.resellers),
        orders_seconds=loaded - started,
        index_seconds=indexed - loaded,
        analyze_seconds=analyzed - indexed,
    )
