"""Every provider's review Schedules: created where missing, and their state as operators see it.

`Reviews.ensure_schedules` creates one provider's monthly and quarterly Schedules
and brings existing ones up to date, keeping their state (an operator may have
paused them in the Temporal UI). The worker calls `ensure_every_provider` at
start, `partnerflow providers create` for the new provider, and `partnerflow dev`
for the demo's.
"""

from __future__ import annotations

import logging

from pydantic import AwareDatetime, Field
from temporalio.client import ScheduleActionExecutionStartWorkflow, ScheduleDescription
from temporalio.service import RPCError, RPCStatusCode

from clients.reviews import Reviews, schedule_id
from models.database import Database
from models.program import Frozen
from models.review import ReviewCadence
from services.reviews import provider_ids

logger = logging.getLogger("partnerflow.reviews")

NEXT_RUNS_SHOWN = 3


class SchedulesUnavailable(Exception):
    """The Temporal server does not implement Schedules (the time-skipping test server)."""


class ScheduleRun(Frozen):
    """One review a Schedule started: when it was due, when it started, and its workflow."""

    scheduled_at: AwareDatetime
    started_at: AwareDatetime
    workflow_id: str | None


class ReviewScheduleState(Frozen):
    """A review Schedule as Temporal describes it now; `exists` is false until it is created."""

    schedule_id: str
    cadence: ReviewCadence
    exists: bool
    paused: bool = False
    note: str | None = Field(
        default=None, description="What the Schedule is for, or why an operator paused it."
    )
    next_runs: list[AwareDatetime] = Field(default_factory=list)
    recent_runs: list[ScheduleRun] = Field(default_factory=list)
    running: list[str] = Field(default_factory=list, description="Workflows still running.")
    runs: int = Field(default=0, description="Reviews the Schedule has started in all.")
    missed: int = Field(default=0, description="Runs missed beyond the catch-up window.")
    created_at: AwareDatetime | None = None


def _unavailable(error: RPCError) -> SchedulesUnavailable:
    return SchedulesUnavailable(
        f"this Temporal server does not implement Schedules ({error.message}): "
        "run reviews with `partnerflow reviews run` or POST /provider/reviews instead"
    )


def _state(cadence: ReviewCadence, description: ScheduleDescription) -> ReviewScheduleState:
    info, state = description.info, description.schedule.state
    return ReviewScheduleState(
        schedule_id=description.id,
        cadence=cadence,
        exists=True,
        paused=state.paused,
        note=state.note or None,
        next_runs=list(info.next_action_times[:NEXT_RUNS_SHOWN]),
        recent_runs=[
            ScheduleRun(
                scheduled_at=run.scheduled_at,
                started_at=run.started_at,
                workflow_id=run.action.workflow_id
                if isinstance(run.action, ScheduleActionExecutionStartWorkflow)
                else None,
            )
            for run in reversed(info.recent_actions)
        ],
        running=[
            action.workflow_id
            for action in info.running_actions
            if isinstance(action, ScheduleActionExecutionStartWorkflow)
        ],
        runs=info.num_actions,
        missed=info.num_actions_missed_catchup_window,
        created_at=info.created_at,
    )


async def describe_schedules(reviews: Reviews, provider_id: str) -> list[ReviewScheduleState]:
    """The provider's monthly and quarterly Schedules, the latest runs first."""
    states = []
    for cadence in ReviewCadence:
        try:
            description = await reviews.schedule(provider_id, cadence).describe()
        except RPCError as error:
            if error.status is RPCStatusCode.NOT_FOUND:
                states.append(
                    ReviewScheduleState(
                        schedule_id=schedule_id(provider_id, cadence), cadence=cadence, exists=False
                    )
                )
                continue
            if error.status is RPCStatusCode.UNIMPLEMENTED:
                raise _unavailable(error) from error
            raise
        states.append(_state(cadence, description))
    return states


async def ensure_provider(reviews: Reviews, provider_id: str) -> list[str]:
    """`Reviews.ensure_schedules`, or SchedulesUnavailable on a server without Schedules."""
    try:
        return await reviews.ensure_schedules(provider_id)
    except RPCError as error:
        if error.status is RPCStatusCode.UNIMPLEMENTED:
            raise _unavailable(error) from error
        raise


async def ensure_every_provider(reviews: Reviews, db: Database) -> list[str]:
    """Create the Schedules that any provider in the database lacks; returns those created.

    A failure is logged, not raised: the worker that calls this at start still has
    partners to serve, and reviews can be started by hand.
    """
    with db.transaction() as session:
        providers = provider_ids(session)
    created: list[str] = []
    try:
        for provider_id in providers:
            created += await ensure_provider(reviews, provider_id)
    except SchedulesUnavailable as error:
        logger.warning("review Schedules not created: %s", error)
        return created
    except RPCError as error:
        logger.error("review Schedules not created: Temporal refused (%s)", error)
        return created
    if created:
        logger.info("created review Schedules %s", ", ".join(created))
    logger.info("review Schedules in place for %d provider(s)", len(providers))
    return created
