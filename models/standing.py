"""Where a partner stands after a look at its metrics: the decision a review makes for it.

One pure function, used by the partner workflow when a review reaches it and
by anything that reviews many partners at once, so both always agree.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from models.metrics import CriterionResult, PartnerMetrics, evaluate, failed, qualifying_tier
from models.partner import PartnerStatus
from models.program import Frozen, ProgramSettings, Tier, UnratedRule


class Standing(StrEnum):
    UNCHANGED = "unchanged"
    NEW_CANDIDATE = "new_candidate"
    BELOW_STANDARD = "below_standard"
    STILL_BELOW = "still_below"
    RECOVERED = "recovered"
    PROMOTION = "promotion"
    DEMOTION = "demotion"
    DECIDED_SINCE = "decided_since"
    """The partner's latest decision is newer than the review's data: the review leaves it be."""


WAKING = (
    Standing.NEW_CANDIDATE,
    Standing.BELOW_STANDARD,
    Standing.RECOVERED,
    Standing.PROMOTION,
    Standing.DEMOTION,
)
"""The standings that change a partner, so a review wakes its workflow; the rest stay asleep."""


class StandingDecision(Frozen):
    standing: Standing
    tier: Tier = Field(description="The partner's tier once the decision is applied.")
    failed_criteria: list[CriterionResult] = Field(default_factory=list)


def retention_check(
    metrics: PartnerMetrics,
    program: ProgramSettings,
    tier: Tier,
    *,
    unrated: UnratedRule | None = None,
) -> list[CriterionResult]:
    """A tier's criteria without tenure, which only gates promotion: what keeps a partner there.
    `unrated` overrides the program's rule for unrated resellers."""
    criteria = program.criteria_for(tier) or program.silver
    return evaluate(
        metrics,
        criteria,
        include_tenure=False,
        unrated=unrated or program.unrated,
        basis_days=program.metrics_window_days,
    )


def decide_standing(
    status: PartnerStatus | None,
    tier: Tier,
    metrics: PartnerMetrics,
    program: ProgramSettings,
    *,
    unrated: UnratedRule | None = None,
) -> StandingDecision:
    """What a review does to a partner in `status` (None: the reseller has no partner workflow).

    Preferred partners below their tier go at risk, except gold partners that
    still meet silver, who are demoted; silver partners that meet every gold
    criterion are promoted. At-risk partners recover at their tier, or at
    silver if they were gold and only meet silver. Resellers off the list that
    meet a tier become candidates. `unrated` overrides the program's rule for
    unrated resellers (a partner run from before that rule judged them without it).
    """
    if status in (PartnerStatus.PREFERRED, PartnerStatus.AT_RISK):
        own = failed(retention_check(metrics, program, tier, unrated=unrated))
        meets_silver = not failed(retention_check(metrics, program, Tier.SILVER, unrated=unrated))
        at_risk = status is PartnerStatus.AT_RISK
        if not own:
            if at_risk:
                return StandingDecision(standing=Standing.RECOVERED, tier=tier)
            if (
                tier is Tier.SILVER
                and qualifying_tier(metrics, program, unrated=unrated) is Tier.GOLD
            ):
                return StandingDecision(standing=Standing.PROMOTION, tier=Tier.GOLD)
            return StandingDecision(standing=Standing.UNCHANGED, tier=tier)
        if tier is Tier.GOLD and meets_silver:
            standing = Standing.RECOVERED if at_risk else Standing.DEMOTION
            return StandingDecision(standing=standing, tier=Tier.SILVER, failed_criteria=own)
        standing = Standing.STILL_BELOW if at_risk else Standing.BELOW_STANDARD
        return StandingDecision(standing=standing, tier=tier, failed_criteria=own)
    if status in (None, PartnerStatus.REMOVED):
        best = qualifying_tier(metrics, program, unrated=unrated)
        if best is not Tier.BRONZE:
            return StandingDecision(standing=Standing.NEW_CANDIDATE, tier=best)
    return StandingDecision(standing=Standing.UNCHANGED, tier=tier)
