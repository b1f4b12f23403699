"""What "tightens" means: one pure function, checked setting by setting."""

from __future__ import annotations

import pytest

from models.contract import program_change_workflow_id
from models.program import ProgramSettings, TierCriteria
from models.program_change import (
    program_change_notice_key,
    threshold_changes,
    tightens,
)

BASE = ProgramSettings()


def changed(**update: object) -> ProgramSettings:
    return ProgramSettings.model_validate({**BASE.model_dump(), **update})


def silver(**update: object) -> TierCriteria:
    return TierCriteria.model_validate({**BASE.silver.model_dump(), **update})


@pytest.mark.parametrize(
    "new",
    [
        changed(silver=silver(min_orders_per_month=20)),
        changed(silver=silver(min_acceptance_rate=0.95)),
        changed(silver=silver(min_rating=4.6)),
        changed(gold=BASE.gold.model_copy(update={"min_revenue": 30_000})),
        changed(grace_period_days=30),
        changed(unrated="not_met"),
    ],
    ids=["orders", "acceptance", "rating", "gold revenue", "grace", "unrated"],
)
def test_a_raised_threshold_a_shorter_grace_or_a_stricter_unrated_rule_tightens(new):
    old = BASE if new.unrated != "not_met" else changed(unrated="without_rating")
    assert tightens(old, new)


@pytest.mark.parametrize(
    "new",
    [
        BASE,
        changed(silver=silver(min_orders_per_month=5)),
        changed(grace_period_days=60),
        changed(unrated="without_rating"),
        changed(metrics_window_days=30, auto_enroll=True, candidate_lapse_days=10),
        changed(tiers="single"),
    ],
    ids=["same", "lowered", "longer grace", "looser unrated", "window and enrollment", "tiers"],
)
def test_the_same_a_looser_or_a_non_threshold_change_does_not(new):
    assert not tightens(BASE, new)


def test_each_change_reads_old_to_new_in_the_criterion_s_own_units():
    new = changed(
        silver=silver(min_acceptance_rate=0.95, min_orders_per_month=8), grace_period_days=30
    )
    texts = {change.text: change.tightens for change in threshold_changes(BASE, new)}
    assert texts == {
        "silver orders/month: 10 → 8": False,
        "silver acceptance: 90.0% → 95.0%": True,
        "grace period: 45 days → 30 days": True,
    }


def test_the_workflow_id_and_the_notice_keys_are_readable():
    assert program_change_workflow_id("acme", 3) == "program-change/acme/3"
    assert program_change_notice_key("acme", 3, "team-a") == "program-change/acme/3/team-a"
    with pytest.raises(ValueError):
        program_change_workflow_id("a/b", 3)
