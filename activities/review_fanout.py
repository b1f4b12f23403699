"""Waking the partners a review changed, in batches, resuming where a crashed try stopped.

Each woken partner is marked in `review_snapshots`, so a retry skips every
batch already done. Within the batch a crash interrupted, a review signal is
sent again under the same request ID, which the server drops; a nomination
sent again finds the candidate already nominated and changes nothing.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from temporalio import activity

from activities.reviews import count_signalled, mark_signalled, snapshot_metrics, unsignalled
from models.contract import ActivityName
from models.database import Database
from models.partner import Nomination, ReviewSignal
from models.program import Tier
from models.review import FanOut, ReviewPlan
from models.schema import ReviewSnapshot
from models.standing import Standing

CONCURRENT_SIGNALS = 32


class PartnerWaker(Protocol):
    async def nominate(
        self, provider_id: str, reseller_team_id: str, nomination: Nomination
    ) -> None: ...

    async def review(
        self,
        provider_id: str,
        reseller_team_id: str,
        signal: ReviewSignal,
        *,
        request_id: str | None = None,
    ) -> None: ...


class ReviewFanOutActivities:
    def __init__(self, db: Database, partners: PartnerWaker) -> None:
        self._db = db
        self._partners = partners

    @activity.defn(name=ActivityName.WAKE_PARTNERS)
    async def wake_partners(self, plan: ReviewPlan) -> FanOut:
        started = time.perf_counter()
        resumed_after = await asyncio.to_thread(count_signalled, self._db, plan)
        counts = {"signalled": 0, "nominated": 0, "missing": 0}
        batches = 0
        slots = asyncio.Semaphore(CONCURRENT_SIGNALS)

        async def wake(row: ReviewSnapshot) -> str:
            async with slots:
                outcome = await self._wake(plan, row)
            activity.heartbeat(batches)  # the SDK sends at most one per 80% of the timeout
            return outcome

        while batch := await asyncio.to_thread(unsignalled, self._db, plan, plan.batch_size):
            outcomes = await asyncio.gather(*(wake(row) for row in batch))
            await asyncio.to_thread(
                mark_signalled, self._db, plan, [r.reseller_team_id for r in batch]
            )
            for outcome in outcomes:
                counts[outcome] += 1
            batches += 1
            activity.heartbeat(batches)
        activity.logger.info("review %s: %s in %d batches", plan.review_id, counts, batches)
        return FanOut(
            signalled=counts["signalled"],
            nominated=counts["nominated"],
            missing=counts["missing"],
            batches=batches,
            resumed_after=resumed_after,
            seconds=round(time.perf_counter() - started, 3),
        )

    async def _wake(self, plan: ReviewPlan, row: ReviewSnapshot) -> str:
        """Signal one partner; says whether it was signalled, nominated or had no workflow."""
        metrics = snapshot_metrics(plan, row)
        team_id = row.reseller_team_id
        if row.standing == Standing.NEW_CANDIDATE.value:
            nomination = Nomination(
                reason=f"review {plan.review_id} found it meets the {row.tier_after} criteria",
                tier=Tier(row.tier_after),
                metrics=metrics,
                review_id=plan.review_id,
                program=plan.program,
            )
            await self._partners.nominate(plan.provider_id, team_id, nomination)
            return "nominated"
        signal = ReviewSignal(
            review_id=plan.review_id,
            reviewed_at=plan.period.end,
            metrics=metrics,
            program=plan.program,
        )
        try:
            await self._partners.review(
                plan.provider_id, team_id, signal, request_id=f"{plan.review_id}/{team_id}"
            )
        except LookupError:
            # Listed in the database with no workflow: a record from before a reset.
            activity.logger.warning(
                "review %s: %s has no partner workflow", plan.review_id, team_id
            )
            return "missing"
        return "signalled"
