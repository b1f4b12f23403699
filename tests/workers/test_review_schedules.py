"""The review Schedules on the Temporal dev server (the time-skipping server has none):
created once per provider, left paused when an operator paused them, and, when triggered,
a review of the period just ended under review/{provider}/{cadence}/{period}."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import (
    ScheduleActionStartWorkflow,
    ScheduleSpec,
    ScheduleState,
    WorkflowExecutionStatus,
)
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner, Result

from api.app import create_app
from api.deps import Services
from cli.app import app
from clients.partners import PartnerPrograms
from clients.requests import poll_until
from clients.review_schedules import describe_schedules
from clients.reviews import REVIEW_PRIORITY, schedule_id
from devstack.demo_data import SLIPPING, OrderProfile
from devstack.dev_server import DevConfig
from models.database import Database
from models.operator_queries import REVIEWS
from models.partner import EnrollmentRequest
from models.program import ProgramSettings
from models.review import ReviewCadence, ReviewPeriod, review_id
from models.schema import ProgramReview
from runtime.settings import Settings
from services.providers import issue_key
from tests.helpers import Program, first_of_next_month, replay_histories
from tests.workers.dev_temporal import DevTemporal, await_listed, closed_status, dev_temporal
from workers.worker import run_worker

SOLID = OrderProfile(orders_per_month=30, acceptance=1.0, completion=1.0, rating=4.95)
HISTORY_DAYS = 150
REVIEW_TIMEOUT = 60
runner = CliRunner()


@pytest.fixture
async def temporal(dev_server_config: DevConfig, db: Database) -> AsyncIterator[DevTemporal]:
    """The dev server, and a worker on the test's database and a queue of its own."""
    async with dev_temporal(dev_server_config, db) as temporal:
        yield temporal


@pytest.fixture
def program(db: Database, temporal: DevTemporal) -> Program:
    """A provider whose clock is the dev server's, which is the real one."""
    return Program(db, WorkflowEnvironment.from_client(temporal.client), ProgramSettings()).create()


def _calendar(description) -> tuple[int, int, list[int]]:
    (calendar,) = description.schedule.spec.calendars
    (hour,), (day,) = calendar.hour, calendar.day_of_month
    months = [m for r in calendar.month for m in range(r.start, r.end + 1, r.step)]
    return hour.start, day.start, months


def next_monthly_review(now: datetime) -> datetime:
    """02:00 UTC on the 1st: this month's until it has passed (its first two hours), else the
    next month's."""
    this_month = ReviewPeriod.last_ended(ReviewCadence.MONTHLY, now).end.replace(hour=2)
    return this_month if now < this_month else first_of_next_month(now)


async def test_ensure_creates_both_schedules_once_and_leaves_a_paused_one_paused(
    temporal: DevTemporal, program: Program
):
    reviews, pid = temporal.reviews, program.provider_id
    created = await reviews.ensure_schedules(pid)
    assert created == [
        schedule_id(pid, c) for c in (ReviewCadence.MONTHLY, ReviewCadence.QUARTERLY)
    ]

    monthly = await reviews.schedule(pid, ReviewCadence.MONTHLY).describe()
    quarterly = await reviews.schedule(pid, ReviewCadence.QUARTERLY).describe()
    # The server keeps "0 2 1 * *" and "0 3 1 1,4,7,10 *" as calendars.
    assert _calendar(monthly) == (2, 1, list(range(1, 13)))
    assert _calendar(quarterly) == (3, 1, [1, 4, 7, 10])
    assert monthly.info.next_action_times[0] == next_monthly_review(datetime.now(UTC))
    assert quarterly.info.next_action_times[0].month in (1, 4, 7, 10)
    assert quarterly.info.next_action_times[0].hour == 3
    assert not monthly.schedule.state.paused

    assert await reviews.ensure_schedules(pid) == []

    await reviews.schedule(pid, ReviewCadence.MONTHLY).pause(note="paused by ops: migration")
    assert await reviews.ensure_schedules(pid) == []
    states = {s.cadence: s for s in await describe_schedules(reviews, pid)}
    assert states[ReviewCadence.MONTHLY].paused
    assert states[ReviewCadence.MONTHLY].note == "paused by ops: migration"
    assert not states[ReviewCadence.QUARTERLY].paused
    assert len(states[ReviewCadence.QUARTERLY].next_runs) == 3

    other = await describe_schedules(reviews, "no-such-provider")
    assert [s.exists for s in other] == [False, False]


async def test_ensure_brings_an_older_schedule_up_to_date_and_keeps_it_paused(
    temporal: DevTemporal, program: Program
):
    """A Schedule an earlier version made, on another calendar, paused by an operator: it gets
    this version's calendar and action, and stays paused with the operator's note."""
    reviews, pid = temporal.reviews, program.provider_id
    current = reviews._schedule(pid, ReviewCadence.MONTHLY)
    assert isinstance(current.action, ScheduleActionStartWorkflow)
    older = replace(
        current,
        spec=ScheduleSpec(cron_expressions=["0 5 2 * *"]),
        action=replace(current.action, static_summary="an older version's action"),
        state=ScheduleState(paused=True, note="paused by ops: audit"),
    )
    await temporal.client.create_schedule(schedule_id(pid, ReviewCadence.MONTHLY), older)

    assert await reviews.ensure_schedules(pid) == [schedule_id(pid, ReviewCadence.QUARTERLY)]
    monthly = await reviews.schedule(pid, ReviewCadence.MONTHLY).describe()
    assert _calendar(monthly) == (2, 1, list(range(1, 13)))
    assert (monthly.schedule.state.paused, monthly.schedule.state.note) == (
        True,
        "paused by ops: audit",
    )
    action = monthly.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    summary = action.static_summary  # described as the stored payload
    assert isinstance(summary, Payload)
    assert json.loads(summary.data) == f"Start the monthly review of provider {pid}"


async def test_a_triggered_schedule_reviews_the_period_just_ended(
    temporal: DevTemporal, program: Program, db: Database
):
    pid = program.provider_id
    steady = await program.add_reseller("team-steady", SOLID, days=HISTORY_DAYS)
    slipping = await program.add_reseller("team-slipping", SLIPPING, days=HISTORY_DAYS)
    programs = PartnerPrograms(temporal.client, temporal.task_queue)
    rising = await program.add_reseller("team-rising", SOLID, days=HISTORY_DAYS)
    for team in (steady, slipping):
        await programs.enroll(pid, team, EnrollmentRequest())
    await temporal.reviews.ensure_schedules(pid)

    period = ReviewPeriod.last_ended(ReviewCadence.MONTHLY, datetime.now(UTC))
    await temporal.reviews.schedule(pid, ReviewCadence.MONTHLY).trigger()

    rid = review_id(pid, period)
    assert rid == f"review/{pid}/monthly/{period.label}"
    status = await poll_until(
        lambda: closed_status(temporal.client, rid),
        lambda s: s is not None,
        timeout=REVIEW_TIMEOUT,
        interval=0.2,
    )
    assert status is WorkflowExecutionStatus.COMPLETED
    # The child inherited the Schedule's priority: its tasks go ahead of the partners it woke.
    described = await temporal.client.get_workflow_handle(rid).describe()
    priority = described.raw_description.workflow_execution_info.priority
    assert priority.priority_key == REVIEW_PRIORITY.priority_key == 1
    with db.transaction() as session:
        row = session.get_one(ProgramReview, rid)
        assert (row.provider_id, row.cadence, row.period) == (pid, "monthly", period.label)
        assert row.window_end == period.end
        assert row.completed_at is not None
        # Enrolled today, after the month's end: the month's data changes neither partner.
        assert row.assessment is not None and row.assessment["resellers"] == 3
        assert row.assessment["standings"] == {"decided_since": 2, "new_candidate": 1}
        assert row.report is not None and row.report["candidates"] == 1
    assert (await programs.state(pid, rising)).nominated

    # The Schedule's own run, under the Schedule's workflow ID, started the review as a child.
    (state, _) = await describe_schedules(temporal.reviews, pid)
    (run,) = state.recent_runs
    assert run.workflow_id is not None and run.workflow_id.startswith(f"review/{pid}/monthly-")
    assert state.runs == 1
    record_to = os.environ.get("PARTNERFLOW_RECORD_HISTORIES")
    await replay_histories(
        temporal.client,
        {run.workflow_id, rid},
        Path(record_to) if record_to else None,
        label="review-by-schedule",
    )
    # The Schedule's run and the review it started are both found by the provider's ID.
    reviews = await await_listed(temporal.client, REVIEWS.render(pid), {run.workflow_id, rid})
    assert reviews == {run.workflow_id, rid}

    # Triggered again for the same period: the Schedule runs, the period is not reviewed twice.
    await temporal.reviews.schedule(pid, ReviewCadence.MONTHLY).trigger()
    again = await poll_until(
        lambda: describe_schedules(temporal.reviews, pid),
        lambda states: states[0].runs == 2 and not states[0].running,
        timeout=REVIEW_TIMEOUT,
        interval=0.2,
    )
    latest = again[0].recent_runs[0].workflow_id
    assert latest is not None
    assert await temporal.client.get_workflow_handle(latest).result() is None
    assert len(await program.sent(rising, "candidate_notice")) == 1
    assert program.notifications(slipping, "at_risk_warning") == []


async def test_the_api_shows_the_schedules_state(
    temporal: DevTemporal, program: Program, db: Database
):
    pid = program.provider_id
    with db.transaction() as session:
        key = issue_key(session, pid)
    app = create_app(Services(db=db, client=temporal.client, task_queue=temporal.task_queue))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://partnerflow") as http:

        async def schedules() -> dict[str, Any]:
            response = await http.get("/provider/reviews/schedules", headers={"x-api-key": key})
            assert response.status_code == 200, response.text
            listed: dict[str, Any] = response.json()
            return listed

        before = await schedules()
        assert before["providerId"] == pid
        assert [(s["cadence"], s["exists"]) for s in before["schedules"]] == [
            ("monthly", False),
            ("quarterly", False),
        ]

        await temporal.reviews.ensure_schedules(pid)
        await temporal.reviews.schedule(pid, ReviewCadence.QUARTERLY).pause(note="holidays")
        await temporal.reviews.schedule(pid, ReviewCadence.MONTHLY).trigger()
        shown = await poll_until(
            schedules, lambda s: s["schedules"][0]["recentRuns"], timeout=REVIEW_TIMEOUT
        )
    monthly, quarterly = shown["schedules"]
    assert monthly["scheduleId"] == schedule_id(pid, ReviewCadence.MONTHLY)
    assert (monthly["paused"], quarterly["paused"], quarterly["note"]) == (False, True, "holidays")
    assert len(monthly["nextRuns"]) == 3 and monthly["createdAt"]
    assert monthly["recentRuns"][0]["workflowId"].startswith(f"review/{pid}/monthly-")


@pytest.mark.both_databases  # the worker reads every provider at start
async def test_the_worker_creates_every_providers_schedules_at_start(
    temporal: DevTemporal, db: Database, caplog
):
    env = WorkflowEnvironment.from_client(temporal.client)
    pids = [Program(db, env, ProgramSettings()).create().provider_id for _ in range(2)]
    settings = Settings(
        PARTNERFLOW_DATABASE_URL=db.engine.url.render_as_string(hide_password=False),
        TEMPORAL_ADDRESS=temporal.address,
        PARTNERFLOW_TASK_QUEUE=temporal.task_queue,
    )
    caplog.set_level(logging.INFO, logger="partnerflow.reviews")
    for run in range(2):
        caplog.clear()
        stop = asyncio.Event()
        worker = asyncio.create_task(run_worker(settings, stop))
        await poll_until(
            lambda: asyncio.sleep(0, caplog.text),
            lambda text: "review Schedules in place" in text,
            timeout=30,
        )
        stop.set()
        await asyncio.wait_for(worker, timeout=30)
        created = "created review Schedules" in caplog.text
        assert created is (run == 0), caplog.text
    for pid in pids:
        states = await describe_schedules(temporal.reviews, pid)
        assert all(s.exists and not s.paused for s in states)


async def test_the_cli_creates_a_new_providers_schedules_and_shows_them(
    temporal: DevTemporal, db: Database
):
    variables = {
        "TEMPORAL_ADDRESS": temporal.address,
        "PARTNERFLOW_TASK_QUEUE": temporal.task_queue,
        "PARTNERFLOW_DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
        "COLUMNS": "200",
    }

    async def cli(*args: str) -> Result:
        return await asyncio.to_thread(runner.invoke, app, list(args), env=variables)

    name = f"Hooli {uuid.uuid4().hex[:6]}"
    created = await cli("providers", "create", "--name", name)
    assert created.exit_code == 0, created.output
    pid = name.lower().replace(" ", "-")
    monthly, quarterly = (schedule_id(pid, cadence) for cadence in ReviewCadence)
    assert f"review Schedules {monthly}, {quarterly}" in created.output

    await temporal.reviews.schedule(pid, ReviewCadence.QUARTERLY).pause(note="year-end freeze")
    shown = await cli("reviews", "schedules", "--provider", pid)
    assert shown.exit_code == 0, shown.output
    assert monthly in shown.output and "active" in shown.output
    assert "paused" in shown.output and "year-end freeze" in shown.output
    assert "none yet" in shown.output  # no runs yet

    unknown = await cli("reviews", "schedules", "--provider", "nobody")
    assert unknown.exit_code == 0 and "not created" in unknown.output
