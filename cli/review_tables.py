"""A program review as the CLI prints it: the review, its report, the partners it moved, a
dry run, and the Schedules that start reviews."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from rich.table import Table

from cli.support import when
from clients.review_schedules import ReviewScheduleState
from services.review_preview import ReviewPreview
from services.reviews import ReviewRecord, SnapshotRecord


def _days(record: ReviewRecord) -> str:
    last = record.period_end - timedelta(days=1)
    return f"{record.period_start:%Y-%m-%d} to {last:%Y-%m-%d}"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name.replace('_', ' ')} {n}" for name, n in counts.items()) or "-"


def review_table(record: ReviewRecord) -> Table:
    table = Table(title=f"review {record.review_id}", title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("period", f"{record.period} ({_days(record)})")
    table.add_row("metrics window", f"{record.window} (UTC)")
    if record.audit:
        table.add_row("audit", record.audit_reason or "a past-period audit")
    table.add_row("program version", str(record.program_version))
    table.add_row("started", when(record.started_at))
    table.add_row("completed", when(record.completed_at) if record.completed_at else "not yet")
    if record.assessment:
        assessed = record.assessment
        table.add_row("assessed", f"{assessed.resellers} resellers: {_counts(assessed.standings)}")
    if record.fan_out:
        fan_out = record.fan_out
        woken = f"signalled {fan_out.signalled}, nominated as candidates {fan_out.nominated}"
        if fan_out.missing:
            woken += f", {fan_out.missing} listed with no workflow"
        table.add_row("woken", woken)
    return table


def report_tables(record: ReviewRecord) -> list[Table]:
    """The program report: the program at a glance, then the orders by tier."""
    report = record.report
    if report is None:
        return []
    program = Table(title="program report", title_justify="left", show_header=False)
    program.add_column(style="bold")
    program.add_column(justify="right")
    for tier, partners in report.enrollment_by_tier.items():
        program.add_row(f"{tier} partners", str(partners))
    program.add_row("candidates", str(report.candidates))
    program.add_row("at risk", str(report.partners_at_risk))
    program.add_row("removed in the period", str(report.partners_removed))
    program.add_row("retention since last quarter", _rate(report.retention_rate))
    program.add_row("graduations", str(report.graduations))
    program.add_row("graduations per month", f"{report.graduation_rate_per_month:g}")
    program.add_row("orders in the window", f"{report.order_volume:,}")

    tiers = Table(title="orders by tier over the metrics window", title_justify="left")
    for column in ("tier", "resellers", "orders", "acceptance", "completion", "revenue"):
        tiers.add_column(column, justify="left" if column == "tier" else "right")
    for figures in report.by_tier:
        tiers.add_row(
            figures.tier,
            str(figures.resellers),
            f"{figures.orders:,}",
            _rate(figures.acceptance_rate),
            _rate(figures.completion_rate),
            f"{figures.revenue:,.2f}",
        )
    return [program, tiers]


def _status(status: str | None, tier: str) -> str:
    return f"{status} · {tier}" if status else "not a partner"


def preview_table(preview: ReviewPreview) -> Table:
    table = Table(
        title=f"dry run of review {preview.review_id}",
        title_justify="left",
        show_header=False,
    )
    table.add_column(style="bold")
    table.add_column()
    table.add_row("metrics window", f"{preview.window} (UTC)")
    table.add_row("program version", str(preview.program_version))
    if preview.audit:
        table.add_row("audit", f"yes: {preview.audit_reason} A run would change nobody.")
    if preview.already_reviewed:
        table.add_row("already reviewed", "yes: a run now would not decide again")
    table.add_row("resellers", str(preview.resellers))
    table.add_row("by standing", _counts({s.value: n for s, n in preview.standings.items()}))
    return table


def partners_table(title: str, snapshots: Sequence[SnapshotRecord], total: int) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("reseller", "standing", "before", "after"):
        table.add_column(column, no_wrap=True)
    for column in ("orders/month", "completion"):
        table.add_column(column, justify="right")
    table.add_column("failed criteria")
    for row in snapshots:
        table.add_row(
            row.reseller_team_id,
            row.standing.value.replace("_", " "),
            _status(row.status_before, row.tier_before),
            _status(row.status_after, row.tier_after),
            f"{row.orders_per_month:.1f}",
            _rate(row.completion_rate),
            row.failed_criteria or "",
        )
    if total > len(snapshots):
        table.caption = f"{len(snapshots)} of {total} shown"
    return table


def reviews_table(provider_id: str, records: list[ReviewRecord]) -> Table:
    table = Table(title=f"reviews of {provider_id}", title_justify="left")
    for column in ("period", "cadence", "program", "resellers", "woken", "at risk"):
        table.add_column(column)
    table.add_column("started")
    table.add_column("completed")
    for record in records:
        fan_out, report = record.fan_out, record.report
        table.add_row(
            record.period,
            record.cadence.value,
            f"v{record.program_version}",
            str(record.assessment.resellers) if record.assessment else "-",
            str(fan_out.signalled + fan_out.nominated) if fan_out else "-",
            str(report.partners_at_risk) if report else "-",
            when(record.started_at),
            when(record.completed_at) if record.completed_at else "not yet",
        )
    return table


def schedules_table(provider_id: str, states: list[ReviewScheduleState]) -> Table:
    table = Table(title=f"review Schedules of {provider_id}", title_justify="left")
    for column in ("cadence", "Schedule", "state", "next runs", "recent runs"):
        table.add_column(column)
    for state in states:
        if not state.exists:
            table.add_row(
                state.cadence.value,
                state.schedule_id,
                "[yellow]not created[/]: the worker creates it when it starts",
                "",
                "",
            )
            continue
        shown = "[yellow]paused[/]" if state.paused else "[green]active[/]"
        if state.note:
            shown += f"\n{state.note}"
        recent = [f"{when(run.started_at)}  {run.workflow_id}" for run in state.recent_runs[:3]]
        table.add_row(
            state.cadence.value,
            state.schedule_id,
            shown,
            "\n".join(when(at) for at in state.next_runs) or "-",
            "\n".join(recent) or "none yet",
        )
    return table
