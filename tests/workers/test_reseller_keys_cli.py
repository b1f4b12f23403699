"""`partnerflow resellers key|keys|revoke-key`: the operator issues, lists and revokes a
reseller team's keys, in-process on a test's database."""

from __future__ import annotations

import pytest

from models.database import Database
from models.schema import Reseller
from services.reseller_keys import reseller_for_key
from tests.workers.cli_runner import cli_on

pytestmark = pytest.mark.both_databases  # the commands' own SQL


def test_a_reseller_key_is_issued_once_listed_without_it_and_revoked(db: Database):
    with db.transaction() as session:
        session.add(Reseller(team_id="team-north", name="Northwind Telecom"))
    cli = cli_on(db)

    issued = cli("resellers", "key", "team-north", "--label", "Ana, sales")
    assert issued.exit_code == 0, issued.output
    key = next(line.split()[-1] for line in issued.output.splitlines() if "Reseller key" in line)
    assert key.startswith("pfr_")
    assert "Ana, sales" in issued.output and "/portal/sign-in" in issued.output
    assert "shown once" in issued.output
    with db.transaction() as session:
        signed = reseller_for_key(session, key)
    assert signed is not None and signed.reseller_team_id == "team-north"

    second = cli("resellers", "key", "team-north")
    assert second.exit_code == 0, second.output
    listed = cli("resellers", "keys", "team-north")
    assert listed.exit_code == 0, listed.output
    assert "Ana, sales" in listed.output and key[:11] in listed.output
    assert key not in listed.output and "2 key(s), 2 active" in listed.output

    revoked = cli("resellers", "revoke-key", "team-north", str(signed.key_id))
    assert revoked.exit_code == 0, revoked.output
    assert f"reseller key {signed.key_id}" in revoked.output and "revoked" in revoked.output
    with db.transaction() as session:
        assert reseller_for_key(session, key) is None
    assert "2 key(s), 1 active" in cli("resellers", "keys", "team-north").output
    again = cli("resellers", "revoke-key", "team-north", str(signed.key_id))
    assert again.exit_code == 0, again.output


def test_an_unknown_team_or_key_is_refused_by_name(db: Database):
    with db.transaction() as session:
        session.add(Reseller(team_id="team-north", name="Northwind Telecom"))
    cli = cli_on(db)
    for args in (("key", "team-nobody"), ("keys", "team-nobody")):
        refused = cli("resellers", *args)
        assert refused.exit_code == 1, refused.output
        assert "no reseller team-nobody is registered" in refused.output
    missing = cli("resellers", "revoke-key", "team-nobody", "1")
    assert missing.exit_code == 1 and "reseller team-nobody has no key 1" in missing.output
    other = cli("resellers", "revoke-key", "team-north", "999")
    assert other.exit_code == 1 and "reseller team-north has no key 999" in other.output
    bad_label = cli("resellers", "key", "team-north", "--label", "x" * 101)
    assert bad_label.exit_code == 1, bad_label.output
