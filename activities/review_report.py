"""A review's program report: enrollment, retention, graduations, volume, quality and revenue
by tier, computed in SQL over the period reviewed."""

from __future__ import annotations

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session
from temporalio.exceptions import ApplicationError

from models.database import Database
from models.partner import PartnerStatus
from models.program import Tier
from models.review import (
    ProgramReport,
    ReviewCadence,
    ReviewPeriod,
    ReviewPlan,
    TierFigures,
)
from models.schema import (
    ProgramReview,
    ReviewSnapshot,
    TransitionLogEntry,
)
from store.offer_access import ON_PREFERRED_LIST


def _rate(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _listed_at(session: Session, provider_id: str, before: ReviewPeriod) -> set[str] | None:
    """Who was on the list at the latest quarterly review before `before`, if there was one."""
    previous = session.scalar(
        select(ProgramReview.id)
        .where(
            ProgramReview.provider_id == provider_id,
            ProgramReview.cadence == ReviewCadence.QUARTERLY.value,
            ProgramReview.window_end < before.end,
            ProgramReview.report.is_not(None),
        )
        .order_by(ProgramReview.window_end.desc())
        .limit(1)
    )
    if previous is None:
        return None
    return set(
        session.scalars(
            select(ReviewSnapshot.reseller_team_id).where(
                ReviewSnapshot.review_id == previous,
                ReviewSnapshot.status_after.in_(ON_PREFERRED_LIST),
            )
        )
    )


def build_report(db: Database, plan: ReviewPlan) -> ProgramReport:
    """The program report of a review whose assessment is stored; stored with the review."""
    period = plan.period
    with db.transaction() as session:
        stored = session.get(ProgramReview, plan.review_id)
        if stored is None or stored.assessment is None:
            raise ApplicationError(
                f"review {plan.review_id} has no assessment yet", non_retryable=True
            )
        snapshot = ReviewSnapshot.__table__.c
        listed_after = snapshot.status_after.in_(ON_PREFERRED_LIST)
        tier_group = case((listed_after, snapshot.tier_after), else_=literal(Tier.BRONZE.value))
        by_tier_rows = session.execute(
            select(
                tier_group,
                func.count(),
                func.sum(snapshot.total_orders),
                func.sum(snapshot.accepted_orders),
                func.sum(snapshot.decided_orders),
                func.sum(snapshot.fulfilled_orders),
                func.sum(snapshot.revenue),
            )
            .where(snapshot.review_id == plan.review_id)
            .group_by(tier_group)
        ).all()
        status_counts: dict[str | None, int] = dict(
            session.execute(
                select(snapshot.status_after, func.count())
                .where(snapshot.review_id == plan.review_id, snapshot.status_after.is_not(None))
                .group_by(snapshot.status_after)
            ).all()
        )
        enrollment: dict[str, int] = dict(
            session.execute(
                select(snapshot.tier_after, func.count())
                .where(snapshot.review_id == plan.review_id, listed_after)
                .group_by(snapshot.tier_after)
            ).all()
        )
        current = set(
            session.scalars(
                select(snapshot.reseller_team_id).where(
                    snapshot.review_id == plan.review_id, listed_after
                )
            )
        )
        earlier = _listed_at(session, plan.provider_id, period)
        in_period = (
            TransitionLogEntry.provider_id == plan.provider_id,
            TransitionLogEntry.at >= period.start,
            TransitionLogEntry.at < period.end,
        )
        removed = session.scalar(
            select(func.count()).where(
                *in_period, TransitionLogEntry.to_status == PartnerStatus.REMOVED.value
            )
        )
        graduations = session.scalar(
            select(func.count()).where(
                *in_period,
                TransitionLogEntry.to_status == PartnerStatus.PREFERRED.value,
                TransitionLogEntry.from_status.not_in(ON_PREFERRED_LIST),
            )
        )
        by_tier = [
            TierFigures(
                tier=tier,
                resellers=int(count),
                orders=int(orders or 0),
                acceptance_rate=_rate(float(accepted or 0), float(decided or 0)),
                completion_rate=_rate(float(fulfilled or 0), float(accepted or 0)),
                revenue=round(float(revenue or 0), 2),
            )
            for tier, count, orders, accepted, decided, fulfilled, revenue in by_tier_rows
        ]
        by_tier.sort(key=lambda figures: Tier(figures.tier).rank)
        report = ProgramReport(
            review_id=plan.review_id,
            provider_id=plan.provider_id,
            cadence=period.cadence,
            period=period.label,
            window_start=plan.window_start,
            window_end=plan.window_end,
            program_version=plan.program_version,
            enrollment_by_tier={t.value: int(enrollment.get(t.value, 0)) for t in Tier if t.rank},
            candidates=int(status_counts.get(PartnerStatus.CANDIDATE.value, 0)),
            partners_at_risk=int(status_counts.get(PartnerStatus.AT_RISK.value, 0)),
            partners_removed=int(removed or 0),
            retention_rate=_rate(len(earlier & current), len(earlier)) if earlier else None,
            graduations=int(graduations or 0),
            graduation_rate_per_month=round((graduations or 0) / period.cadence.months, 2),
            order_volume=sum(figures.orders for figures in by_tier),
            by_tier=by_tier,
            standings=dict(stored.assessment["standings"]),
        )
        stored.report = report.model_dump(mode="json")
    return report
