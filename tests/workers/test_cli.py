"""The `partnerflow` command line, run in-process with Typer's test runner."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import create_engine, inspect
from temporalio.service import RPCError, RPCStatusCode
from typer.testing import CliRunner, Result

from cli.app import app
from devstack.demo_data import GOOD, WEAK, add_reseller
from models.agreement import AgreementKind, AgreementRequest, AgreementTerms
from models.contract import partner_workflow_id
from models.partner import EnrollmentRequest
from models.program import ProgramSettings
from models.schema import Base
from tests.helpers import Program, listed_partner
from tests.workers.processes import free_port

pytestmark = pytest.mark.both_databases  # the commands' own SQL (partners, offers, templates, db)

runner = CliRunner()


def test_help_lists_the_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("worker", "dev", "db", "partners"):
        assert command in result.output


def test_dev_help_names_its_port_variables():
    result = runner.invoke(app, ["dev", "--help"])
    assert result.exit_code == 0
    assert "PARTNERFLOW_DEV_PORT" in result.output


def test_db_upgrade_creates_the_schema_then_has_nothing_to_do(tmp_path):
    path = tmp_path / "state" / "partnerflow.db"
    env = {"PARTNERFLOW_DATABASE_URL": f"sqlite:///{path}", "COLUMNS": "200"}
    first = runner.invoke(app, ["db", "upgrade"], env=env)
    assert first.exit_code == 0, first.output
    assert "Created the schema" in first.output
    again = runner.invoke(app, ["db", "upgrade"], env=env)
    assert again.exit_code == 0, again.output
    assert "nothing to do" in again.output
    engine = create_engine(f"sqlite:///{path}")
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert tables == set(Base.metadata.tables) | {"alembic_version"}


def test_db_upgrade_reports_an_unreachable_database():
    url = f"postgresql+psycopg://nobody:secret@127.0.0.1:{free_port()}/nowhere"
    result = runner.invoke(app, ["db", "upgrade"], env={"PARTNERFLOW_DATABASE_URL": url})
    assert result.exit_code == 1
    assert "the program database at" in result.output and "failed" in result.output
    assert "secret" not in result.output


def test_partners_show_without_temporal_says_what_to_do():
    result = runner.invoke(
        app,
        ["partners", "show", "acme", "team-northwind"],
        env={"TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}"},
    )
    assert result.exit_code == 1
    assert "make run" in result.output
    assert "TEMPORAL_ADDRESS" in result.output


async def test_partners_show_prints_state_and_transitions(env, db, programs):
    program = Program(db, env, ProgramSettings()).create()
    team = await program.add_reseller("team-show", GOOD)
    await programs.enroll(program.provider_id, team, EnrollmentRequest(requested_by="ops"))
    address = env.client.service_client.config.target_host
    result = await _invoke_in_thread(
        ["partners", "show", program.provider_id, team],
        {"TEMPORAL_ADDRESS": address, "PARTNERFLOW_TASK_QUEUE": programs.task_queue},
    )
    assert result.exit_code == 0, result.output
    assert "preferred" in result.output and "silver" in result.output
    assert "candidate → preferred" in result.output
    assert "enrolled as silver by ops" in result.output

    missing = await _invoke_in_thread(
        ["partners", "show", program.provider_id, "team-unknown"], {"TEMPORAL_ADDRESS": address}
    )
    assert missing.exit_code == 1
    assert "not a partner" in missing.output


async def _invoke_in_thread(args: list[str], env: dict[str, str]) -> Result:
    """The command runs an event loop of its own, so it cannot run on the test's loop."""
    return await asyncio.to_thread(runner.invoke, app, args, env={"COLUMNS": "200", **env})


async def test_agreements_show_prints_terms_scorecards_and_history(env, db, programs, agreements):
    program = Program(db, env, ProgramSettings()).create()
    team = await program.add_reseller("team-show", GOOD)
    await programs.enroll(program.provider_id, team, EnrollmentRequest())
    await agreements.create(
        program.provider_id,
        "north-fiber",
        AgreementRequest(
            requested_by="ops",
            terms=AgreementTerms(
                reseller_team_id=team,
                kind=AgreementKind.REGIONAL,
                offer_id=program.preferred_offer,
                zip_codes=["10001", "10002"],
                min_monthly_orders=12,
            ),
        ),
    )
    address = env.client.service_client.config.target_host
    result = await _invoke_in_thread(
        ["agreements", "show", program.provider_id, "north-fiber"],
        {"TEMPORAL_ADDRESS": address, "PARTNERFLOW_TASK_QUEUE": programs.task_queue},
    )
    assert result.exit_code == 0, result.output
    for fact in ("active", team, "10001, 10002", "12+ orders/month", "completion ≥ 95%"):
        assert fact in result.output
    assert "created" in result.output and "by provider ops" in result.output

    missing = await _invoke_in_thread(
        ["agreements", "show", program.provider_id, "no-such"], {"TEMPORAL_ADDRESS": address}
    )
    assert missing.exit_code == 1
    assert "has no agreement 'no-such'" in missing.output


async def test_partners_commands_steer_a_partner_through_temporal(env, db, programs):
    program = Program(db, env, ProgramSettings()).create()
    team = await program.add_reseller("team-cli", GOOD)
    variables = {
        "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "PARTNERFLOW_TASK_QUEUE": programs.task_queue,
        "PARTNERFLOW_DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
    }
    pid = program.provider_id

    async def cli(*args: str) -> Result:
        return await _invoke_in_thread(["partners", *args], variables)

    enrolled = await cli("enroll", pid, team, "--tier", "preferred", "--by", "ops")
    assert enrolled.exit_code == 0, enrolled.output
    assert "preferred" in enrolled.output and "silver" in enrolled.output
    noted = await cli("note", pid, team, "called about installs", "--kind", "call")
    assert noted.exit_code == 0 and "│ 1" in noted.output.replace("notes ", "│ ")
    shared = await cli("note", pid, team, "thanks for a great quarter", "--visibility", "partner")
    assert shared.exit_code == 0, shared.output
    notes = (await programs.state(pid, team)).notes
    assert [n.visibility.value for n in notes] == ["internal", "partner"]
    odd = await cli("note", pid, team, "for everyone", "--visibility", "public")
    assert odd.exit_code == 2 and "public" in odd.output
    reported = await cli("report-issue", pid, team, "--reason", "no-show", "--severity", "minor")
    assert reported.exit_code == 0, reported.output
    assert "no-show (friendly_notice)" in reported.output
    serious = await cli("report-issue", pid, team, "--reason", "x", "--severity", "grave")
    assert serious.exit_code == 2 and "grave" in serious.output
    flagged = await cli(
        "flag", pid, team, "--reason", "late installs this month", "--grace-days", "30"
    )
    assert flagged.exit_code == 0 and "at_risk" in flagged.output
    twice = await cli("flag", pid, team, "--reason", "again and again, late")
    assert twice.exit_code == 1 and "already at risk" in twice.output
    short = await cli(
        "flag", pid, "team-cli", "--reason", "late installs this month", "--grace-days", "5"
    )
    assert short.exit_code == 1 and "between 30 and 60" in short.output
    blocked = await cli(
        "block", pid, team, "--reason", "fraud on every order", "--offer", program.gold_offer
    )
    assert blocked.exit_code == 0 and program.gold_offer in blocked.output
    unblocked = await cli("unblock", pid, team, "--reason", "cleared")
    assert unblocked.exit_code == 0

    listed = await cli("list", pid, "--status", "at_risk")
    assert listed.exit_code == 0 and team in listed.output and "1 partner(s)" in listed.output
    bad_tier = await cli("list", pid, "--tier", "platinum")
    assert bad_tier.exit_code == 1 and "unknown tier" in bad_tier.output

    # The partner is told why: no removal, block or flag without a reason of three words.
    unexplained = await cli("remove", pid, team)
    assert unexplained.exit_code == 2 and "--reason" in unexplained.output
    terse = await cli("remove", pid, team, "--reason", "bad")
    assert terse.exit_code == 1 and "reason must say why in at least 3 words" in terse.output
    terse = await cli("block", pid, team, "--reason", "fraud")
    assert terse.exit_code == 1 and "at least 3 words" in terse.output
    assert (await programs.state(pid, team)).status.value == "at_risk"
    removed = await cli("remove", pid, team, "--reason", "did not recover")
    assert removed.exit_code == 0 and "removed" in removed.output
    state = await programs.state(pid, team)
    assert [t.actor_id for t in state.transitions][0] == "ops"
    assert [n.kind.value for n in state.notes] == ["call", "other", "issue"]


async def test_partners_enroll_below_the_criteria_needs_override_with_a_reason(env, db, programs):
    program = Program(db, env, ProgramSettings()).create()
    team = await program.add_reseller("team-weak", WEAK)
    variables = {
        "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "PARTNERFLOW_TASK_QUEUE": programs.task_queue,
        "PARTNERFLOW_DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
    }
    pid = program.provider_id
    why = "strategic account in a new region, agreed with sales"

    async def enroll(*args: str) -> Result:
        return await _invoke_in_thread(["partners", "enroll", pid, team, *args], variables)

    async def started() -> bool:
        try:
            await env.client.get_workflow_handle(partner_workflow_id(pid, team)).describe()
        except RPCError as error:
            assert error.status is RPCStatusCode.NOT_FOUND, error
            return False
        return True

    refused = await enroll("--by", "ops")
    assert refused.exit_code == 1, refused.output
    assert f"{team} misses the silver criteria: " in refused.output
    for missed in ("orders/month ", " < 10", "acceptance ", " < 90.0%", "rating ", " < 4.5"):
        assert missed in refused.output, refused.output
    assert '--override --notes "' in refused.output and '"override"' not in refused.output

    unexplained = await enroll("--override")
    assert unexplained.exit_code == 1
    assert "--override needs the reason in --notes, in at least 3 words" in unexplained.output
    terse = await enroll("--override", "--notes", "vip")
    assert terse.exit_code == 1 and "at least 3 words" in terse.output
    assert not await started()
    assert program.notifications(team, "welcome") == []

    enrolled = await enroll("--override", "--notes", why, "--by", "ops")
    assert enrolled.exit_code == 0, enrolled.output
    assert "preferred" in enrolled.output and "silver" in enrolled.output
    state = await programs.state(pid, team)
    (transition,) = state.transitions
    assert transition.reason == f"enrolled as silver by ops below the silver criteria: {why}"
    assert [n.text for n in state.notes] == [why]
    again = await enroll()  # a repeat of an enrollment already through needs no override
    assert again.exit_code == 0, again.output
    assert (await programs.state(pid, team)).transitions == state.transitions


def test_offers_commands_set_who_sees_what(db):
    program = Program(db, None, ProgramSettings()).create()
    pid = program.provider_id
    with db.transaction() as session:
        for team in ("team-a", "team-b"):
            add_reseller(session, team)
        session.flush()
        session.add(listed_partner(pid, "team-b"))  # team-a: by the offer it is allowed
    variables = {
        "PARTNERFLOW_DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
        "COLUMNS": "200",
    }

    def cli(*args: str) -> Result:
        return runner.invoke(app, ["offers", *args], env=variables)

    created = cli(
        "create", pid, "tv-north", "--name", "TV North", "--price", "39.5",
        "--visibility", "selected", "--allow", "team-a",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    assert "team-a" in created.output and "39.50" in created.output
    assert "tv-north" in cli("visible", pid, "team-a").output
    assert "tv-north" not in cli("visible", pid, "team-b").output

    again = cli("create", pid, "tv-north", "--name", "TV", "--price", "1")
    assert again.exit_code == 1 and "tv-north" in again.output
    negative = cli("create", pid, "tv-south", "--name", "TV", "--price", "-1")
    assert negative.exit_code == 1 and "monthly_price" in negative.output

    updated = cli("update", pid, "tv-north", "--visibility", "public")
    assert updated.exit_code == 0, updated.output
    assert "every reseller" in updated.output
    assert "tv-north" in cli("visible", pid, "team-b").output
    listed = cli("list", pid)
    assert listed.exit_code == 0 and "4 offer(s)" in listed.output
    missing = cli("update", pid, "nope", "--name", "x")
    assert missing.exit_code == 1 and "nope" in missing.output


def test_templates_commands_show_set_preview_and_reset(db, tmp_path):
    program = Program(db, None, ProgramSettings()).create()
    pid = program.provider_id
    with db.transaction() as session:
        add_reseller(session, "team-t", "Team T")
        session.flush()
        session.add(listed_partner(pid, "team-t"))
    variables = {
        "PARTNERFLOW_DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
        "COLUMNS": "200",
    }

    def cli(*args: str) -> Result:
        return runner.invoke(app, ["templates", *args], env=variables)

    listed = cli("list", pid)
    assert listed.exit_code == 0, listed.output
    assert "friendly_notice" in listed.output and "shipped" in listed.output
    shipped = cli("show", pid, "removed", "--part", "body")
    assert shipped.exit_code == 0 and "{{ reason }}" in shipped.output

    body = tmp_path / "removed.j2"
    body.write_text("{{ partner }}, you are off the {{ provider }} list: {{ reason }}\n")
    saved = cli("set", pid, "removed", str(body), "--subject", "Goodbye, {{ partner }}")
    assert saved.exit_code == 0, saved.output
    assert "own subject and body (v1" in saved.output
    shown = cli("show", pid, "removed")
    assert "own subject and body" in shown.output and "failed_criteria" in shown.output

    previewed = cli("preview", pid, "removed", "--partner", "team-t")
    assert previewed.exit_code == 0, previewed.output
    assert "Subject: Goodbye, Team T" in previewed.output
    assert f"Team T, you are off the Provider {pid} list" in previewed.output

    body.write_text("Hi {{ partner }}\n{{ reason.__class__ }}\n")
    refused = cli("set", pid, "removed", str(body))
    assert refused.exit_code == 1
    assert "body line 2: not allowed" in refused.output
    draft = cli("preview", pid, "removed", str(body))
    assert draft.exit_code == 1 and "unsafe" in draft.output
    unknown = cli("preview", pid, "removed", "--partner", "team-nobody")
    assert unknown.exit_code == 1 and "team-nobody is not a partner or" in unknown.output

    reset = cli("reset", pid, "removed")
    assert reset.exit_code == 0 and "shipped" in reset.output
    assert cli("set", "nobody", "removed", "--subject", "x").exit_code == 1
