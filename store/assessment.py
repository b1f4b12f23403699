"""Every reseller of a provider judged over one window: one aggregation, a decision each.

A review stores these rows as its snapshots; a dry run and a program preview
return them and write nothing. All three decide through `decide_standing`, so
a preview and the review that follows it decide alike on the same data.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.metrics import PartnerMetrics
from models.partner import PartnerStatus
from models.program import ProgramSettings, Tier
from models.schema import Order, PreferredListEntry, Reseller
from models.standing import Standing, decide_standing
from store.metrics import metrics_from_row, metrics_query

MEASURES = tuple(
    field
    for field in PartnerMetrics.model_fields
    if field not in ("provider_id", "reseller_team_id", "window_start", "window_end")
)
"""The metrics a snapshot keeps in columns of its own; the rest is the review's."""


class _Listing:
    __slots__ = ("decided_at", "status", "tier")

    def __init__(self, status: PartnerStatus, tier: Tier, decided_at: datetime | None) -> None:
        self.status, self.tier, self.decided_at = status, tier, decided_at


def status_after(standing: Standing, before: PartnerStatus | None, auto_enroll: bool) -> str | None:
    """The partner's status once a review's decision is applied."""
    match standing:
        case Standing.NEW_CANDIDATE:
            return (PartnerStatus.PREFERRED if auto_enroll else PartnerStatus.CANDIDATE).value
        case Standing.BELOW_STANDARD | Standing.STILL_BELOW:
            return PartnerStatus.AT_RISK.value
        case Standing.RECOVERED:
            return PartnerStatus.PREFERRED.value
    return before.value if before else None


def _first_orders(session: Session, provider_id: str, team_ids: Sequence[str]) -> dict[str, Any]:
    """When each reseller joined: its join date, else its first order with this provider."""
    joined: dict[str, Any] = {}
    for start in range(0, len(team_ids), 1000):
        chunk = list(team_ids[start : start + 1000])
        joined.update(
            session.execute(
                select(Reseller.team_id, Reseller.joined_at).where(Reseller.team_id.in_(chunk))
            ).all()
        )
        firsts = session.execute(
            select(Order.reseller_team_id, func.min(Order.created_at))
            .where(Order.provider_id == provider_id, Order.reseller_team_id.in_(chunk))
            .group_by(Order.reseller_team_id)
        ).all()
        for team_id, first in firsts:
            joined[team_id] = joined.get(team_id) or first
    return joined


class Figures:
    """Every reseller's aggregate over one window, and the provider's list as it stands."""

    def __init__(
        self, session: Session, provider_id: str, window_start: datetime, window_end: datetime
    ) -> None:
        self.provider_id, self.window_start, self.window_end = provider_id, window_start, window_end
        rows = session.execute(metrics_query(provider_id, window_start, window_end)).all()
        self.listed = {
            team_id: _Listing(PartnerStatus(status), Tier(tier), decided_at)
            for team_id, status, tier, decided_at in session.execute(
                select(
                    PreferredListEntry.reseller_team_id,
                    PreferredListEntry.status,
                    PreferredListEntry.tier,
                    PreferredListEntry.updated_at,
                ).where(PreferredListEntry.provider_id == provider_id)
            ).all()
        }
        self.rows: dict[str, Any] = {row.reseller_team_id: row for row in rows}
        idle = [
            team_id
            for team_id, listing in self.listed.items()
            if listing.status.on_preferred_list and team_id not in self.rows
        ]
        self.idle = idle
        self.joined = _first_orders(session, provider_id, idle)

    def judge(
        self, program: ProgramSettings, *, review_id: str, act_on_decided: bool = False
    ) -> list[dict[str, Any]]:
        """One row per reseller judged under `program`.

        Resellers with orders in the window are judged, and so are listed partners without
        any. A partner whose latest decision (its list row's last transition) is at or after
        the window's end is `decided_since`: data older than that decision changes nothing,
        unless `act_on_decided` (a preview over a window ending now judges everyone).
        """
        judged = []
        for team_id in [*self.rows, *self.idle]:
            row = self.rows.get(team_id)
            metrics = metrics_from_row(
                self.provider_id,
                team_id,
                self.window_start,
                self.window_end,
                row,
                self.joined.get(team_id),
            )
            listing = self.listed.get(team_id)
            judged.append(
                _judged(review_id, metrics, row, listing, program, self.window_end, act_on_decided)
            )
        return judged


def _judged(
    review_id: str,
    metrics: PartnerMetrics,
    row: Any | None,
    listing: _Listing | None,
    program: ProgramSettings,
    window_end: datetime,
    act_on_decided: bool,
) -> dict[str, Any]:
    status, tier = (listing.status, listing.tier) if listing else (None, Tier.BRONZE)
    decision = decide_standing(status, tier, metrics, program)
    standing, tier_after = decision.standing, decision.tier
    decided_at = listing.decided_at if listing else None
    if not act_on_decided and decided_at is not None and decided_at >= window_end:
        standing, tier_after = Standing.DECIDED_SINCE, tier
    return {
        "review_id": review_id,
        "reseller_team_id": metrics.reseller_team_id,
        "status_before": status.value if status else None,
        "tier_before": tier.value,
        "standing": standing.value,
        "status_after": status_after(standing, status, program.auto_enroll),
        "tier_after": tier_after.value,
        **metrics.model_dump(include=set(MEASURES)),
        "fulfilled_orders": int(row.fulfilled_orders) if row is not None else 0,
        "failed_criteria": "; ".join(c.describe() for c in decision.failed_criteria) or None,
        "signalled_at": None,
    }
