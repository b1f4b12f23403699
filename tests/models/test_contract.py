"""Workflow IDs that operators type into the Temporal UI."""

from __future__ import annotations

import pytest

from models.contract import parse_partner_workflow_id, partner_workflow_id


@pytest.mark.parametrize(
    ("provider_id", "reseller_team_id"),
    [("acme", "team-42"), ("prov_1", "r.e.s"), ("ACME Internet", "t:1")],
)
def test_partner_workflow_id_round_trip(provider_id: str, reseller_team_id: str) -> None:
    workflow_id = partner_workflow_id(provider_id, reseller_team_id)
    assert workflow_id == f"partner/{provider_id}/{reseller_team_id}"
    assert parse_partner_workflow_id(workflow_id) == (provider_id, reseller_team_id)


@pytest.mark.parametrize(
    ("provider_id", "reseller_team_id", "named"),
    [
        ("acme/eu", "team", "provider_id"),
        ("acme", "team/1", "reseller_team_id"),
        ("", "team", "provider_id"),
        ("acme", "", "reseller_team_id"),
    ],
)
def test_partner_workflow_id_refuses_slashes_and_empty(
    provider_id: str, reseller_team_id: str, named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        partner_workflow_id(provider_id, reseller_team_id)


@pytest.mark.parametrize(
    "workflow_id",
    [
        "partner/acme",
        "partner/acme/team/extra",
        "agreement/acme/team",
        "partner//team",
        "partner/acme/",
        "",
    ],
)
def test_parse_refuses_other_ids(workflow_id: str) -> None:
    with pytest.raises(ValueError, match="not a partner workflow ID"):
        parse_partner_workflow_id(workflow_id)
