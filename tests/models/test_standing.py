"""The decision a review makes for a partner, from its status, tier and metrics."""

from __future__ import annotations

import pytest

from models.partner import PartnerStatus
from models.program import ProgramSettings, Tier
from models.standing import Standing, decide_standing
from tests.models.test_metrics import GOLD_LEVEL, SILVER_ONLY, metrics

BELOW = {**SILVER_ONLY, "completion_rate": 0.80}
PROGRAM = ProgramSettings()
P, R = PartnerStatus.PREFERRED, PartnerStatus.AT_RISK


@pytest.mark.parametrize(
    ("status", "tier", "values", "standing", "new_tier"),
    [
        (P, Tier.SILVER, SILVER_ONLY, Standing.UNCHANGED, Tier.SILVER),
        (P, Tier.SILVER, GOLD_LEVEL, Standing.PROMOTION, Tier.GOLD),
        (P, Tier.GOLD, GOLD_LEVEL, Standing.UNCHANGED, Tier.GOLD),
        (P, Tier.GOLD, SILVER_ONLY, Standing.DEMOTION, Tier.SILVER),
        (P, Tier.GOLD, BELOW, Standing.BELOW_STANDARD, Tier.GOLD),
        (P, Tier.SILVER, BELOW, Standing.BELOW_STANDARD, Tier.SILVER),
        (R, Tier.SILVER, SILVER_ONLY, Standing.RECOVERED, Tier.SILVER),
        (R, Tier.SILVER, GOLD_LEVEL, Standing.RECOVERED, Tier.SILVER),
        (R, Tier.GOLD, SILVER_ONLY, Standing.RECOVERED, Tier.SILVER),
        (R, Tier.SILVER, BELOW, Standing.STILL_BELOW, Tier.SILVER),
        (None, Tier.BRONZE, SILVER_ONLY, Standing.NEW_CANDIDATE, Tier.SILVER),
        (None, Tier.BRONZE, GOLD_LEVEL, Standing.NEW_CANDIDATE, Tier.GOLD),
        (PartnerStatus.REMOVED, Tier.BRONZE, SILVER_ONLY, Standing.NEW_CANDIDATE, Tier.SILVER),
        (None, Tier.BRONZE, BELOW, Standing.UNCHANGED, Tier.BRONZE),
        (PartnerStatus.BLOCKED, Tier.SILVER, BELOW, Standing.UNCHANGED, Tier.SILVER),
        (PartnerStatus.CANDIDATE, Tier.BRONZE, SILVER_ONLY, Standing.UNCHANGED, Tier.BRONZE),
    ],
)
def test_decision(status, tier, values, standing, new_tier):
    decision = decide_standing(status, tier, metrics(**values), PROGRAM)
    assert (decision.standing, decision.tier) == (standing, new_tier)


def test_failed_criteria_name_what_fell_short():
    decision = decide_standing(P, Tier.SILVER, metrics(**BELOW), PROGRAM)
    assert [c.name for c in decision.failed_criteria] == ["completion_rate"]


def test_tenure_never_puts_a_partner_at_risk_but_gates_candidates():
    new = {**SILVER_ONLY, "tenure_months": 1}
    assert decide_standing(P, Tier.SILVER, metrics(**new), PROGRAM).standing is Standing.UNCHANGED
    assert decide_standing(None, Tier.BRONZE, metrics(**new), PROGRAM).standing is (
        Standing.UNCHANGED
    )


def test_single_tier_program_never_promotes_to_gold():
    single = ProgramSettings(tiers="single")
    decision = decide_standing(P, Tier.SILVER, metrics(**GOLD_LEVEL), single)
    assert decision.standing is Standing.UNCHANGED
    assert decide_standing(None, Tier.BRONZE, metrics(**GOLD_LEVEL), single).tier is Tier.SILVER
