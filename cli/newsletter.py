"""`partnerflow newsletter show|on|off|send|preview`: a provider's monthly newsletter. Turning
it on or off and sending need Temporal (and a worker to send); showing and previewing read the
program database alone."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from cli.support import console, fail, program_database, program_db, run, when
from clients.connection import connect_temporal
from clients.newsletters import Newsletters
from clients.review_schedules import SchedulesUnavailable
from models.newsletter import MONTH_PATTERN, month_before
from runtime.settings import Settings
from services.newsletters import NewsletterState, newsletter_state, preview_newsletter

newsletter_app = typer.Typer(
    help="A provider's monthly newsletter: turn it on or off, send a month, preview it.",
    no_args_is_help=True,
)

ProviderArgument = Annotated[str, typer.Argument(help="The provider, e.g. acme.")]
MonthOption = Annotated[
    str | None,
    typer.Option(help="The month, e.g. 2026-11; the month just ended if left out."),
]


def _month(month: str | None) -> str:
    if month is None:
        return month_before(datetime.now(UTC))
    if not re.fullmatch(MONTH_PATTERN[1:-1], month):
        raise fail(f"--month: {month!r} is not a month such as 2026-11")
    return month


def _show(provider_id: str, state: NewsletterState) -> None:
    on = "on" if state.enabled else "off"
    console.print(
        f"newsletter of {provider_id}: {on}"
        + (f", next sent {when(state.next_send_at)} UTC" if state.next_send_at else ""),
        highlight=False,
    )
    console.print(f"Schedule {state.schedule_id}", highlight=False, soft_wrap=True)
    table = Table(title=f"newsletters of {provider_id} ({len(state.months)})")
    for column in ("month", "status", "partners", "sent", "bounced", "failed", "pending"):
        table.add_column(column)
    for m in state.months:
        p = m.progress
        table.add_row(
            m.month,
            m.status.value,
            str(m.recipients if m.recipients is not None else "-"),
            str(p.sent),
            str(p.bounced),
            str(p.failed),
            str(p.pending),
        )
    console.print(table)


@newsletter_app.command("show")
def show(provider_id: ProviderArgument) -> None:
    """Whether the newsletter is on, when the next goes out, and the months sent."""
    with program_database() as session:
        state = newsletter_state(session, provider_id, datetime.now(UTC))
    _show(provider_id, state)


def _turn(provider_id: str, enabled: bool) -> None:
    settings = Settings()

    async def turn() -> NewsletterState:
        newsletters = Newsletters(await connect_temporal(settings), settings.task_queue)
        with db.transaction() as session:
            return await newsletters.turn(session, provider_id, enabled, datetime.now(UTC))

    with program_db() as db:
        try:
            state = run(turn())
        except SchedulesUnavailable as error:
            raise fail(str(error)) from None
    _show(provider_id, state)


@newsletter_app.command("on")
def on(provider_id: ProviderArgument) -> None:
    """Send the newsletter at 09:00 UTC on each 1st to every partner on the list."""
    _turn(provider_id, True)


@newsletter_app.command("off")
def off(provider_id: ProviderArgument) -> None:
    """Stop sending the newsletter (its Schedule is deleted)."""
    _turn(provider_id, False)


@newsletter_app.command("send")
def send(provider_id: ProviderArgument, month: MonthOption = None) -> None:
    """Send one month's newsletter now (once: a month sent is not sent again)."""
    chosen = _month(month)
    settings = Settings()

    async def start() -> str:
        newsletters = Newsletters(await connect_temporal(settings), settings.task_queue)
        with db.transaction() as session:
            handle = await newsletters.send(session, provider_id, chosen, datetime.now(UTC))
        return handle.id

    with program_db() as db:
        workflow_id = run(start())
    console.print(f"newsletter for {chosen}: workflow {workflow_id}", highlight=False)


@newsletter_app.command("preview")
def preview(
    provider_id: ProviderArgument,
    reseller_team_id: Annotated[str, typer.Argument(help="A partner on the list.")],
    month: MonthOption = None,
) -> None:
    """What one partner would read in a month's newsletter; nothing is sent."""
    chosen = _month(month)
    with program_database() as session:
        shown = preview_newsletter(session, provider_id, reseller_team_id, chosen)
    console.print(shown.subject, highlight=False, markup=False, soft_wrap=True)
    console.print()
    console.print(shown.body, highlight=False, markup=False, soft_wrap=True)
