"""`partnerflow reviews ...`: run a program review now, read the reports, see the Schedules.

`run` and `schedules` go to Temporal; `list` and `show` read the program
database, where the review workflow stores each review and its report.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

import typer
from temporalio.client import WorkflowFailureError
from temporalio.service import RPCError

from cli.review_tables import (
    partners_table,
    preview_table,
    report_tables,
    review_table,
    reviews_table,
    schedules_table,
)
from cli.support import console, fail, program_database, run, valid
from clients.connection import TemporalUnreachable, connect_temporal
from clients.requests import rejection_message
from clients.review_schedules import (
    ReviewScheduleState,
    SchedulesUnavailable,
    describe_schedules,
    ensure_provider,
)
from clients.reviews import ReviewRejected, Reviews
from models.review import (
    ReviewCadence,
    ReviewOutcome,
    ReviewPeriod,
    ReviewRequest,
    acts_on,
    audit_reason,
    review_id,
)
from models.schema import Provider
from models.standing import Standing
from runtime.settings import Settings
from services import reviews
from services.errors import InputError
from services.review_preview import preview_review

reviews_app = typer.Typer(
    help="Program reviews of a provider: run one, read the reports, see the Schedules.",
    no_args_is_help=True,
)

ProviderOption = Annotated[str, typer.Option("--provider", help="The provider, e.g. acme.")]
CadenceOption = Annotated[ReviewCadence, typer.Option(help="monthly or quarterly.")]
PeriodOption = Annotated[
    str | None,
    typer.Option(help="2026-11 (monthly) or 2026-Q4 (quarterly); default: the last one ended."),
]
PARTNERS_SHOWN = 50
CONNECT_TIMEOUT = 10.0
CHANGED = [s for s in Standing if s not in (Standing.UNCHANGED, Standing.DECIDED_SINCE)]


def _period(request: ReviewRequest) -> ReviewPeriod:
    try:
        return reviews.period_to_review(request, datetime.now(UTC))
    except InputError as error:
        raise fail(str(error)) from None


def _require_provider(provider_id: str) -> None:
    with program_database() as session:
        if session.get(Provider, provider_id) is None:
            raise fail(f"no provider {provider_id!r} in the program database")


async def _start(settings: Settings, request: ReviewRequest, wait: bool) -> ReviewOutcome | None:
    client = await connect_temporal(settings)
    handle = await Reviews(client, settings.task_queue).start(request)
    if handle.result_run_id is not None:
        console.print(f"Started review {handle.id}", highlight=False)
    else:
        console.print(f"Review {handle.id} was already started: not run again", highlight=False)
    if not wait:
        return None
    waiting = f"Waiting for {handle.id} (a worker runs it; Ctrl-C stops waiting, not the review)"
    with console.status(waiting):
        try:
            return await handle.result()
        except WorkflowFailureError as error:
            raise ReviewRejected(f"review {handle.id} failed: {rejection_message(error)}") from None


def _print_review(provider_id: str, period: ReviewPeriod) -> None:
    with program_database() as session:
        record = reviews.get_review(session, provider_id, period)
        changed, total = reviews.list_snapshots(
            session, provider_id, period, standing=CHANGED, page_size=PARTNERS_SHOWN
        )
    console.print(review_table(record))
    for table in report_tables(record):
        console.print(table)
    if record.assessment is not None:
        title = (
            "partners whose standing the audit found changed (none was told or moved)"
            if record.audit
            else "partners whose standing changed"
        )
        console.print(partners_table(title, changed, total))


def _print_dry_run(provider_id: str, period: ReviewPeriod) -> None:
    with program_database() as session:
        preview = preview_review(
            session,
            provider_id,
            period,
            datetime.now(UTC),
            standing=CHANGED,
            page_size=PARTNERS_SHOWN,
        )
    console.print("A dry run: nothing was written, signalled or sent.", highlight=False)
    console.print(preview_table(preview))
    console.print(
        partners_table(
            "partners whose standing the review would find changed", preview.partners, preview.total
        )
    )


@reviews_app.command("run")
def run_review(
    provider_id: ProviderOption,
    cadence: CadenceOption,
    period: PeriodOption = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait for the review to end and print its report.")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Only show what the review would decide: no signal, message or write.",
        ),
    ] = False,
) -> None:
    """Review a period now. A period already reviewed (or under review) is not run again."""
    request = valid(lambda: ReviewRequest(provider_id=provider_id, cadence=cadence, period=period))
    target = _period(request)
    _require_provider(provider_id)
    if dry_run:
        _print_dry_run(provider_id, target)
        return
    if not acts_on(target, datetime.now(UTC)):
        console.print(f"A past-period audit: {audit_reason(target)}", highlight=False)
    outcome = run(_start(Settings(), request.model_copy(update={"period": target.label}), wait))
    if outcome is None:
        console.print(
            f"Read it with: partnerflow reviews show {review_id(provider_id, target)}",
            highlight=False,
        )
        return
    _print_review(provider_id, target)
    if outcome.scorecards_delivered is not None:
        delivered = outcome.scorecards_delivered
        console.print(f"{delivered.sent} scorecards delivered, {delivered.refused} refused")
    elif outcome.scorecards is not None:
        console.print(f"{outcome.scorecards.sent} scorecards sent")


@reviews_app.command("list")
def list_command(
    provider_id: ProviderOption,
    cadence: Annotated[ReviewCadence | None, typer.Option(help="Only this cadence.")] = None,
) -> None:
    """The provider's reviews, the latest period first (from the database)."""
    with program_database() as session:
        records, total = reviews.list_reviews(
            session, provider_id, cadence=cadence, page_size=10_000
        )
    console.print(reviews_table(provider_id, records))
    console.print(f"{total} review(s)")


@reviews_app.command("show")
def show(
    review: Annotated[
        str | None, typer.Argument(help="A review ID, e.g. review/acme/monthly/2026-10.")
    ] = None,
    provider_id: Annotated[str | None, typer.Option("--provider", help="The provider.")] = None,
    cadence: Annotated[ReviewCadence | None, typer.Option(help="monthly or quarterly.")] = None,
    period: Annotated[str | None, typer.Option(help="2026-11 or 2026-Q4.")] = None,
) -> None:
    """A review and its program report: enrollment, retention, orders by tier, and the
    partners whose standing it changed. Name it by ID or by provider, cadence and period."""
    try:
        if review is not None:
            if provider_id or cadence or period:
                raise InputError("name the review by its ID or by the options, not both")
            provider_id, wanted = reviews.parse_review_id(review)
        elif provider_id and cadence and period:
            wanted = reviews.review_period(cadence, period)
        else:
            raise InputError("name a review: its ID, or --provider, --cadence and --period")
    except InputError as error:
        raise fail(str(error)) from None
    _print_review(provider_id, wanted)


@reviews_app.command("schedules")
def schedules(provider_id: ProviderOption) -> None:
    """The provider's monthly and quarterly review Schedules: paused or not, next and recent
    runs. Pause and resume them in the Temporal UI (Schedules)."""
    settings = Settings()

    async def describe() -> list[ReviewScheduleState]:
        client = await connect_temporal(settings)
        return await describe_schedules(Reviews(client, settings.task_queue), provider_id)

    try:
        states = run(describe())
    except SchedulesUnavailable as error:
        raise fail(str(error)) from None
    console.print(schedules_table(provider_id, states))


async def create_schedules(settings: Settings, provider_id: str) -> str:
    """Create a new provider's review Schedules, or say why the worker will have to."""
    later = "the worker creates its review Schedules when it starts"
    try:
        client = await asyncio.wait_for(connect_temporal(settings), CONNECT_TIMEOUT)
    except (TemporalUnreachable, TimeoutError):
        return f"Temporal does not answer at {settings.temporal_address}: {later}"
    try:
        created = await ensure_provider(Reviews(client, settings.task_queue), provider_id)
    except (SchedulesUnavailable, RPCError) as error:
        return f"review Schedules not created ({error}): {later}"
    made = ", ".join(created) or "already there"
    return f"review Schedules {made} (pause them in the Temporal UI, under Schedules)"
