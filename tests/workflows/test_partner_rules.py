"""The partner workflow's decisions, as pure functions: no Temporal server, no database."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models.notifications import NotificationKind
from models.partner import (
    ActorKind,
    BlockRequest,
    EnrollmentRequest,
    GraceChange,
    IssueReport,
    IssueResponse,
    IssueSeverity,
    PartnerState,
    PartnerStatus,
    ReportedIssue,
    TierChange,
    Transition,
)
from models.program import ProgramSettings, Tier
from models.standing import Standing
from tests.models.test_metrics import GOLD_LEVEL, SILVER_ONLY, metrics
from workflows.common import InvalidRequest
from workflows.partner_lifecycle import rules
from workflows.partner_lifecycle.rules import Deadline, DeadlineKind

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
DAY = timedelta(days=1)
PROGRAM = ProgramSettings(candidate_lapse_days=30, issue_window_days=90)
P, R = PartnerStatus.PREFERRED, PartnerStatus.AT_RISK


def partner(**fields: Any) -> PartnerState:
    return PartnerState(
        provider_id="acme",
        reseller_team_id="team-a",
        partnership_id="run-1",
        created_at=NOW - 200 * DAY,
        **fields,
    )


def at_risk(since: datetime = NOW - 10 * DAY, tier: Tier = Tier.SILVER) -> PartnerState:
    return partner(status=R, tier=tier, at_risk_since=since, grace_deadline=since + 45 * DAY)


def refused(message: str) -> Any:
    return pytest.raises(InvalidRequest, match=re.escape(message))


def issue(days_ago: int, severity: IssueSeverity = IssueSeverity.MINOR) -> ReportedIssue:
    return ReportedIssue(
        sequence=days_ago,
        at=NOW - days_ago * DAY,
        reason="late install",
        severity=severity,
        response=IssueResponse.FRIENDLY_NOTICE,
    )


# ------------------------------------------------------------------ deadlines


def test_deadline_kinds_keep_the_strings_they_had():
    assert [kind.value for kind in DeadlineKind] == ["effective_date", "grace", "lapse"]
    assert DeadlineKind("grace") is DeadlineKind.GRACE


def test_a_scheduled_enrollment_is_the_next_deadline_even_during_a_grace_period():
    request = EnrollmentRequest(tier=Tier.GOLD, effective_date=NOW + 5 * DAY)
    state = at_risk()
    state.scheduled_enrollment = request

    assert rules.next_deadline(state) == Deadline(
        DeadlineKind.EFFECTIVE_DATE, NOW + 5 * DAY, "enroll team-a as gold on 2025-06-06"
    )


def test_an_at_risk_partner_waits_for_its_grace_deadline():
    state = at_risk(since=NOW - 10 * DAY)
    assert rules.next_deadline(state) == Deadline(
        DeadlineKind.GRACE,
        NOW + 35 * DAY,
        "grace period of team-a ends 2025-07-06: a last metric check, then recovery or removal",
    )


def test_a_candidate_lapses_after_the_programs_lapse_days():
    state = partner(candidate_since=NOW - 3 * DAY, program=PROGRAM)
    due = rules.next_deadline(state)
    assert due == Deadline(
        DeadlineKind.LAPSE, NOW + 27 * DAY, "candidacy of team-a lapses 2025-06-28 unless approved"
    )


def test_a_preferred_partner_or_a_candidate_without_program_waits_for_nothing():
    assert rules.next_deadline(partner(status=P, tier=Tier.SILVER, program=PROGRAM)) is None
    assert rules.next_deadline(partner(candidate_since=NOW)) is None


def test_a_deadline_is_due_only_once_its_time_came_and_while_it_is_still_the_next():
    state = at_risk(since=NOW - 45 * DAY)  # the grace deadline is now
    assert rules.is_due(state, DeadlineKind.GRACE, NOW)
    assert not rules.is_due(state, DeadlineKind.GRACE, NOW - timedelta(seconds=1))
    assert not rules.is_due(state, DeadlineKind.LAPSE, NOW)
    state.status = P  # recovered by a review meanwhile
    assert not rules.is_due(state, DeadlineKind.GRACE, NOW)


def test_only_a_refused_first_request_leaves_the_run_with_nothing_to_do():
    assert rules.started_for_nothing(partner())
    assert not rules.started_for_nothing(partner(nominated=True))
    assert not rules.started_for_nothing(
        partner(scheduled_enrollment=EnrollmentRequest(effective_date=NOW + DAY))
    )
    transition = Transition(
        sequence=1,
        at=NOW,
        from_status=None,
        to_status=PartnerStatus.CANDIDATE,
        from_tier=Tier.BRONZE,
        to_tier=Tier.BRONZE,
        reason="nominated",
        actor=ActorKind.REVIEW,
    )
    assert not rules.started_for_nothing(partner(transitions=[transition]))


# ------------------------------------------------------------------ standing


def test_failed_retention_names_the_missed_criteria_of_the_partners_tier():
    silver = metrics(**SILVER_ONLY)
    assert rules.failed_retention(silver, PROGRAM, Tier.SILVER) == []
    missed = rules.failed_retention(silver, PROGRAM, Tier.GOLD)
    assert {c.name for c in missed} >= {"orders_per_month", "acceptance_rate"}
    assert all(not c.met for c in missed)


def test_a_gold_partner_at_risk_that_meets_silver_recovers_as_silver():
    decision = rules.recovery(
        at_risk(tier=Tier.GOLD), metrics(**SILVER_ONLY), PROGRAM, unrated_not_met=True
    )
    assert (decision.standing, decision.tier) == (Standing.RECOVERED, Tier.SILVER)


def test_a_review_promotes_a_silver_partner_that_meets_gold():
    state = partner(status=P, tier=Tier.SILVER)
    decision = rules.review_standing(state, metrics(**GOLD_LEVEL), PROGRAM, unrated_not_met=True)
    assert (decision.standing, decision.tier) == (Standing.PROMOTION, Tier.GOLD)


def test_a_tier_change_up_is_a_promotion_and_down_a_demotion():
    assert rules.tier_change_kind(Tier.SILVER, Tier.GOLD) is NotificationKind.PROMOTED
    assert rules.tier_change_kind(Tier.GOLD, Tier.SILVER) is NotificationKind.DEMOTED


@pytest.mark.parametrize(
    ("status", "before_block", "ends"),
    [
        (P, None, True),
        (R, None, True),
        (PartnerStatus.BLOCKED, R, True),
        (PartnerStatus.BLOCKED, PartnerStatus.CANDIDATE, False),
        (PartnerStatus.CANDIDATE, None, False),
    ],
)
def test_a_removal_ends_a_partnership_of_a_partner_listed_or_listed_before_its_block(
    status, before_block, ends
):
    state = partner(status=status, status_before_block=before_block)
    assert rules.removal_ends_partnership(state) is ends


@pytest.mark.parametrize(
    ("earlier", "severity", "response"),
    [
        ([], IssueSeverity.MINOR, IssueResponse.FRIENDLY_NOTICE),
        ([issue(10)], IssueSeverity.MINOR, IssueResponse.FORMAL_NOTICE),
        ([issue(10)], IssueSeverity.SERIOUS, IssueResponse.AT_RISK),
        ([issue(100), issue(95)], IssueSeverity.MINOR, IssueResponse.FRIENDLY_NOTICE),
        ([issue(20), issue(10)], IssueSeverity.MINOR, IssueResponse.AT_RISK),
    ],
)
def test_issues_within_the_window_climb_the_progressive_response(earlier, severity, response):
    state = partner(status=P, tier=Tier.SILVER, issues=earlier)
    report = IssueReport(reason="late install", severity=severity)
    kept, answer = rules.issue_response(state, report, PROGRAM, NOW)
    assert answer is response
    assert all(i.at > NOW - 90 * DAY for i in kept)


def test_an_issue_drops_out_of_the_window_and_an_at_risk_partner_gets_a_formal_notice():
    state = at_risk()
    state.issues = [issue(120), issue(20), issue(10)]
    kept, answer = rules.issue_response(state, IssueReport(reason="again"), PROGRAM, NOW)
    assert kept == [issue(20), issue(10)]
    assert answer is IssueResponse.FORMAL_NOTICE  # at risk would be the next rung


# ------------------------------------------------------------------ requests


def test_enrollment_refusals_say_why():
    silver = EnrollmentRequest(tier=Tier.SILVER)
    with refused("team-a was just removed; send the enrollment again"):
        rules.check_enroll(partner(status=PartnerStatus.REMOVED), silver)
    with refused("team-a is blocked; unblock it before enrolling"):
        rules.check_enroll(partner(status=PartnerStatus.BLOCKED), silver)
    with refused("team-a is already a silver partner; change its tier instead"):
        rules.check_enroll(partner(status=P, tier=Tier.SILVER), EnrollmentRequest(tier=Tier.GOLD))
    scheduled = partner(scheduled_enrollment=EnrollmentRequest(effective_date=NOW + 30 * DAY))
    with refused("team-a already has an enrollment scheduled for 2025-07-01"):
        rules.check_enroll(scheduled, silver)


def test_an_enrollment_of_a_candidate_or_a_repeat_is_accepted_and_a_repeat_recognised():
    candidate = partner()
    rules.check_enroll(candidate, EnrollmentRequest(tier=Tier.GOLD))
    assert not rules.is_repeated_enrollment(candidate, EnrollmentRequest(tier=Tier.GOLD))
    listed = partner(status=P, tier=Tier.SILVER)
    rules.check_enroll(listed, EnrollmentRequest(tier=Tier.SILVER))
    assert rules.is_repeated_enrollment(listed, EnrollmentRequest(tier=Tier.SILVER))
    later = EnrollmentRequest(effective_date=NOW + 30 * DAY)
    rules.check_enroll(partner(scheduled_enrollment=later), later)
    assert rules.is_repeated_enrollment(partner(scheduled_enrollment=later), later)


def test_an_enrollment_waits_only_for_an_effective_date_still_ahead():
    assert rules.enrolls_later(EnrollmentRequest(effective_date=NOW + DAY), NOW)
    assert not rules.enrolls_later(EnrollmentRequest(effective_date=NOW), NOW)
    assert not rules.enrolls_later(EnrollmentRequest(), NOW)


def test_gold_is_refused_in_a_single_tier_program():
    with refused("this program has a single tier: gold is not available, use silver"):
        rules.check_tier_in_program(Tier.GOLD, ProgramSettings(tiers="single"))
    rules.check_tier_in_program(Tier.SILVER, ProgramSettings(tiers="single"))
    rules.check_tier_in_program(Tier.GOLD, ProgramSettings(tiers="three"))


def test_only_a_preferred_partner_can_be_flagged():
    with refused("team-a is already at risk until 2025-06-26; change the grace deadline instead"):
        rules.check_flag(at_risk(since=NOW - 20 * DAY))
    with refused("only a preferred partner can be flagged at risk; team-a is candidate"):
        rules.check_flag(partner())
    rules.check_flag(partner(status=P, tier=Tier.SILVER))


def test_a_grace_deadline_moves_within_30_to_60_days_of_the_flag_and_not_into_the_past():
    since = NOW - 40 * DAY  # 2025-04-22
    state = at_risk(since=since)
    with refused("team-a is preferred, not at risk: it has no grace period"):
        rules.check_grace_change(partner(status=P), GraceChange(reason="x", deadline=NOW), NOW)
    with refused(
        "the grace period must last 30-60 days from 2025-04-22: the deadline must fall "
        "between 2025-05-22 and 2025-06-21, got 2025-06-22"
    ):
        rules.check_grace_change(state, GraceChange(reason="x", deadline=since + 61 * DAY), NOW)
    with refused("the new deadline 2025-05-22 is already past"):
        rules.check_grace_change(state, GraceChange(reason="x", deadline=since + 30 * DAY), NOW)
    rules.check_grace_change(state, GraceChange(reason="x", deadline=since + 60 * DAY), NOW)


def test_only_a_listed_partner_changes_tier_and_only_to_another():
    with refused("team-a is candidate; only partners on the preferred list have a tier"):
        rules.check_tier_change(partner(), TierChange(reason="x", tier=Tier.GOLD))
    with refused("team-a is already silver"):
        rules.check_tier_change(at_risk(), TierChange(reason="x", tier=Tier.SILVER))
    rules.check_tier_change(at_risk(), TierChange(reason="x", tier=Tier.GOLD))


def test_a_block_must_block_something_new():
    with refused("team-a is already blocked"):
        rules.check_block(partner(status=PartnerStatus.BLOCKED), BlockRequest(reason="x"))
    with refused("team-a is already removed"):
        rules.check_block(partner(status=PartnerStatus.REMOVED), BlockRequest(reason="x"))
    blocked = partner(status=P, tier=Tier.SILVER, blocked_offer_ids=["o-1", "o-2"])
    with refused("team-a is already blocked from those offers"):
        rules.check_block(blocked, BlockRequest(reason="x", offer_ids=["o-2"]))
    rules.check_block(blocked, BlockRequest(reason="x", offer_ids=["o-2", "o-3"]))
    rules.check_block(blocked, BlockRequest(reason="x"))  # all offers now


def test_an_unblock_needs_a_block_of_some_kind():
    with refused("team-a is not blocked"):
        rules.check_unblock(partner(status=P, tier=Tier.SILVER))
    rules.check_unblock(partner(status=PartnerStatus.BLOCKED))
    rules.check_unblock(partner(status=P, tier=Tier.SILVER, blocked_offer_ids=["o-1"]))


def test_a_removed_partner_is_not_removed_again():
    with refused("team-a is already removed"):
        rules.check_remove(partner(status=PartnerStatus.REMOVED))
    rules.check_remove(partner())
    rules.check_remove(partner(status=PartnerStatus.BLOCKED))


def test_issues_are_reported_only_against_listed_partners():
    with refused("only a partner on the preferred list can be sent notices; team-a is blocked"):
        rules.check_report(partner(status=PartnerStatus.BLOCKED))
    rules.check_report(partner(status=P, tier=Tier.SILVER))
    rules.check_report(at_risk())


def test_only_a_candidate_not_yet_nominated_takes_a_nomination():
    assert rules.takes_nomination(partner())
    assert not rules.takes_nomination(partner(nominated=True))
    assert not rules.takes_nomination(partner(status=P, tier=Tier.SILVER))


def test_an_unrated_partner_is_below_standard_unless_its_run_is_from_before_the_rule():
    state = partner(status=P, tier=Tier.SILVER)
    unrated = metrics(**{**SILVER_ONLY, "average_rating": None})
    now = rules.review_standing(state, unrated, PROGRAM, unrated_not_met=True)
    before = rules.review_standing(state, unrated, PROGRAM, unrated_not_met=False)
    assert now.standing is Standing.BELOW_STANDARD
    assert [c.name for c in now.failed_criteria] == ["average_rating"]
    assert before.standing is Standing.UNCHANGED
    lenient = PROGRAM.model_copy(update={"unrated": "without_rating"})
    assert rules.review_standing(state, unrated, lenient, unrated_not_met=True).standing is (
        Standing.UNCHANGED
    )


def test_an_enrollment_below_the_criteria_records_the_providers_reason():
    plain = EnrollmentRequest(tier=Tier.SILVER, requested_by="ops")
    assert rules.enrollment_reason(plain) == "enrolled as silver by ops"
    chosen = plain.model_copy(update={"override": True, "notes": "new region"})
    assert rules.enrollment_reason(chosen) == (
        "enrolled as silver by ops below the silver criteria: new region"
    )
