"""Program changes kept apart from the program in force: scheduled for a date, put in force by
the program-change workflow at that date, and the partners a tightening change affects.

Shared by the services (which schedule and cancel) and the activities (which apply and
announce): each write checks the change's status in the same transaction that moves it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.metrics import CriterionResult, PartnerMetrics, failed, window_bounds
from models.program import ProgramSettings, Tier
from models.program_change import ChangeApplied, ProgramChangeStatus
from models.schema import ProgramChangeRow, ProgramVersion, Provider
from models.standing import retention_check
from store.assessment import Figures
from store.metrics import metrics_from_row

INITIAL_AUTHOR = "initial settings"
"""Who the history names for the settings a provider started with, where none was recorded."""


def in_force(provider: Provider) -> ProgramSettings:
    """The program in force, named by the provider's version column."""
    settings = ProgramSettings.model_validate(provider.program)
    return settings.model_copy(update={"version": provider.program_version})


def next_version(session: Session, provider: Provider) -> int:
    """The number of the next change: after the version in force and after every change
    recorded apart (a cancelled one keeps its number, and its workflow's ID)."""
    latest = session.scalar(
        select(func.max(ProgramChangeRow.version)).where(
            ProgramChangeRow.provider_id == provider.id
        )
    )
    return max(provider.program_version, latest or 0) + 1


def keep_initial(session: Session, provider: Provider) -> None:
    """Record the settings in force as their version where seeding code never did, so that the
    history and an announcement can name what a change replaces."""
    if session.get(ProgramVersion, (provider.id, provider.program_version)) is None:
        session.add(
            ProgramVersion(
                provider_id=provider.id,
                version=provider.program_version,
                program=in_force(provider).model_dump(mode="json"),
                changed_by=INITIAL_AUTHOR,
                created_at=provider.created_at,
            )
        )


def put_in_force(
    session: Session, provider: Provider, settings: ProgramSettings, changed_by: str
) -> ProgramVersion:
    """Make `settings` (carrying their version) the program in force, and record them."""
    keep_initial(session, provider)
    row = ProgramVersion(
        provider_id=provider.id,
        version=settings.version,
        program=settings.model_dump(mode="json"),
        changed_by=changed_by,
    )
    session.add(row)
    provider.program = settings.model_dump(mode="json")
    provider.program_version = settings.version
    return row


def change_settings(row: ProgramChangeRow) -> ProgramSettings:
    settings = ProgramSettings.model_validate(row.program)
    return settings.model_copy(update={"version": row.version})


def scheduled_change(
    session: Session, provider_id: str, *, lock: bool = False
) -> ProgramChangeRow | None:
    """The change waiting for its date, if there is one (there is at most one)."""
    query = (
        select(ProgramChangeRow)
        .where(
            ProgramChangeRow.provider_id == provider_id,
            ProgramChangeRow.status == ProgramChangeStatus.SCHEDULED.value,
        )
        .order_by(ProgramChangeRow.version.desc())
        .limit(1)
    )
    return session.scalar(query.with_for_update() if lock else query)


def apply_change(session: Session, provider_id: str, version: int, now: datetime) -> ChangeApplied:
    """Put a scheduled change in force, once: a change already applied, cancelled or
    superseded (the program moved on from the version it was based on) is left as it is."""
    provider = session.get(Provider, provider_id, with_for_update=True, populate_existing=True)
    row = session.get(
        ProgramChangeRow, (provider_id, version), with_for_update=True, populate_existing=True
    )
    if provider is None or row is None:
        return ChangeApplied(status=ProgramChangeStatus.CANCELLED, changed=False)
    if row.status != ProgramChangeStatus.SCHEDULED.value:
        return ChangeApplied(status=ProgramChangeStatus(row.status), changed=False)
    if provider.program_version != row.based_on:
        row.status, row.settled_at = ProgramChangeStatus.SUPERSEDED.value, now
        return ChangeApplied(status=ProgramChangeStatus.SUPERSEDED, changed=False)
    put_in_force(session, provider, change_settings(row), row.changed_by)
    row.status, row.settled_at = ProgramChangeStatus.APPLIED.value, now
    session.flush()
    return ChangeApplied(status=ProgramChangeStatus.APPLIED, changed=True)


def program_before(session: Session, row: ProgramChangeRow) -> ProgramSettings | None:
    """The program a change replaces (the version it was based on)."""
    kept = session.get(ProgramVersion, (row.provider_id, row.based_on))
    if kept is not None:
        return ProgramSettings.model_validate(kept.program).model_copy(
            update={"version": kept.version}
        )
    provider = session.get(Provider, row.provider_id)
    if provider is not None and provider.program_version == row.based_on:
        return in_force(provider)
    return None


@dataclass(frozen=True)
class AffectedPartner:
    """A listed partner that meets its tier under the old program and would miss it under the
    new one: its figures over the new program's window, and the criteria it would miss."""

    reseller_team_id: str
    tier: Tier
    metrics: PartnerMetrics
    missed: list[CriterionResult]


def _metrics_by_team(
    session: Session, provider_id: str, now: datetime, days: int
) -> tuple[Figures, dict[str, PartnerMetrics]]:
    figures = Figures(session, provider_id, *window_bounds(now, days))
    metrics = {
        team_id: metrics_from_row(
            provider_id,
            team_id,
            figures.window_start,
            figures.window_end,
            figures.rows.get(team_id),
            figures.joined.get(team_id),
        )
        for team_id, listing in figures.listed.items()
        if listing.status.on_preferred_list
    }
    return figures, metrics


def affected_partners(
    session: Session, provider_id: str, old: ProgramSettings, new: ProgramSettings, now: datetime
) -> list[AffectedPartner]:
    """The partners a change would take below their tier, each judged under each program over
    that program's own window, as the reviews would judge it."""
    figures, after = _metrics_by_team(session, provider_id, now, new.metrics_window_days)
    before = after
    if old.metrics_window_days != new.metrics_window_days:
        before = _metrics_by_team(session, provider_id, now, old.metrics_window_days)[1]
    affected = []
    for team_id, metrics in sorted(after.items()):
        tier = figures.listed[team_id].tier
        if tier not in new.partner_tiers or tier not in old.partner_tiers:
            continue
        if failed(retention_check(before[team_id], old, tier)):
            continue
        missed = failed(retention_check(metrics, new, tier))
        if missed:
            affected.append(AffectedPartner(team_id, tier, metrics, missed))
    return affected
