"""`partnerflow reviews ...` and the review Schedules of `providers create`, in-process with
Typer's test runner, on the time-skipping server (its Schedules are tested on the dev server in
test_review_schedules.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner, Result

from cli.app import app
from devstack.demo_data import SLIPPING, OrderProfile
from models.partner import EnrollmentRequest
from models.program import ProgramSettings
from models.review import ReviewCadence, ReviewPeriod
from tests.helpers import Program
from tests.workers.processes import free_port

pytestmark = pytest.mark.both_databases  # the SQL that reads reviews and their snapshots

runner = CliRunner()
SOLID = OrderProfile(orders_per_month=30, acceptance=1.0, completion=1.0, rating=4.95)
HISTORY_DAYS = 150


async def _invoke_in_thread(args: list[str], env: dict[str, str]) -> Result:
    """The command runs an event loop of its own, so it cannot run on the test's loop."""
    return await asyncio.to_thread(runner.invoke, app, args, env={"COLUMNS": "200", **env})


@pytest.fixture
def variables(env, db, programs) -> dict[str, str]:
    return {
        "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "PARTNERFLOW_TASK_QUEUE": programs.task_queue,
        "PARTNERFLOW_DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
    }


@pytest.fixture
def program(env, db) -> Program:
    return Program(db, env, ProgramSettings()).create()


async def test_run_wait_prints_the_report_and_list_and_show_read_it_back(
    program, programs, variables
):
    pid = program.provider_id
    steady = await program.add_reseller("team-steady", SOLID, days=HISTORY_DAYS)
    slipping = await program.add_reseller("team-slipping", SLIPPING, days=HISTORY_DAYS)
    rising = await program.add_reseller("team-rising", SOLID, days=HISTORY_DAYS)
    for team in (steady, slipping):
        await programs.enroll(pid, team, EnrollmentRequest())
    period = ReviewPeriod.last_ended(ReviewCadence.MONTHLY, datetime.now(UTC))
    rid = f"review/{pid}/monthly/{period.label}"

    async def cli(*args: str) -> Result:
        return await _invoke_in_thread(["reviews", *args], variables)

    ran = await cli("run", "--provider", pid, "--cadence", "monthly", "--wait")
    assert ran.exit_code == 0, ran.output
    assert f"Started review {rid}" in ran.output
    for fact in ("program report", "silver partners", "at risk", "orders by tier"):
        assert fact in ran.output
    assert "partners whose standing changed" in ran.output
    assert rising in ran.output and "new candidate" in ran.output
    # Enrolled after the month reviewed: its data changes neither partner, and they are not
    # among the partners the review moved.
    assert "decided since 2" in ran.output
    assert slipping not in ran.output and steady not in ran.output

    again = await cli("run", "--provider", pid, "--cadence", "monthly", "--period", period.label)
    assert again.exit_code == 0, again.output
    assert "already started: not run again" in again.output
    assert f"partnerflow reviews show {rid}" in again.output

    listed = await cli("list", "--provider", pid)
    assert listed.exit_code == 0, listed.output
    assert period.label in listed.output and "1 review(s)" in listed.output
    assert "0 review(s)" in (await cli("list", "--provider", pid, "--cadence", "quarterly")).output

    by_id = await cli("show", rid)
    by_options = await cli(
        "show", "--provider", pid, "--cadence", "monthly", "--period", period.label
    )
    assert by_id.exit_code == 0, by_id.output
    assert by_id.output == by_options.output
    assert f"review {rid}" in by_id.output and "program version" in by_id.output


async def test_run_of_a_past_month_says_it_is_an_audit(program, programs, variables):
    pid = program.provider_id
    slipping = await program.add_reseller("team-slipping", SLIPPING, days=HISTORY_DAYS)
    await programs.enroll(pid, slipping, EnrollmentRequest())
    older = ReviewPeriod.last_ended(ReviewCadence.MONTHLY, datetime.now(UTC)).previous()

    ran = await _invoke_in_thread(
        [
            "reviews",
            "run",
            "--provider",
            pid,
            "--cadence",
            "monthly",
            "--period",
            older.label,
            "--wait",
        ],
        variables,
    )
    assert ran.exit_code == 0, ran.output
    assert f"A past-period audit: {older.label} is not the month that ended last" in ran.output
    assert "none was told or moved" in ran.output
    assert "partners whose standing changed" not in ran.output
    assert program.notifications(slipping, "at_risk_warning") == []
    assert (await programs.state(pid, slipping)).last_review_id is None


async def test_reviews_say_what_is_wrong_and_exit_1(program, variables):
    pid = program.provider_id
    now = datetime.now(UTC)
    cases = [
        (["run", "--provider", pid, "--cadence", "monthly", "--period", "2026-13"], "YYYY-MM"),
        (
            ["run", "--provider", pid, "--cadence", "monthly", "--period", f"{now:%Y-%m}"],
            "can be reviewed from",
        ),
        (["run", "--provider", "nobody", "--cadence", "monthly"], "no provider 'nobody'"),
        (["show", "review/acme/weekly/2026-11"], "monthly or quarterly"),
        (["show", "acme-2026-11"], "is not a review ID"),
        (["show", f"review/{pid}/monthly/2021-01"], "no monthly review of 2021-01"),
        (["show", "--provider", pid], "name a review"),
        (["show", f"review/{pid}/monthly/2021-01", "--provider", pid], "not both"),
        (["schedules", "--provider", pid], "does not implement Schedules"),
    ]
    for args, says in cases:
        result = await _invoke_in_thread(["reviews", *args], variables)
        assert result.exit_code == 1, (args, result.output)
        assert says in result.output, (args, result.output)

    typo = await _invoke_in_thread(
        ["reviews", "run", "--provider", pid, "--cadence", "weekly"], variables
    )
    assert typo.exit_code == 2 and "weekly" in typo.output


def test_run_without_temporal_says_what_to_do(db, program):
    result = runner.invoke(
        app,
        ["reviews", "run", "--provider", program.provider_id, "--cadence", "quarterly"],
        env={
            "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
            "PARTNERFLOW_DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
        },
    )
    assert result.exit_code == 1
    assert "make run" in result.output


def test_providers_create_without_temporal_leaves_the_schedules_to_the_worker(tmp_path):
    variables = {
        "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "PARTNERFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'partnerflow.db'}",
        "COLUMNS": "200",
    }
    assert runner.invoke(app, ["db", "upgrade"], env=variables).exit_code == 0
    result = runner.invoke(app, ["providers", "create", "--name", "Initech Fiber"], env=variables)
    assert result.exit_code == 0, result.output
    assert "provider  initech-fiber" in result.output
    assert "the worker creates its review Schedules when it starts" in result.output


async def test_run_dry_run_shows_what_the_review_would_decide_and_records_nothing(
    program, programs, variables
):
    pid = program.provider_id
    rising = await program.add_reseller("team-rising", SOLID, days=HISTORY_DAYS)
    slipping = await program.add_reseller("team-slipping", SLIPPING, days=HISTORY_DAYS)
    await programs.enroll(pid, slipping, EnrollmentRequest())
    period = ReviewPeriod.last_ended(ReviewCadence.MONTHLY, datetime.now(UTC))
    rid = f"review/{pid}/monthly/{period.label}"

    ran = await _invoke_in_thread(
        ["reviews", "run", "--provider", pid, "--cadence", "monthly", "--dry-run"], variables
    )

    assert ran.exit_code == 0, ran.output
    assert "A dry run: nothing was written, signalled or sent." in ran.output
    assert f"dry run of review {rid}" in ran.output
    assert "new candidate 1" in ran.output and "decided since 1" in ran.output
    assert rising in ran.output and "Started review" not in ran.output
    listed = await _invoke_in_thread(["reviews", "list", "--provider", pid], variables)
    assert "0 review(s)" in listed.output
    assert program.listing(rising) is None
