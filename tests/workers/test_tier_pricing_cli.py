"""`partnerflow offers visible`: what a reseller sees of a provider, and what its tier pays."""

from __future__ import annotations

from typer.testing import CliRunner

from cli.app import app
from devstack.demo_data import add_reseller
from models.program import ProgramSettings, TierDiscounts
from tests.helpers import Program, listed_partner

runner = CliRunner()


def test_the_cli_shows_the_price_a_partners_tier_gets(db):
    discounts = TierDiscounts(silver=5, gold=10)
    program = Program(db, None, ProgramSettings(tier_discounts=discounts)).create()
    pid = program.provider_id
    with db.transaction() as session:
        for team in ("team-listed", "team-removed"):
            add_reseller(session, team)
        session.flush()
        session.add(listed_partner(pid, "team-listed"))  # silver
        session.add(listed_partner(pid, "team-removed", status="removed"))  # silver no more
    variables = {
        "PARTNERFLOW_DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
        "COLUMNS": "200",
    }

    listed = runner.invoke(app, ["offers", "visible", pid, "team-listed"], env=variables)
    assert listed.exit_code == 0, listed.output
    assert "what team-listed pays a month" in listed.output
    assert "57.00" in listed.output and "5% silver discount" in listed.output
    removed = runner.invoke(app, ["offers", "visible", pid, "team-removed"], env=variables)
    assert removed.exit_code == 0, removed.output
    assert "57.00" not in removed.output and "the list price" in removed.output
