"""A change of a provider's program that waits for its effective date, or that partners must be
told of: what tightens, and what the program-change workflow and its activities exchange."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, Field

from models.program import Frozen, ProgramSettings, Tier, TierCriteria

_PROGRAM_CHANGE_PREFIX = "program-change"


LONGEST_NOTICE = timedelta(days=731)
"""How far ahead a change may be scheduled: two years."""
TOO_FAR = "effectiveDate must be at most two years ahead"


def too_far(at: datetime, now: datetime) -> bool:
    """Whether a change dated `at` is scheduled further ahead than LONGEST_NOTICE allows."""
    return at > now + LONGEST_NOTICE


class ProgramChangeStatus(StrEnum):
    """Where a recorded change stands."""

    SCHEDULED = "scheduled"
    """Waiting for its effective date; the program in force is still the one before it."""
    APPLIED = "applied"
    """In force (or put in force at once, with its announcement to send)."""
    CANCELLED = "cancelled"
    """Cancelled by the provider before its date: never put in force."""
    SUPERSEDED = "superseded"
    """The program in force was no longer the one this change was based on at its date."""


CRITERIA_LABELS: dict[str, tuple[str, str]] = {
    "min_orders_per_month": ("orders_per_month", "orders/month"),
    "min_acceptance_rate": ("acceptance_rate", "acceptance"),
    "min_completion_rate": ("completion_rate", "completion"),
    "min_rating": ("average_rating", "rating"),
    "min_tenure_months": ("tenure_months", "tenure"),
    "min_revenue": ("revenue", "revenue"),
}
"""Each criterion's field, with the metric it measures and its label in messages."""

UNRATED_TEXT = {
    "not_met": "not met without ratings",
    "without_rating": "judged without the rating",
}


class ThresholdChange(Frozen):
    """One setting that a change moves: its old and its new value, as a person reads them."""

    tier: Tier | None = Field(description="The tier whose criterion it is; none for a setting.")
    name: str
    label: str
    old: str
    new: str
    tightens: bool

    @property
    def text(self) -> str:
        where = f"{self.tier.value} " if self.tier else ""
        return f"{where}{self.label}: {self.old} → {self.new}"


def threshold_text(metric: str, value: float) -> str:
    """A criterion's threshold as the messages show it (90.0%, 4.5, 25,000.00, 3 months)."""
    if metric.endswith("_rate"):
        return f"{value * 100:.1f}%"
    if metric == "revenue":
        return f"{value:,.2f}"
    if metric == "tenure_months":
        return f"{int(value)} months"
    return f"{value:g}"


def _criteria_changes(tier: Tier, old: TierCriteria, new: TierCriteria) -> list[ThresholdChange]:
    changes = []
    for field, (metric, label) in CRITERIA_LABELS.items():
        before, after = float(getattr(old, field)), float(getattr(new, field))
        if before != after:
            changes.append(
                ThresholdChange(
                    tier=tier,
                    name=metric,
                    label=label,
                    old=threshold_text(metric, before),
                    new=threshold_text(metric, after),
                    tightens=after > before,
                )
            )
    return changes


def threshold_changes(old: ProgramSettings, new: ProgramSettings) -> list[ThresholdChange]:
    """Every criterion of a tier both programs have, the grace period and the unrated rule, where
    the new program moves it.

    A criterion tightens when its threshold rises, the grace period when it shortens, the rule
    for unrated resellers when it goes from judging them without the rating to failing it. A
    tier the new program drops (gold, going single-tier) or adds, the metrics window and the
    enrollment settings are not thresholds: they are left out.
    """
    changes: list[ThresholdChange] = []
    for tier in new.partner_tiers:
        before, after = old.criteria_for(tier), new.criteria_for(tier)
        if before is not None and after is not None:
            changes.extend(_criteria_changes(tier, before, after))
    if old.grace_period_days != new.grace_period_days:
        changes.append(
            ThresholdChange(
                tier=None,
                name="grace_period_days",
                label="grace period",
                old=f"{old.grace_period_days} days",
                new=f"{new.grace_period_days} days",
                tightens=new.grace_period_days < old.grace_period_days,
            )
        )
    if old.unrated != new.unrated:
        changes.append(
            ThresholdChange(
                tier=None,
                name="unrated",
                label="resellers without ratings",
                old=UNRATED_TEXT[old.unrated],
                new=UNRATED_TEXT[new.unrated],
                tightens=new.unrated == "not_met",
            )
        )
    return changes


def tightens(old: ProgramSettings, new: ProgramSettings) -> bool:
    """Whether the new program asks more of some partner than the old: the partners it could
    affect are then told when it is saved."""
    return any(change.tightens for change in threshold_changes(old, new))


def program_change_key_prefix(provider_id: str, version: int) -> str:
    """What the outbox keys of a change's notices start with."""
    return f"{_PROGRAM_CHANGE_PREFIX}/{provider_id}/{version}/"


def program_change_notice_key(provider_id: str, version: int, reseller_team_id: str) -> str:
    """One partner's notice of one change: recorded once, however often it is retried."""
    return program_change_key_prefix(provider_id, version) + reseller_team_id


class ProgramChangeRequest(Frozen):
    """What starts a change's workflow: the change, and what it does."""

    provider_id: str
    version: int = Field(ge=1)
    effective_at: AwareDatetime | None = Field(
        default=None, description="When it takes effect; none: it is already in force."
    )
    announce: bool = Field(description="It tightens: tell the partners it would affect.")


class ProgramChangeRef(Frozen):
    """One recorded change of one provider's program."""

    provider_id: str
    version: int = Field(ge=1)


class NoticesRecorded(Frozen):
    partners: int = Field(ge=0, description="Partners told of the change (its notices recorded).")
    key_prefix: str


class ChangeApplied(Frozen):
    status: ProgramChangeStatus = Field(description="The change's status after the activity.")
    changed: bool = Field(description="This attempt put the change in force.")


class ProgramChangeOutcome(Frozen):
    version: int
    status: ProgramChangeStatus
    notices: int = 0
    applied_at: AwareDatetime | None = None


def program_change_summary(provider_id: str, version: int, effective_at: datetime | None) -> str:
    """The change's one-line summary in the Temporal UI."""
    when = f"on {effective_at:%Y-%m-%d %H:%M} UTC" if effective_at else "now"
    return f"Program version {version} of provider {provider_id}, in force {when}"


def program_change_details(request: ProgramChangeRequest) -> str:
    """The change's static details in the Temporal UI: what it does and where to read it."""
    steps = []
    if request.announce:
        steps.append(
            "tell each partner it would affect (meets its tier now, would miss it under the "
            "new thresholds) through the outbox"
        )
    if request.effective_at:
        steps.append(
            f"wait until {request.effective_at:%Y-%m-%d %H:%M} UTC, then put the version in "
            "force unless it was cancelled"
        )
    return (
        f"A change of the program of provider {request.provider_id} to version "
        f"{request.version}: " + "; ".join(steps or ["nothing left to do"]) + ".\n\n"
        "`GET /provider/program` shows the version in force and the change scheduled; "
        "`DELETE /provider/program/scheduled` cancels it before its date."
    )
