"""The partner's decisions: what a request may do in the current state, and what is due next.

Pure functions of the state, the request, the program and the time (passed in, never read
here), so a validator, its handler and a test all ask the same question. A check returns
nothing or raises InvalidRequest with the reason the provider reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from temporalio import workflow

from workflows.common import InvalidInput, InvalidRequest

with workflow.unsafe.imports_passed_through():
    from models.metrics import CriterionResult, PartnerMetrics, failed
    from models.notifications import NotificationKind
    from models.partner import (
        BlockRequest,
        EnrollmentRequest,
        GraceChange,
        IssueReport,
        IssueResponse,
        PartnerState,
        PartnerStatus,
        ReportedIssue,
        TierChange,
    )
    from models.program import (
        GRACE_PERIOD_MAX_DAYS,
        GRACE_PERIOD_MIN_DAYS,
        ProgramSettings,
        Tier,
        UnratedRule,
    )
    from models.standing import StandingDecision, decide_standing, retention_check
    from models.summaries import day


class DeadlineKind(StrEnum):
    """What a partner's timer waits for."""

    EFFECTIVE_DATE = "effective_date"
    GRACE = "grace"
    LAPSE = "lapse"


@dataclass(frozen=True)
class Deadline:
    kind: DeadlineKind
    at: datetime
    summary: str
    """The timer's summary in the UI."""


# ------------------------------------------------------------------ deadlines


def next_deadline(state: PartnerState) -> Deadline | None:
    """The one deadline the partner waits for: a scheduled enrollment, the end of its grace
    period or the lapse of its candidacy, in that order; None if it waits for nothing."""
    s = state
    if s.scheduled_enrollment and s.scheduled_enrollment.effective_date:
        at = s.scheduled_enrollment.effective_date
        tier = s.scheduled_enrollment.tier.value
        return Deadline(
            DeadlineKind.EFFECTIVE_DATE, at, f"enroll {s.reseller_team_id} as {tier} on {day(at)}"
        )
    if s.status is PartnerStatus.AT_RISK and s.grace_deadline:
        return Deadline(
            DeadlineKind.GRACE,
            s.grace_deadline,
            f"grace period of {s.reseller_team_id} ends {day(s.grace_deadline)}: "
            "a last metric check, then recovery or removal",
        )
    if s.status is PartnerStatus.CANDIDATE and s.candidate_since and s.program:
        at = s.candidate_since + timedelta(days=s.program.candidate_lapse_days)
        return Deadline(
            DeadlineKind.LAPSE,
            at,
            f"candidacy of {s.reseller_team_id} lapses {day(at)} unless approved",
        )
    return None


def is_due(state: PartnerState, kind: DeadlineKind, now: datetime) -> bool:
    """Whether a deadline of `kind` is still the next one and has come: a request may have
    moved or cancelled it while its timer fired."""
    current = next_deadline(state)
    return current is not None and current.kind is kind and current.at <= now


def started_for_nothing(state: PartnerState) -> bool:
    """A refused enrollment started this run: there is no partner, candidate or plan to keep."""
    return (
        state.status is PartnerStatus.CANDIDATE
        and not state.nominated
        and state.scheduled_enrollment is None
        and not state.transitions
    )


# ------------------------------------------------------------------ standing


def failed_retention(
    metrics: PartnerMetrics, program: ProgramSettings, tier: Tier
) -> list[CriterionResult]:
    """The criteria of `tier` that the metrics miss."""
    return failed(retention_check(metrics, program, tier))


def unrated_rule(program: ProgramSettings, *, unrated_not_met: bool) -> UnratedRule:
    """How the partner's decisions judge a reseller with no ratings: the program's rule, or, in
    a run from before the `unrated-not-met` patch (`unrated_not_met` False), without the rating
    criterion, as that run decided before."""
    return program.unrated if unrated_not_met else "without_rating"


def decided_since(state: PartnerState, metrics: PartnerMetrics) -> bool:
    """The partner's latest transition is at or after the end of the metrics' window: a
    verdict on that older data would overrule a newer decision."""
    return bool(state.transitions) and state.transitions[-1].at >= metrics.window_end


def review_standing(
    state: PartnerState,
    metrics: PartnerMetrics,
    program: ProgramSettings,
    *,
    unrated_not_met: bool,
) -> StandingDecision:
    """What a review's metrics do to the partner as it stands."""
    rule = unrated_rule(program, unrated_not_met=unrated_not_met)
    return decide_standing(state.status, state.tier, metrics, program, unrated=rule)


def recovery(
    state: PartnerState,
    metrics: PartnerMetrics,
    program: ProgramSettings,
    *,
    unrated_not_met: bool,
) -> StandingDecision:
    """Whether the metrics bring the partner back from at risk, and at which tier."""
    rule = unrated_rule(program, unrated_not_met=unrated_not_met)
    return decide_standing(PartnerStatus.AT_RISK, state.tier, metrics, program, unrated=rule)


def tier_change_kind(previous: Tier, tier: Tier) -> NotificationKind:
    return NotificationKind.PROMOTED if tier.rank > previous.rank else NotificationKind.DEMOTED


def removal_ends_partnership(state: PartnerState) -> bool:
    """On the preferred list, or there when it was blocked: the partner loses its exclusives
    and is told of its removal; a candidate's removal ends nothing."""
    return state.status.on_preferred_list or state.status_before_block in (
        PartnerStatus.PREFERRED,
        PartnerStatus.AT_RISK,
    )


def issue_response(
    state: PartnerState, report: IssueReport, program: ProgramSettings, now: datetime
) -> tuple[list[ReportedIssue], IssueResponse]:
    """The issues reported within the program's window before this one, and the rung of the
    progressive response this one reaches (a partner already at risk gets a formal notice)."""
    window = timedelta(days=program.issue_window_days)
    earlier = [issue for issue in state.issues if issue.at > now - window]
    level = sum(issue.severity.steps for issue in earlier) + report.severity.steps
    response = IssueResponse.for_level(level)
    if response is IssueResponse.AT_RISK and state.status is PartnerStatus.AT_RISK:
        response = IssueResponse.FORMAL_NOTICE  # already on the way to removal
    return earlier, response


# ------------------------------------------------------------------ requests


def enrollment_reason(request: EnrollmentRequest) -> str:
    """The enrollment's transition reason; one below the criteria says the provider's why."""
    reason = f"enrolled as {request.tier.value} by {request.requested_by}"
    if request.override:
        reason += f" below the {request.tier.value} criteria: {request.notes}"
    return reason


def is_repeated_enrollment(state: PartnerState, request: EnrollmentRequest) -> bool:
    """Already a partner, or this very enrollment is already scheduled: nothing to do again."""
    return state.status.on_preferred_list or state.scheduled_enrollment == request


def takes_nomination(state: PartnerState) -> bool:
    """Only a candidate not nominated yet becomes one by a nomination; others ignore it."""
    return state.status is PartnerStatus.CANDIDATE and not state.nominated


def enrolls_later(request: EnrollmentRequest, now: datetime) -> bool:
    return request.effective_date is not None and request.effective_date > now


def check_enroll(state: PartnerState, request: EnrollmentRequest) -> None:
    s = state
    if s.status is PartnerStatus.REMOVED:
        raise InvalidRequest(
            f"{s.reseller_team_id} was just removed; send the enrollment again to start "
            "a new partnership"
        )
    if s.status is PartnerStatus.BLOCKED:
        raise InvalidRequest(f"{s.reseller_team_id} is blocked; unblock it before enrolling")
    if s.status.on_preferred_list and s.tier is not request.tier:
        raise InvalidRequest(
            f"{s.reseller_team_id} is already a {s.tier.value} partner; "
            "change its tier instead of enrolling it again"
        )
    if s.scheduled_enrollment and s.scheduled_enrollment != request:
        raise InvalidRequest(
            f"{s.reseller_team_id} already has an enrollment scheduled for "
            f"{day(s.scheduled_enrollment.effective_date)}"
        )


def check_tier_in_program(tier: Tier, program: ProgramSettings) -> None:
    if tier not in program.partner_tiers:
        raise InvalidRequest(
            f"this program has a single tier: {tier.value} is not available, use silver"
        )


def check_flag(state: PartnerState) -> None:
    s = state
    if s.status is PartnerStatus.AT_RISK:
        raise InvalidRequest(
            f"{s.reseller_team_id} is already at risk until {day(s.grace_deadline)}; "
            "change the grace deadline instead"
        )
    if s.status is not PartnerStatus.PREFERRED:
        raise InvalidRequest(
            f"only a preferred partner can be flagged at risk; {s.reseller_team_id} "
            f"is {s.status.value}"
        )


def check_grace_change(state: PartnerState, request: GraceChange, now: datetime) -> None:
    s = state
    if s.status is not PartnerStatus.AT_RISK or s.at_risk_since is None:
        raise InvalidRequest(
            f"{s.reseller_team_id} is {s.status.value}, not at risk: it has no grace period"
        )
    earliest = s.at_risk_since + timedelta(days=GRACE_PERIOD_MIN_DAYS)
    latest = s.at_risk_since + timedelta(days=GRACE_PERIOD_MAX_DAYS)
    if not earliest <= request.deadline <= latest:
        raise InvalidInput(
            f"the grace period must last {GRACE_PERIOD_MIN_DAYS}-{GRACE_PERIOD_MAX_DAYS} days "
            f"from {day(s.at_risk_since)}: the deadline must fall between {day(earliest)} "
            f"and {day(latest)}, got {day(request.deadline)}"
        )
    if request.deadline <= now:
        raise InvalidInput(f"the new deadline {day(request.deadline)} is already past")


def check_tier_change(state: PartnerState, request: TierChange) -> None:
    s = state
    if not s.status.on_preferred_list:
        raise InvalidRequest(
            f"{s.reseller_team_id} is {s.status.value}; only partners on the preferred "
            "list have a tier to change"
        )
    if s.tier is request.tier:
        raise InvalidRequest(f"{s.reseller_team_id} is already {request.tier.value}")


def check_block(state: PartnerState, request: BlockRequest) -> None:
    s = state
    if s.status in (PartnerStatus.BLOCKED, PartnerStatus.REMOVED):
        raise InvalidRequest(f"{s.reseller_team_id} is already {s.status.value}")
    if request.offer_ids and set(request.offer_ids) <= set(s.blocked_offer_ids):
        raise InvalidRequest(f"{s.reseller_team_id} is already blocked from those offers")


def check_unblock(state: PartnerState) -> None:
    if state.status is not PartnerStatus.BLOCKED and not state.blocked_offer_ids:
        raise InvalidRequest(f"{state.reseller_team_id} is not blocked")


def check_remove(state: PartnerState) -> None:
    if state.status is PartnerStatus.REMOVED:
        raise InvalidRequest(f"{state.reseller_team_id} is already removed")


def check_report(state: PartnerState) -> None:
    if not state.status.on_preferred_list:
        raise InvalidRequest(
            f"only a partner on the preferred list can be sent notices; "
            f"{state.reseller_team_id} is {state.status.value}"
        )
