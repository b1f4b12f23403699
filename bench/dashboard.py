"""The dashboard's pages against the JSON API calls that serve the same data (issue 17).

    python -m bench.dashboard [--resellers 10000] [--orders 1000000] [--postgres URL]

Seeds one provider with the review benchmark's resellers and orders (bench/review_seed.py)
and puts its partners on the preferred list, then times each page and its JSON twin in
turn, in one process, through the ASGI app (no network): p50 and p95 of each, and the
ratio page ÷ API. The pages timed read only the database, as their twins do.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import httpx
from cryptography.fernet import Fernet
from rich.console import Console
from rich.table import Table
from sqlalchemy import insert
from temporalio.client import Client

from api.app import create_app
from api.deps import Services
from bench.environment import code_version, machine
from bench.figures import percentile
from bench.review_seed import PROVIDER_ID, plan_resellers, seed_database
from models.contract import partner_workflow_id
from models.database import Database
from models.partner import PartnerStatus
from models.schema import PreferredListEntry
from services.providers import issue_key
from store.database import open_database

PAIRS: tuple[tuple[str, str, str], ...] = (
    ("overview", "/", "/provider/partners?status=at_risk&pageSize=50"),
    ("partners", "/partners", "/provider/partners?pageSize=50"),
    (
        "partners, at risk",
        "/partners?status=at_risk&sort=grace_deadline",
        "/provider/partners?status=at_risk",
    ),
    ("resellers search", "/resellers?q=team-00012", "/provider/resellers?q=team-00012"),
    ("reviews", "/reviews", "/provider/reviews"),
)
"""(page, its URL, the JSON call serving the same data)."""
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def list_partners(db: Database, resellers: Sequence[tuple[str, PartnerStatus, str]]) -> int:
    """The seeded partners on the list, some at risk with a deadline, as their workflows
    would have written them (no workflow runs: the pages timed only read the list)."""
    now = datetime.now(UTC)
    rows = [
        {
            "provider_id": PROVIDER_ID,
            "reseller_team_id": team,
            "workflow_id": partner_workflow_id(PROVIDER_ID, team),
            "partnership_id": f"bench-{team}",
            "status": status.value,
            "tier": tier,
            "enrolled_at": now - timedelta(days=200),
            "grace_deadline": now + timedelta(days=5 + n % 40)
            if status is PartnerStatus.AT_RISK
            else None,
            "last_sequence": 1,
            "updated_at": now - timedelta(days=n % 90),
        }
        for n, (team, status, tier) in enumerate(resellers)
    ]
    with db.transaction() as session:
        session.execute(insert(PreferredListEntry), rows)
    return len(rows)


async def signed_in(client: httpx.AsyncClient, key: str) -> None:
    form = await client.get("/sign-in")
    found = CSRF.search(form.text)
    if found is None:
        raise RuntimeError(f"no sign-in form: {form.status_code} {form.text[:200]}")
    answer = await client.post("/sign-in", data={"csrf": found.group(1), "api_key": key})
    if answer.status_code != 303:
        raise RuntimeError(f"sign-in refused: {answer.status_code} {answer.text[:200]}")


async def timed(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    response = await client.get(url, headers=headers)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"{url}: {response.status_code} {response.text[:300]}")
    return elapsed


Figures = list[tuple[str, list[float], list[float]]]
"""Each page's name, its timings and its twin's, in seconds."""


async def measure(db: Database, key: str, rounds: int) -> Figures:
    # The pages timed read the database only; no Temporal client is made.
    app = create_app(Services(db=db, client=cast(Client, None), task_queue="bench-dashboard"))
    transport = httpx.ASGITransport(app=app)
    figures: Figures = []
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        await signed_in(client, key)
        api = {"x-api-key": key}
        for name, page, twin in PAIRS:
            for _ in range(3):  # warm both, untimed
                await timed(client, page, {})
                await timed(client, twin, api)
            pages, twins = [], []
            for _ in range(rounds):  # alternated, so that the machine's noise hits both alike
                pages.append(await timed(client, page, {}))
                twins.append(await timed(client, twin, api))
            figures.append((name, pages, twins))
    return figures


def table(figures: Figures) -> Table:
    shown = Table(title="dashboard pages against their JSON twins (ms)", title_justify="left")
    for column in ("page", "page p50", "page p95", "API p50", "API p95", "p50 ratio", "p95 ratio"):
        shown.add_column(column, justify="left" if column == "page" else "right")
    for name, pages, twins in figures:
        p50, p95 = percentile(pages, 50), percentile(pages, 95)
        a50, a95 = percentile(twins, 50), percentile(twins, 95)
        shown.add_row(
            name,
            f"{p50 * 1000:.1f}",
            f"{p95 * 1000:.1f}",
            f"{a50 * 1000:.1f}",
            f"{a95 * 1000:.1f}",
            f"{p50 / a50:.2f}",
            f"{p95 / a95:.2f}",
        )
    return shown


def run(options: argparse.Namespace, console: Console) -> None:
    os.environ.setdefault("PARTNERFLOW_SECRET_KEY", Fernet.generate_key().decode())
    with tempfile.TemporaryDirectory() as scratch:
        url = options.postgres or f"sqlite:///{Path(scratch) / 'dashboard.db'}"
        db = open_database(url, upgrade=options.postgres is None)
        try:
            plan = plan_resellers(
                options.resellers,
                options.orders,
                now=datetime.now(UTC),
                max_partners=options.partners,
            )
            console.print(f"seeding {options.resellers} resellers, {options.orders} orders …")
            seeded = seed_database(db, plan)
            partners = [
                (r.team_id, r.role.status, r.role.tier.value)
                for r in plan.partners
                if r.role.status is not None
            ]
            listed = list_partners(db, partners)
            with db.transaction() as session:
                key = issue_key(session, PROVIDER_ID, label=f"bench {secrets.token_hex(2)}")
            console.print(
                f"{seeded.resellers} resellers, {seeded.orders} orders, {listed} partners listed; "
                f"{db.engine.dialect.name}; {machine()['cpus']} CPUs; {code_version()}"
            )
            figures = asyncio.run(measure(db, key, options.rounds))
        finally:
            db.engine.dispose()
    console.print(table(figures))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resellers", type=int, default=10_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--partners", type=int, default=400, help="partners on the list, at most")
    parser.add_argument("--postgres", help="a PostgreSQL URL to seed (its tables must be empty)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    run(parse_args(argv), Console())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
