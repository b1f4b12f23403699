"""`partnerflow announcements send|list|show|cancel`: one message to an audience of a provider's
partners, now or at a time, and how far each has gone. Sending and cancelling need Temporal
and a worker; listing reads the program database alone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from cli.support import console, program_database, program_db, run, valid, when
from clients.announcements import Announcements
from clients.connection import connect_temporal
from models.announcement import AnnouncementKind, AnnouncementRequest, Audience
from models.partner import PartnerStatus
from models.program import Tier
from runtime.settings import Settings
from services import announcements
from services.announcements import AnnouncementRecord

announcements_app = typer.Typer(
    help="Announcements to a provider's partners: send or schedule one, follow it, cancel it.",
    no_args_is_help=True,
)

ProviderArgument = Annotated[str, typer.Argument(help="The provider, e.g. acme.")]
IdArgument = Annotated[str, typer.Argument(help="The announcement's ID.")]


def _progress(record: AnnouncementRecord) -> str:
    p = record.progress
    return (
        f"{p.recorded} recorded, {p.pending} pending, {p.sent} sent, {p.bounced} bounced, "
        f"{p.failed} failed"
    )


def _table(records: list[AnnouncementRecord], title: str) -> Table:
    table = Table(title=title)
    for column in ("ID", "kind", "subject", "audience", "send at", "status", "progress"):
        table.add_column(column)
    for r in records:
        table.add_row(
            r.announcement_id,
            r.kind.label,
            r.subject,
            r.audience.describe(),
            when(r.send_at),
            r.status.value,
            _progress(r),
        )
    return table


def _show(record: AnnouncementRecord) -> None:
    console.print(_table([record], f"announcement {record.announcement_id}"))
    console.print(f"workflow {record.workflow_id}", highlight=False, soft_wrap=True)
    console.print(record.body, highlight=False, soft_wrap=True, markup=False)


def _audience(
    everyone: bool,
    tiers: list[Tier] | None,
    statuses: list[PartnerStatus] | None,
    offer: str | None,
    partners: list[str] | None,
) -> Audience:
    return Audience(
        all=True if everyone else None,
        tiers=tiers or None,
        statuses=statuses or None,
        offer_id=offer,
        reseller_team_ids=partners or None,
    )


@announcements_app.command("send")
def send(
    provider_id: ProviderArgument,
    kind: Annotated[AnnouncementKind, typer.Option(help="What it is about.")],
    subject: Annotated[str, typer.Option(help="One line, sent as written.")],
    body: Annotated[str, typer.Option(help="The text, sent as written.")],
    everyone: Annotated[
        bool, typer.Option("--all", help="Every partner on the preferred list.")
    ] = False,
    tier: Annotated[list[Tier] | None, typer.Option(help="Partners of this tier (repeat).")] = None,
    status: Annotated[
        list[PartnerStatus] | None, typer.Option(help="Partners of this status (repeat).")
    ] = None,
    offer: Annotated[str | None, typer.Option(help="The partners who see this offer.")] = None,
    partner: Annotated[list[str] | None, typer.Option(help="This partner (repeat).")] = None,
    send_at: Annotated[
        datetime | None, typer.Option(help="When, in UTC (e.g. 2027-01-15T09:00); now if not.")
    ] = None,
    announcement_id: Annotated[
        str | None, typer.Option("--id", help="Its ID; made up if left out.")
    ] = None,
) -> None:
    """Send an announcement now, or schedule it (Temporal and a worker needed)."""
    request = valid(
        lambda: AnnouncementRequest(
            kind=kind,
            subject=subject,
            body=body,
            audience=_audience(everyone, tier, status, offer, partner),
            send_at=send_at.replace(tzinfo=UTC) if send_at and not send_at.tzinfo else send_at,
            announcement_id=announcement_id,
            created_by="cli",
        )
    )
    settings = Settings()

    async def start() -> AnnouncementRecord:
        client = Announcements(await connect_temporal(settings), settings.task_queue)
        return await client.send(db, provider_id, request)

    with program_db() as db:
        record = run(start())
    _show(record)


@announcements_app.command("list")
def list_(
    provider_id: ProviderArgument,
    page: Annotated[int, typer.Option(min=1)] = 1,
    page_size: Annotated[int, typer.Option(min=1, max=200)] = 50,
) -> None:
    """The provider's announcements, newest first, with their progress."""
    with program_database() as session:
        records, total = announcements.list_announcements(
            session, provider_id, page=page, page_size=page_size
        )
    console.print(_table(records, f"announcements of {provider_id} ({total})"))


@announcements_app.command("show")
def show(provider_id: ProviderArgument, announcement_id: IdArgument) -> None:
    """One announcement, its progress and its text."""
    with program_database() as session:
        record = announcements.get_announcement(session, provider_id, announcement_id)
    _show(record)


@announcements_app.command("cancel")
def cancel(provider_id: ProviderArgument, announcement_id: IdArgument) -> None:
    """Cancel an announcement still waiting for its time: nothing of it is sent."""
    settings = Settings()

    async def cancel_it() -> AnnouncementRecord:
        client = Announcements(await connect_temporal(settings), settings.task_queue)
        return await client.cancel(db, provider_id, announcement_id)

    with program_db() as db:
        record = run(cancel_it())
    _show(record)
