"""`partnerflow partners ...`: enroll, steer and read partners, straight through Temporal."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.table import Table
from sqlalchemy import select

from cli.support import ask, console, fail, program_database, program_db, run, valid, when
from models.partner import (
    REASON_MIN_WORDS,
    AtRiskFlag,
    BlockRequest,
    EnrollmentRequest,
    IssueReport,
    IssueSeverity,
    NoteInput,
    NoteKind,
    NoteVisibility,
    PartnerState,
    PartnerStatus,
    ProviderAction,
    RemovalRequest,
    UnblockRequest,
    reason_problem,
)
from models.program import Tier
from models.schema import PreferredListEntry
from runtime.settings import Settings
from services.enrollment import (
    override_problem,
    require_criteria_or_override,
    require_reseller,
)
from services.resellers import reseller_names

if TYPE_CHECKING:
    from temporalio.client import Client

    from clients.partners import PartnerPrograms

partners_app = typer.Typer(help="Partners of a provider's program.", no_args_is_help=True)

Provider = Annotated[str, typer.Argument(help="The provider, e.g. acme.")]
Team = Annotated[str, typer.Argument(help="The reseller, e.g. team-northwind.")]
Reason = Annotated[str, typer.Option(help="Why: the partner is told.")]
Stated = Annotated[
    str, typer.Option(help="Why, in at least three words: the partner is told.", show_default=False)
]
By = Annotated[str, typer.Option("--by", help="Who asks: kept in the history.")]
T = TypeVar("T")


def _stated(reason: str) -> str:
    """The reason for a removal, a block or a flag, or exit 1 if it does not say why."""
    problem = reason_problem(reason)
    if problem:
        raise fail(f"--{problem}")
    return reason


def _partners(call: Callable[[PartnerPrograms], Awaitable[T]]) -> T:
    from clients.partners import PartnerPrograms

    settings = Settings()

    def with_programs(client: Client) -> Awaitable[T]:
        return call(PartnerPrograms(client, settings.task_queue))

    return run(ask(settings, with_programs))


def state_table(state: PartnerState) -> Table:
    table = Table(
        title=f"{state.reseller_team_id} in the program of {state.provider_id}",
        title_justify="left",
        show_header=False,
    )
    table.add_column(style="bold")
    table.add_column()
    table.add_row("status", state.status.value)
    table.add_row("tier", state.tier.value)
    table.add_row("enrolled", when(state.enrolled_at))
    if state.scheduled_enrollment:
        table.add_row("enrolls on", when(state.scheduled_enrollment.effective_date))
    table.add_row("grace deadline", when(state.grace_deadline))
    if state.failed_criteria:
        table.add_row("failing", "\n".join(c.describe() for c in state.failed_criteria))
    if state.blocked_offer_ids:
        table.add_row("blocked from", ", ".join(state.blocked_offer_ids))
    if state.last_review_id:
        table.add_row("last review", f"{state.last_review_id} ({when(state.last_review_at)})")
    table.add_row("notes", str(len(state.notes)))
    if state.issues:
        table.add_row(
            "issues",
            "\n".join(
                f"{when(i.at)} {i.severity.value}: {i.reason} ({i.response.value})"
                for i in state.issues
            ),
        )
    return table


def transitions_table(state: PartnerState) -> Table:
    table = Table(title="transitions", title_justify="left")
    for column in ("#", "when", "status · tier"):
        table.add_column(column, no_wrap=True)
    table.add_column("why, and who")
    for t in state.transitions:
        status = f"{t.from_status.value if t.from_status else 'new'} → {t.to_status.value}"
        tier = (
            t.to_tier.value
            if t.from_tier is t.to_tier
            else f"{t.from_tier.value} → {t.to_tier.value}"
        )
        actor = t.actor.value + (f" {t.actor_id}" if t.actor_id else "")
        table.add_row(
            str(t.sequence), when(t.at), f"{status}\n{tier}", f"{t.reason}\n[dim]by {actor}[/]"
        )
    return table


def _act(provider_id: str, team_id: str, request: ProviderAction) -> None:
    state = _partners(lambda programs: programs.apply(provider_id, team_id, request))
    console.print(state_table(state))


@partners_app.command("show")
def show(provider_id: Provider, reseller_team_id: Team) -> None:
    """A partner's status, tier, grace deadline and transitions, as its workflow knows them."""
    state = _partners(lambda programs: programs.state(provider_id, reseller_team_id))
    console.print(state_table(state))
    console.print(transitions_table(state))


OVERRIDE_BY_OPTIONS = f'rerun with --override --notes "why, in at least {REASON_MIN_WORDS} words"'
"""How an operator enrolls a reseller below the criteria (the refusal ends with it)."""


@partners_app.command("enroll")
def enroll(
    provider_id: Provider,
    reseller_team_id: Team,
    tier: Annotated[
        str, typer.Option(help="silver or gold (preferred or strategic).")
    ] = Tier.SILVER.value,
    effective_date: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Enroll on this day (UTC) instead of now."),
    ] = None,
    notes: Annotated[
        str | None,
        typer.Option(help="A note kept on the partner; with --override, why (3+ words)."),
    ] = None,
    override: Annotated[
        bool,
        typer.Option(
            "--override",
            help="Enroll although the reseller misses the tier's criteria; --notes says why.",
        ),
    ] = False,
    by: By = "cli",
) -> None:
    """Put a reseller on the preferred list (again the same request changes nothing). A
    reseller below the tier's criteria is refused, each missed criterion listed, unless
    --override with the reason in --notes, which the enrollment's transition records."""
    effective = (
        datetime.combine(date.fromisoformat(effective_date.date().isoformat()), time(), UTC)
        if effective_date
        else None
    )
    problem = override_problem(
        override,
        notes,
        min_words=REASON_MIN_WORDS,
        override_name="--override",
        notes_name="--notes",
    )
    if problem:
        raise fail(problem)
    request = valid(
        lambda: EnrollmentRequest.model_validate(
            {
                "tier": tier,
                "effective_date": effective,
                "notes": notes,
                "override": override,
                "requested_by": by,
            }
        )
    )
    with program_db() as db:
        require_reseller(db, reseller_team_id)
        require_criteria_or_override(
            db,
            provider_id,
            reseller_team_id,
            request.tier,
            override=request.override,
            how_to_override=OVERRIDE_BY_OPTIONS,
        )
    state = _partners(lambda programs: programs.enroll(provider_id, reseller_team_id, request))
    console.print(state_table(state))


@partners_app.command("remove")
def remove(provider_id: Provider, reseller_team_id: Team, reason: Stated, by: By = "cli") -> None:
    """Take a partner off the preferred list; it loses its offers and is told why."""
    request = valid(lambda: RemovalRequest(reason=_stated(reason), requested_by=by))
    _act(provider_id, reseller_team_id, request)


@partners_app.command("note")
def note(
    provider_id: Provider,
    reseller_team_id: Team,
    text: Annotated[str, typer.Argument(help="The note.")],
    kind: Annotated[NoteKind, typer.Option(help="What kind of note.")] = NoteKind.OTHER,
    visibility: Annotated[
        NoteVisibility,
        typer.Option(
            help="internal: the provider's own; partner: shown to the reseller in its portal."
        ),
    ] = NoteVisibility.INTERNAL,
    by: By = "cli",
) -> None:
    """Add a dated note to a partner."""
    request = valid(lambda: NoteInput(text=text, kind=kind, visibility=visibility, requested_by=by))
    _act(provider_id, reseller_team_id, request)


@partners_app.command("flag")
def flag(
    provider_id: Provider,
    reseller_team_id: Team,
    reason: Stated,
    grace_days: Annotated[
        int | None, typer.Option(help="30-60 days; the program's by default.")
    ] = None,
    by: By = "cli",
) -> None:
    """Flag a preferred partner at risk: it is warned and has a grace period to recover."""
    request = valid(
        lambda: AtRiskFlag(reason=_stated(reason), grace_days=grace_days, requested_by=by)
    )
    _act(provider_id, reseller_team_id, request)


@partners_app.command("report-issue")
def report_issue(
    provider_id: Provider,
    reseller_team_id: Team,
    reason: Reason,
    severity: Annotated[
        IssueSeverity, typer.Option(help="minor climbs the response one step, serious two.")
    ] = IssueSeverity.MINOR,
    by: By = "cli",
) -> None:
    """Report an issue: a friendly notice first, a formal one for a repeat within the
    program's issue window, then at risk."""
    request = valid(lambda: IssueReport(reason=reason, severity=severity, requested_by=by))
    _act(provider_id, reseller_team_id, request)


@partners_app.command("block")
def block(
    provider_id: Provider,
    reseller_team_id: Team,
    reason: Stated,
    offer: Annotated[
        list[str] | None, typer.Option(help="An offer to block (repeat); none: every offer.")
    ] = None,
    by: By = "cli",
) -> None:
    """Block a partner from some offers, or from all of them; its exclusives on those offers
    end at once (all of them, for a block of every offer)."""
    request = valid(
        lambda: BlockRequest(reason=_stated(reason), offer_ids=offer or [], requested_by=by)
    )
    _act(provider_id, reseller_team_id, request)


@partners_app.command("unblock")
def unblock(provider_id: Provider, reseller_team_id: Team, reason: Reason, by: By = "cli") -> None:
    """Lift a partner's block. Exclusives the block ended stay ended."""
    request = valid(lambda: UnblockRequest(reason=reason, requested_by=by))
    _act(provider_id, reseller_team_id, request)


@partners_app.command("list")
def list_partners(
    provider_id: Provider,
    status: Annotated[PartnerStatus | None, typer.Option(help="Only this status.")] = None,
    tier: Annotated[str | None, typer.Option(help="Only this tier.")] = None,
) -> None:
    """The provider's partners as their workflows last recorded them (from the database)."""
    try:
        wanted_tier = Tier(tier) if tier else None
    except ValueError:
        raise fail(f"unknown tier {tier!r}: use silver or gold") from None
    query = select(PreferredListEntry).where(PreferredListEntry.provider_id == provider_id)
    if status is not None:
        query = query.where(PreferredListEntry.status == status.value)
    if wanted_tier is not None:
        query = query.where(PreferredListEntry.tier == wanted_tier.value)
    table = Table(title=f"partners of {provider_id}", title_justify="left")
    for column in ("reseller", "name", "status", "tier", "enrolled", "grace deadline"):
        table.add_column(column)
    with program_database() as session:
        rows = session.scalars(query.order_by(PreferredListEntry.reseller_team_id)).all()
        names = reseller_names(session, [row.reseller_team_id for row in rows])
        for row in rows:
            table.add_row(
                row.reseller_team_id,
                names.get(row.reseller_team_id, "-"),
                row.status,
                row.tier,
                when(row.enrolled_at),
                when(row.grace_deadline),
            )
    console.print(table)
    console.print(f"{len(rows)} partner(s)")
