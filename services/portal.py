"""What a reseller reads in its portal and through the `/reseller/` API: the programs it
sees, where it stands in each, what it needs to reach the next tier, the offers it sees with
the price it gets, its agreements and scorecards, and the messages the programs sent it.

A reseller sees a provider's program when it is (or was) on the provider's preferred list
or sees at least one of the provider's offers. Everything here is read for one reseller
team, named by its own key: no argument can widen it to another reseller's data. Figures
come from the orders, as the provider's own views read them, over the program's metrics
window ending now; the standing (status, tier, deadline) is the preferred list's.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.metrics import (
    CriterionResult,
    MetricsView,
    PartnerMetrics,
    criterion_needs,
    evaluate,
    failed,
    window_bounds,
)
from models.partner import PartnerStatus, days_left
from models.program import ProgramSettings, Tier
from models.review import window_text
from models.schema import (
    PartnerNote,
    PreferredListEntry,
    Provider,
    Reseller,
    TransitionLogEntry,
)
from models.wire import ApiModel
from services.errors import NotFoundError
from store.metrics import metrics_from_row, metrics_query
from store.offer_access import providers_seen, visible_offer_ids
from store.program_changes import in_force

SHARED_NOTE = "partner"
"""The visibility of a provider's note that its partner reads; every other note is internal."""


class View(ApiModel):
    """What the portal reads, as the `/reseller/` API shows it: camelCase, immutable."""

    model_config = ConfigDict({**ApiModel.model_config, "frozen": True})


def _entry(session: Session, provider_id: str, team_id: str) -> PreferredListEntry | None:
    return session.get(PreferredListEntry, (provider_id, team_id))


def _sees(session: Session, provider_id: str, team_id: str) -> bool:
    return _entry(session, provider_id, team_id) is not None or bool(
        visible_offer_ids(session, provider_id, team_id)
    )


def visible_programs(session: Session, team_id: str) -> list[str]:
    """The providers whose programs the reseller sees, by ID, in two statements."""
    listed = session.scalars(
        select(PreferredListEntry.provider_id).where(PreferredListEntry.reseller_team_id == team_id)
    )
    return sorted(set(listed) | providers_seen(session, team_id))


def require_program(session: Session, provider_id: str, team_id: str) -> Provider:
    """The provider, if the reseller sees its program; NotFoundError otherwise, whether the
    provider exists or not."""
    provider = session.get(Provider, provider_id)
    if provider is None or not _sees(session, provider_id, team_id):
        raise NotFoundError(f"no program of a provider {provider_id} is open to you")
    return provider


class ResellerIdentity(View):
    reseller_team_id: str
    name: str | None


def reseller_identity(session: Session, team_id: str) -> ResellerIdentity:
    name = session.scalar(select(Reseller.name).where(Reseller.team_id == team_id))
    return ResellerIdentity(reseller_team_id=team_id, name=name)


class CriterionGap(View):
    """One criterion against the reseller's figures, and what it needs to reach the line."""

    name: str
    label: str
    required: float
    actual: float | None
    met: bool
    at_most: bool = False
    text: str = Field(description="As a person reads it: 'acceptance 88.0% < 90.0%'.")
    needs: str | None = Field(
        description="What reaching the line takes ('12 more orders a month'); null when met."
    )
    progress: float = Field(ge=0, le=1, description="How far to the line, 0 to 1 (for bars).")


def _gap(result: CriterionResult, window_days: int) -> CriterionGap:
    progress = 1.0 if result.met else 0.0
    if not result.met and result.actual is not None and result.required > 0:
        progress = max(0.0, min(1.0, result.actual / result.required))
    return CriterionGap(
        name=result.name,
        label=result.label,
        required=result.required,
        actual=result.actual,
        met=result.met,
        at_most=result.at_most,
        text=result.describe(),
        needs=criterion_needs(result, window_days),
        progress=round(progress, 4),
    )


class TierCriteriaView(View):
    tier: Tier
    met: bool = Field(description="Every criterion of the tier is met today.")
    criteria: list[CriterionGap]


class SharedNote(View):
    at: datetime
    kind: str
    text: str
    author: str


class ProgramStanding(View):
    """Where the reseller stands in one provider's program today."""

    provider_id: str
    provider_name: str
    status: PartnerStatus | None = Field(description="Null: not on the provider's preferred list.")
    tier: Tier
    enrolled_at: datetime | None
    grace_deadline: datetime | None
    days_left: int | None = Field(
        description="Calendar days (UTC) until the grace deadline, 0 on its day."
    )
    at_risk_reason: str | None
    window: str = Field(description="The window the figures are over, as people read it.")
    metrics: MetricsView
    current_tier: TierCriteriaView | None = Field(
        description="The criteria of the reseller's tier (not tenure, which only gates a "
        "promotion): what keeps it."
    )
    to_fix: list[CriterionGap] = Field(
        description="The criteria of its tier it is below today: what to bring back above the line."
    )
    next_tier: TierCriteriaView | None = Field(
        description="The tier above (silver for a reseller not on the list) and its criteria."
    )
    shared_notes: list[SharedNote]
    offers_visible: int


def _program(provider: Provider) -> ProgramSettings:
    return in_force(provider)


def figures(
    session: Session, provider_id: str, team_id: str, now: datetime, window_days: int
) -> PartnerMetrics:
    """The reseller's metrics with the provider over the window ending `now`."""
    start, end = window_bounds(now, window_days)
    row = session.execute(metrics_query(provider_id, start, end, [team_id])).one_or_none()
    joined = None
    if row is None:
        joined = session.scalar(select(Reseller.joined_at).where(Reseller.team_id == team_id))
    return metrics_from_row(provider_id, team_id, start, end, row, joined)


def tier_view(
    tier: Tier, metrics: PartnerMetrics, program: ProgramSettings, *, keeping: bool
) -> TierCriteriaView | None:
    criteria = program.criteria_for(tier)
    if criteria is None:
        return None
    results = evaluate(
        metrics,
        criteria,
        include_tenure=not keeping,
        unrated=program.unrated,
        basis_days=program.metrics_window_days,
    )
    gaps = [_gap(result, program.metrics_window_days) for result in results]
    return TierCriteriaView(tier=tier, met=not failed(results), criteria=gaps)


def tier_above(tier: Tier, program: ProgramSettings) -> Tier | None:
    above = [t for t in program.partner_tiers if t.rank > tier.rank]
    return above[0] if above else None


def _at_risk_reason(session: Session, provider_id: str, team_id: str) -> str | None:
    return session.scalar(
        select(TransitionLogEntry.reason)
        .where(
            TransitionLogEntry.provider_id == provider_id,
            TransitionLogEntry.reseller_team_id == team_id,
            TransitionLogEntry.to_status == PartnerStatus.AT_RISK.value,
        )
        .order_by(TransitionLogEntry.sequence.desc())
        .limit(1)
    )


def shared_notes(session: Session, provider_id: str, team_id: str) -> list[SharedNote]:
    """The provider's notes written for the partner to read, newest first: never internal."""
    rows = session.scalars(
        select(PartnerNote)
        .where(
            PartnerNote.provider_id == provider_id,
            PartnerNote.reseller_team_id == team_id,
            PartnerNote.visibility == SHARED_NOTE,
        )
        .order_by(PartnerNote.created_at.desc(), PartnerNote.id.desc())
        .limit(50)
    )
    return [
        SharedNote(at=row.created_at, kind=row.kind, text=row.text, author=row.author)
        for row in rows
    ]


def standing(session: Session, provider_id: str, team_id: str, now: datetime) -> ProgramStanding:
    """Where the reseller stands with the provider and what it needs, on today's figures."""
    provider = require_program(session, provider_id, team_id)
    program = _program(provider)
    entry = _entry(session, provider_id, team_id)
    status = PartnerStatus(entry.status) if entry else None
    tier = Tier(entry.tier) if entry else Tier.BRONZE
    metrics = figures(session, provider_id, team_id, now, program.metrics_window_days)
    listed = status is not None and status.on_preferred_list
    current = tier_view(tier, metrics, program, keeping=True) if listed else None
    above = tier_above(tier if listed else Tier.BRONZE, program)
    deadline = entry.grace_deadline if entry and status is PartnerStatus.AT_RISK else None
    return ProgramStanding(
        provider_id=provider_id,
        provider_name=provider.name,
        status=status,
        tier=tier,
        enrolled_at=entry.enrolled_at if entry else None,
        grace_deadline=deadline,
        days_left=days_left(deadline, now),
        at_risk_reason=(
            _at_risk_reason(session, provider_id, team_id)
            if status is PartnerStatus.AT_RISK
            else None
        ),
        window=window_text(metrics.window_start, metrics.window_end),
        metrics=MetricsView.model_validate(metrics),
        current_tier=current,
        to_fix=[gap for gap in current.criteria if not gap.met] if current else [],
        next_tier=tier_view(above, metrics, program, keeping=False) if above else None,
        shared_notes=shared_notes(session, provider_id, team_id),
        offers_visible=len(visible_offer_ids(session, provider_id, team_id)),
    )


class ProgramSummary(View):
    """One program the reseller sees, as its portal lists them."""

    provider_id: str
    provider_name: str
    status: PartnerStatus | None
    tier: Tier
    grace_deadline: datetime | None
    days_left: int | None


def program_summaries(session: Session, team_id: str, now: datetime) -> list[ProgramSummary]:
    providers = visible_programs(session, team_id)
    rows = session.execute(select(Provider.id, Provider.name).where(Provider.id.in_(providers)))
    names = {row.id: row.name for row in rows}
    entries = {
        row.provider_id: row
        for row in session.scalars(
            select(PreferredListEntry).where(
                PreferredListEntry.reseller_team_id == team_id,
                PreferredListEntry.provider_id.in_(providers),
            )
        )
    }
    summaries = []
    for provider_id in providers:
        entry = entries.get(provider_id)
        at_risk = entry is not None and entry.status == PartnerStatus.AT_RISK.value
        deadline = entry.grace_deadline if entry and at_risk else None
        summaries.append(
            ProgramSummary(
                provider_id=provider_id,
                provider_name=names.get(provider_id, provider_id),
                status=PartnerStatus(entry.status) if entry else None,
                tier=Tier(entry.tier) if entry else Tier.BRONZE,
                grace_deadline=deadline,
                days_left=days_left(deadline, now),
            )
        )
    return summaries
