"""Provider requests are checked before they reach a workflow."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from models.partner import (
    MAX_TEXT,
    AtRiskFlag,
    BlockRequest,
    EnrollmentRequest,
    GraceChange,
    NoteInput,
    PartnerStatus,
    PartnerWorkflowInput,
    RemovalRequest,
    TierChange,
    UnblockRequest,
)
from models.program import Tier

AWARE = datetime(2025, 7, 1, 9, 0, tzinfo=UTC)
NAIVE = datetime(2025, 7, 1, 9, 0)


@pytest.mark.parametrize("model", [AtRiskFlag, RemovalRequest, UnblockRequest, BlockRequest])
@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
def test_empty_reason_is_refused(model: type, reason: str) -> None:
    with pytest.raises(ValidationError, match="reason must not be empty"):
        model(reason=reason)


def test_reason_is_trimmed_and_bounded() -> None:
    assert RemovalRequest(reason="  missed targets  ").reason == "missed targets"
    with pytest.raises(ValidationError, match=f"longer than {MAX_TEXT}"):
        RemovalRequest(reason="x" * (MAX_TEXT + 1))


def test_empty_note_is_refused() -> None:
    with pytest.raises(ValidationError, match="note text must not be empty"):
        NoteInput(text="  ")
    assert NoteInput(text=" called them ").text == "called them"


@pytest.mark.parametrize("tier", ["bronze", "Bronze", Tier.BRONZE])
def test_enrollment_as_bronze_is_refused(tier: str) -> None:
    with pytest.raises(ValidationError, match="silver \\(preferred\\) or gold \\(strategic\\)"):
        EnrollmentRequest(tier=tier)


@pytest.mark.parametrize(("given", "tier"), [("preferred", Tier.SILVER), ("strategic", Tier.GOLD)])
def test_enrollment_accepts_the_documents_names(given: str, tier: Tier) -> None:
    assert EnrollmentRequest.model_validate_json(f'{{"tier": "{given}"}}').tier is tier


def test_enrollment_defaults_to_silver() -> None:
    assert EnrollmentRequest().tier is Tier.SILVER


def test_tier_change_to_bronze_is_refused() -> None:
    with pytest.raises(ValidationError, match="remove the partner instead"):
        TierChange(reason="downgrade", tier=Tier.BRONZE)
    assert TierChange(reason="promote", tier="strategic").tier is Tier.GOLD


@pytest.mark.parametrize("days", [29, 61, 0, 365])
def test_flag_grace_days_outside_range_is_refused(days: int) -> None:
    with pytest.raises(ValidationError, match="between 30 and 60 days"):
        AtRiskFlag(reason="late installs", grace_days=days)


@pytest.mark.parametrize("days", [None, 30, 60])
def test_flag_grace_days_within_range(days: int | None) -> None:
    assert AtRiskFlag(reason="late installs", grace_days=days).grace_days == days


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        EnrollmentRequest(effective_date=NAIVE)
    with pytest.raises(ValidationError, match="timezone"):
        GraceChange(reason="holidays", deadline=NAIVE)
    with pytest.raises(ValidationError, match="timezone"):
        EnrollmentRequest.model_validate_json('{"effective_date": "2025-07-01T09:00:00"}')
    assert EnrollmentRequest(effective_date=AWARE).effective_date == AWARE
    assert GraceChange(reason="holidays", deadline=AWARE).deadline == AWARE


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="grace"):
        RemovalRequest.model_validate({"reason": "x", "grace": 40})


@pytest.mark.parametrize(
    ("provider_id", "reseller_team_id"), [("a/b", "team"), ("acme", "t/1"), ("", "team")]
)
def test_workflow_input_ids(provider_id: str, reseller_team_id: str) -> None:
    with pytest.raises(ValidationError):
        PartnerWorkflowInput(provider_id=provider_id, reseller_team_id=reseller_team_id)


def test_statuses_on_the_preferred_list() -> None:
    assert {s for s in PartnerStatus if s.on_preferred_list} == {
        PartnerStatus.PREFERRED,
        PartnerStatus.AT_RISK,
    }
