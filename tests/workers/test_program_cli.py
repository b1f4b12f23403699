"""`partnerflow program preview`: a change of criteria judged on today's figures, saved nowhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from cli.app import app
from devstack.demo_data import GOOD
from models.program import ProgramSettings
from models.schema import Notification, ProgramVersion, Provider
from tests.helpers import Program, listed_partner

pytestmark = pytest.mark.both_databases  # the preview's one aggregation on each backend

runner = CliRunner()


async def test_a_preview_lists_the_partner_a_stricter_criterion_would_put_at_risk(
    db, tmp_path: Path
):
    program = Program(db, None, ProgramSettings()).create()
    team = await program.add_reseller("team-good", GOOD)  # 95% acceptance: silver today
    with db.transaction() as session:
        session.add(listed_partner(program.provider_id, team))
    change = tmp_path / "change.json"
    change.write_text(json.dumps({"silver": {"minAcceptanceRate": 0.99}}))
    variables = {"PARTNERFLOW_DATABASE_URL": db.engine.url.render_as_string(hide_password=False)}

    command = ["program", "preview", program.provider_id, str(change)]
    shown = runner.invoke(app, command, env={"COLUMNS": "200", **variables})

    assert shown.exit_code == 0, shown.output
    assert "against version 1: nothing saved" in shown.output
    assert "resellers the change affects (1)" in shown.output
    line = next(row for row in shown.output.splitlines() if team in row)
    assert "preferred · silver" in line and "at risk" in line and "< 99.0%" in line
    with db.transaction() as session:
        provider = session.get_one(Provider, program.provider_id)
        assert provider.program_version == 1
        assert session.scalar(select(func.count()).select_from(ProgramVersion)) == 0
        assert session.scalar(select(func.count()).select_from(Notification)) == 0

    change.write_text(json.dumps({"silver": {"minAcceptanceRate": 2}}))
    refused = runner.invoke(app, command, env=variables)
    assert refused.exit_code == 1 and "silver.minAcceptanceRate" in refused.output
    unknown = runner.invoke(app, ["program", "preview", "nobody", str(change)], env=variables)
    assert unknown.exit_code == 1
