"""Tiers and program settings: the aliases the API accepts and the documented defaults."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from models.program import (
    GOLD_DEFAULTS,
    SILVER_DEFAULTS,
    ProgramSettings,
    Tier,
    TierCriteria,
    validate_grace_days,
)


class TierHolder(BaseModel):
    tier: Tier


@pytest.mark.parametrize(
    ("given", "tier"),
    [
        ("bronze", Tier.BRONZE),
        ("silver", Tier.SILVER),
        ("gold", Tier.GOLD),
        ("preferred", Tier.SILVER),
        ("Preferred", Tier.SILVER),
        ("PREFERRED", Tier.SILVER),
        ("strategic", Tier.GOLD),
        ("Strategic", Tier.GOLD),
        (" GOLD ", Tier.GOLD),
        ("Silver", Tier.SILVER),
    ],
)
def test_tier_names_and_aliases(given: str, tier: Tier) -> None:
    assert Tier(given) is tier


@pytest.mark.parametrize("given", ["platinum", "", "prefered", "silver-ish"])
def test_unknown_tier_is_an_error(given: str) -> None:
    with pytest.raises(ValueError, match="Tier"):
        Tier(given)


def test_tier_aliases_through_pydantic() -> None:
    # The API's JSON path goes through pydantic, not through Tier(...) directly.
    assert TierHolder.model_validate_json('{"tier": "strategic"}').tier is Tier.GOLD
    assert TierHolder.model_validate({"tier": "Preferred"}).tier is Tier.SILVER
    with pytest.raises(ValidationError):
        TierHolder.model_validate_json('{"tier": "diamond"}')


def test_tier_rank_orders_the_tiers() -> None:
    assert Tier.BRONZE.rank < Tier.SILVER.rank < Tier.GOLD.rank


def test_default_criteria_match_the_program_documents() -> None:
    program = ProgramSettings()
    assert program.silver == TierCriteria(
        min_orders_per_month=10,
        min_acceptance_rate=0.90,
        min_completion_rate=0.95,
        min_rating=4.5,
        min_tenure_months=3,
    )
    assert program.silver.min_revenue == 0
    gold = program.gold
    assert gold.min_orders_per_month == 50
    assert gold.min_acceptance_rate == 0.95
    assert gold.min_rating == 4.8
    assert gold.min_tenure_months == 12
    assert gold.min_revenue > 0
    assert (program.silver, program.gold) == (SILVER_DEFAULTS, GOLD_DEFAULTS)
    assert program.metrics_window_days == 90
    assert 30 <= program.grace_period_days <= 60
    assert program.tiers == "three"


@pytest.mark.parametrize("days", [30, 45, 60])
def test_grace_period_within_range(days: int) -> None:
    assert ProgramSettings(grace_period_days=days).grace_period_days == days
    assert validate_grace_days(days) == days


@pytest.mark.parametrize("days", [0, 29, 61, 90, -30])
def test_grace_period_outside_range_is_refused_naming_the_range(days: int) -> None:
    with pytest.raises(ValidationError, match=r"between 30 and 60 days"):
        ProgramSettings(grace_period_days=days)
    with pytest.raises(ValueError, match=rf"between 30 and 60 days, got {days}"):
        validate_grace_days(days)


def test_unknown_settings_are_rejected_not_dropped() -> None:
    with pytest.raises(ValidationError, match="grace_days"):
        ProgramSettings.model_validate({"grace_days": 40})
    with pytest.raises(ValidationError, match="min_orders"):
        TierCriteria.model_validate(
            {
                "min_orders": 5,
                "min_orders_per_month": 5,
                "min_acceptance_rate": 0.9,
                "min_rating": 4,
                "min_tenure_months": 1,
            }
        )


def test_settings_are_immutable() -> None:
    program = ProgramSettings()
    with pytest.raises(ValidationError):
        program.grace_period_days = 31  # type: ignore[misc]


def test_settings_round_trip_through_json() -> None:
    program = ProgramSettings(
        tiers="single",
        grace_period_days=31,
        silver=SILVER_DEFAULTS.model_copy(update={"min_orders_per_month": 7}),
    )
    assert ProgramSettings.model_validate_json(program.model_dump_json()) == program


def test_gold_cannot_ask_fewer_orders_than_silver() -> None:
    with pytest.raises(ValidationError, match="gold must require at least as many orders"):
        ProgramSettings(gold=GOLD_DEFAULTS.model_copy(update={"min_orders_per_month": 5}))
    # A single-tier program has no gold tier to compare.
    single = ProgramSettings(
        tiers="single", gold=GOLD_DEFAULTS.model_copy(update={"min_orders_per_month": 5})
    )
    assert single.criteria_for(Tier.GOLD) is None


def test_criteria_and_partner_tiers_by_program_shape() -> None:
    three = ProgramSettings()
    assert three.criteria_for(Tier.BRONZE) is None
    assert three.criteria_for(Tier.SILVER) is three.silver
    assert three.criteria_for(Tier.GOLD) is three.gold
    assert three.partner_tiers == (Tier.SILVER, Tier.GOLD)
    single = ProgramSettings(tiers="single")
    assert single.partner_tiers == (Tier.SILVER,)


@pytest.mark.parametrize(
    "field",
    [
        {"min_acceptance_rate": 1.5},
        {"min_rating": 5.5},
        {"min_orders_per_month": -1},
        {"min_tenure_months": -1},
    ],
)
def test_criteria_out_of_range_are_refused(field: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        TierCriteria.model_validate({**SILVER_DEFAULTS.model_dump(), **field})
