"""`partnerflow resellers import` (CSV or JSON, all or nothing, an upsert by team ID),
`partnerflow keys ...`, and partners listed with their names, in-process on a test's database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from models.database import Database
from models.program import ProgramSettings
from models.schema import ApiKey, Reseller
from services.providers import issue_key, provider_for_key
from tests.helpers import Program, listed_partner
from tests.workers.cli_runner import cli_on

pytestmark = pytest.mark.both_databases  # the commands' own SQL

CSV = """resellerTeamId,name,email,contactName,phone,region,joinedAt
team-north,Northwind Telecom,sales@north.example,Ada Park,206-555-0100,Cascadia,2025-03-01
team-peak,BluePeak Networks,,,,Rockies,
"""


def stored(db: Database) -> dict[str, tuple[str, str | None, str | None, str | None]]:
    with db.transaction() as session:
        return {
            r.team_id: (r.name, r.email, r.contact_name, r.region)
            for r in session.scalars(select(Reseller))
        }


def test_import_adds_then_updates_from_csv_and_json(db: Database, tmp_path: Path):
    cli = cli_on(db)
    first = tmp_path / "resellers.csv"
    first.write_text(CSV)
    added = cli("resellers", "import", str(first))
    assert added.exit_code == 0, added.output
    assert "2 reseller(s) added, 0 updated, 0 unchanged" in added.output
    assert stored(db)["team-north"] == (
        "Northwind Telecom",
        "sales@north.example",
        "Ada Park",
        "Cascadia",
    )
    assert stored(db)["team-peak"] == ("BluePeak Networks", None, None, "Rockies")

    # JSON, detected by its content: a field left out keeps its value, null clears it.
    second = tmp_path / "sync.txt"
    rows = [
        {"resellerTeamId": "team-north", "region": "California", "email": None},
        {"reseller_team_id": "team-peak", "name": "BluePeak Networks"},
        {"resellerTeamId": "team-new", "name": "Brand New", "joinedAt": "2026-01-02T10:00:00Z"},
    ]
    second.write_text(json.dumps(rows))
    updated = cli("resellers", "import", str(second))
    assert updated.exit_code == 0, updated.output
    assert "1 reseller(s) added, 1 updated, 1 unchanged" in updated.output
    assert stored(db)["team-north"] == ("Northwind Telecom", None, "Ada Park", "California")
    assert stored(db)["team-new"][0] == "Brand New"


@pytest.mark.parametrize(
    ("rows", "says"),
    [
        ("team-b,Bee,not-an-email", "row 2: email: must be an email address"),
        ("team-b,,", "row 2: name: required for a new reseller (team-b)"),
        ("team-a,Again,", "row 2: resellerTeamId: team-a is already in row 1"),
        ("team/b,Bee,", "row 2: resellerTeamId: "),
    ],
)
def test_one_bad_row_imports_nothing(db: Database, tmp_path: Path, rows: str, says: str):
    path = tmp_path / "resellers.csv"
    path.write_text(f"resellerTeamId,name,email\nteam-a,Aye,\n{rows}\nteam-c,Cee,\n")
    refused = cli_on(db)("resellers", "import", str(path))
    assert refused.exit_code == 1
    assert "nothing was imported" in refused.output and says in refused.output, refused.output
    assert stored(db) == {}


def test_import_refuses_what_it_cannot_read(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    cli = cli_on(db)
    not_a_list = tmp_path / "one.json"
    not_a_list.write_text('{"resellerTeamId": "team-a", "name": "A"}')
    refused = cli("resellers", "import", str(not_a_list))
    assert refused.exit_code == 1 and "must hold a list" in refused.output
    unknown_column = tmp_path / "extra.csv"
    unknown_column.write_text("resellerTeamId,name,colour\nteam-a,A,red\n")
    refused = cli("resellers", "import", str(unknown_column))
    assert refused.exit_code == 1 and "row 1: colour: " in refused.output
    monkeypatch.setattr("cli.resellers.MAX_IMPORT_BYTES", 10)
    too_big = cli("resellers", "import", str(unknown_column))
    assert too_big.exit_code == 1 and "the most one import reads" in too_big.output
    missing = cli("resellers", "import", str(tmp_path / "nowhere.csv"))
    assert missing.exit_code == 1 and "cannot read" in missing.output
    assert stored(db) == {}


def test_partners_list_and_resellers_find_show_names(db: Database, tmp_path: Path):
    program = Program(db, None, ProgramSettings()).create()
    pid = program.provider_id
    path = tmp_path / "r.csv"
    path.write_text("resellerTeamId,name,region\nteam-north,Northwind Telecom,Pacific NW\n")
    cli = cli_on(db)
    assert cli("resellers", "import", str(path)).exit_code == 0
    with db.transaction() as session:
        session.add(listed_partner(pid, "team-north"))
    listed = cli("partners", "list", pid)
    assert listed.exit_code == 0, listed.output
    assert "Northwind Telecom" in listed.output and "name" in listed.output
    found = cli("resellers", "find", pid, "northw")
    assert found.exit_code == 0, found.output
    assert "Northwind Telecom" in found.output and "preferred · silver" in found.output
    assert "1 reseller(s)" in found.output


def test_keys_commands_list_create_and_revoke(db: Database):
    program = Program(db, None, ProgramSettings()).create()
    pid = program.provider_id
    with db.transaction() as session:
        first = issue_key(session, pid)
    cli = cli_on(db)

    created = cli("keys", "create", pid, "--label", "billing sync")
    assert created.exit_code == 0, created.output
    key = next(line.split()[-1] for line in created.output.splitlines() if "API key" in line)
    with db.transaction() as session:
        assert provider_for_key(session, key) == pid
        ids = {row.prefix: row.id for row in session.scalars(select(ApiKey))}

    listed = cli("keys", "list", pid)
    assert listed.exit_code == 0, listed.output
    assert "billing sync" in listed.output and first[:10] in listed.output
    assert key not in listed.output and "2 key(s), 2 active" in listed.output

    revoked = cli("keys", "revoke", pid, str(ids[key[:10]]))
    assert revoked.exit_code == 0, revoked.output
    with db.transaction() as session:
        assert provider_for_key(session, key) is None
    last = cli("keys", "revoke", pid, str(ids[first[:10]]))
    assert last.exit_code == 1 and "last active key" in last.output
    other = cli("keys", "revoke", "someone-else", str(ids[first[:10]]))
    assert other.exit_code == 1 and "has no API key" in other.output
    bad_label = cli("keys", "create", pid, "--label", "x" * 101)
    assert bad_label.exit_code == 1
