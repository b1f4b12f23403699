"""What a program change would do to a provider's resellers on today's figures: each judged
under the program in force and under the new one, over the new program's window, with no
write, signal or message."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, Field
from sqlalchemy.orm import Session

from models.metrics import window_bounds
from models.program import Frozen, ProgramSettings
from models.standing import Standing
from store.assessment import Figures

PREVIEW_REVIEW_ID = "program-preview"
"""The review ID the judged rows carry; nothing is stored under it."""

OUTCOMES: dict[str, str] = {
    Standing.PROMOTION.value: "promoted",
    Standing.DEMOTION.value: "demoted",
    Standing.BELOW_STANDARD.value: "at_risk",
    Standing.STILL_BELOW.value: "at_risk",
    Standing.NEW_CANDIDATE.value: "candidate",
    Standing.RECOVERED.value: "recovered",
}
"""What a review under a program would do to a reseller; any other standing is `unchanged`."""


def outcome(standing: str) -> str:
    return OUTCOMES.get(standing, "unchanged")


class Judgement(Frozen):
    outcome: str = Field(description="promoted, demoted, at_risk, candidate, recovered, unchanged")
    standing: str
    status_after: str | None
    tier_after: str
    failed_criteria: list[str] = Field(
        default_factory=list, description="Each criterion missed, as value against threshold."
    )


class PreviewRow(Frozen):
    reseller_team_id: str
    status_before: str | None
    tier_before: str
    in_force: Judgement
    changed_to: Judgement


class ProgramPreview(Frozen):
    version_in_force: int
    window_start: AwareDatetime
    window_end: AwareDatetime
    judged: int = Field(
        description="Resellers judged: those with orders in the window, and every listed partner."
    )
    counts_in_force: dict[str, int]
    counts_changed_to: dict[str, int]
    affected: int = Field(description="Resellers whose outcome the change would alter.")
    resellers: list[PreviewRow] = Field(description="The first `limit` of them, by team ID.")


def _judgement(row: dict[str, Any]) -> Judgement:
    failures = row["failed_criteria"]
    return Judgement(
        outcome=outcome(row["standing"]),
        standing=row["standing"],
        status_after=row["status_after"],
        tier_after=row["tier_after"],
        failed_criteria=failures.split("; ") if failures else [],
    )


def preview_change(
    session: Session,
    provider_id: str,
    current: ProgramSettings,
    changed: ProgramSettings,
    now: datetime,
    *,
    limit: int,
) -> ProgramPreview:
    """Every reseller judged twice over one aggregation of the new program's window: one
    query for the figures, then pure decisions, whatever the number of resellers."""
    figures = Figures(session, provider_id, *window_bounds(now, changed.metrics_window_days))
    before = figures.judge(current, review_id=PREVIEW_REVIEW_ID, act_on_decided=True)
    after = figures.judge(changed, review_id=PREVIEW_REVIEW_ID, act_on_decided=True)
    rows = []
    for old, new in zip(before, after, strict=True):
        judged_old, judged_new = _judgement(old), _judgement(new)
        if (judged_old.outcome, judged_old.tier_after) != (
            judged_new.outcome,
            judged_new.tier_after,
        ):
            rows.append(
                PreviewRow(
                    reseller_team_id=new["reseller_team_id"],
                    status_before=new["status_before"],
                    tier_before=new["tier_before"],
                    in_force=judged_old,
                    changed_to=judged_new,
                )
            )
    rows.sort(key=lambda row: row.reseller_team_id)
    return ProgramPreview(
        version_in_force=current.version,
        window_start=figures.window_start,
        window_end=figures.window_end,
        judged=len(after),
        counts_in_force=dict(Counter(outcome(row["standing"]) for row in before)),
        counts_changed_to=dict(Counter(outcome(row["standing"]) for row in after)),
        affected=len(rows),
        resellers=rows[:limit],
    )
