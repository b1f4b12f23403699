"""What the Temporal UI says about each step of a partner's or an agreement's history.

Operators read a workflow in the Temporal UI: its one-line summary, its
current details, and an event list in which every activity and timer has a
summary. Each says what the step does with the actual values (who, which
criteria, which dates), so the history reads without opening a payload.
"""

from __future__ import annotations

import json
import re
from datetime import datetime

from models.agreement import AgreementTerms
from models.metrics import CriterionResult, PartnerMetrics, failed
from models.notifications import NotificationKind, NotificationRequest, Recipient
from models.offers import OfferAccessChange
from models.partner import ActorKind, PartnerState, PartnerStatus, Transition
from models.program import Tier
from models.records import PartnerWrites


def day(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else "n/a"


SUMMARY_BYTES = 400
"""The server's default limit on a summary payload's data (a JSON string)."""

_TOLD = {
    NotificationKind.RECOVERED: "it is back to standard",
    NotificationKind.UNBLOCKED: "its block is lifted",
    NotificationKind.EXCLUSIVE_GRANTED: "it holds the exclusive",
    NotificationKind.EXCLUSIVE_REVIEW: "its exclusive's review period met every term",
    NotificationKind.EXCLUSIVE_CURED: "its exclusive's breach is cured",
    NotificationKind.EXCLUSIVE_AMENDED: "its exclusive's terms are amended",
    NotificationKind.EXCLUSIVE_RENEWED: "its exclusive is renewed",
    NotificationKind.EXCLUSIVE_EXPIRED: "its exclusive expired",
    NotificationKind.EXCLUSIVE_TERMINATED: "its exclusive ended",
}


def one_line(text: str) -> str:
    """`text` on one line, cut with an ellipsis where it would pass the server's limit."""
    text = re.sub(r"\s+", " ", text).strip()
    if _payload_bytes(text) <= SUMMARY_BYTES:
        return text
    while _payload_bytes(text + "…") > SUMMARY_BYTES:
        text = text[: -max(1, (_payload_bytes(text + "…") - SUMMARY_BYTES) // 4)]
    return text.rstrip() + "…"


def _payload_bytes(text: str) -> int:
    return len(json.dumps(text, ensure_ascii=False).encode())


def standing(status: PartnerStatus, tier: Tier) -> str:
    """`preferred, silver`: a partner's status and tier as the UI shows them."""
    return f"{status.value}, {tier.value}"


def partner_summary(provider_id: str, reseller_team_id: str, what: str) -> str:
    """The partner workflow's one line: `Partner team-x of provider acme: preferred, silver`."""
    return one_line(f"Partner {reseller_team_id} of provider {provider_id}: {what}")


def partner_static_details(provider_id: str, reseller_team_id: str) -> str:
    """What the partner's workflow is and where its story is told, for the UI."""
    return (
        f"The lifecycle of reseller {reseller_team_id} in the partner program of provider "
        f"{provider_id}: candidate, preferred (silver or gold), at risk, removed, blocked.\n\n"
        "The summary says what this run began as; **Current Details** show the status, tier, "
        "grace deadline and last review now. In the **Event History**, each "
        "`record_transition` activity is one transition (from, to, by whom, why); an "
        "enrollment's `enroll_partner` and a review's `record_partner_writes` local activities "
        "name the changes they write, and each `deliver_notification` says what the partner "
        "was told; the `get_state` query returns the whole state."
    )


def partner_details(state: PartnerState) -> str:
    """The partner's current details: state, tier, grace deadline, last review, last change.

    The first line names the partner, since a run continued as new has no static summary.
    """
    s = state
    lines = [
        f"Partner {s.reseller_team_id} of provider {s.provider_id}: "
        f"**{s.status.value}**, {s.tier.value}"
    ]
    if s.grace_deadline:
        lines.append(
            f"grace deadline: **{day(s.grace_deadline)}** (at risk since {day(s.at_risk_since)})"
        )
    elif s.status is not PartnerStatus.REMOVED:
        lines.append("grace deadline: none, not at risk")
    if s.failed_criteria:
        lines.append(f"failing: {criteria(s.failed_criteria)}")
    if s.scheduled_enrollment:
        enrollment = s.scheduled_enrollment
        lines.append(f"enrollment as {enrollment.tier.value} on {day(enrollment.effective_date)}")
    if s.blocked_offer_ids:
        lines.append(f"blocked from: {', '.join(s.blocked_offer_ids)}")
    if s.last_review_at:
        lines.append(f"last review: {s.last_review_id} on {day(s.last_review_at)}")
    else:
        lines.append("last review: none yet")
    if s.last_metrics:
        figures = metrics_brief(s.last_metrics)
        lines.append(f"metrics to {day(s.last_metrics.window_end)}: {figures}")
    if s.transitions:
        last = s.transitions[-1]
        lines.append(
            f"last change {day(last.at)} by {by(last.actor, last.actor_id)}: {last.reason}"
        )
    return "\n\n".join(lines)


def agreement_summary(provider_id: str, agreement_id: str, terms: AgreementTerms) -> str:
    """`Exclusive seattle-metro of provider acme: regional, team-x on offer acme-fiber-seattle`."""
    return one_line(
        f"Exclusive {agreement_id} of provider {provider_id}: {terms.kind.value}, "
        f"{terms.reseller_team_id} on offer {terms.offer_id}"
    )


def agreement_static_details(provider_id: str, agreement_id: str, terms: AgreementTerms) -> str:
    zips = f" in ZIP codes {', '.join(terms.zip_codes)}" if terms.zip_codes else ""
    return (
        f"The {terms.kind.value} exclusive agreement {agreement_id} of provider {provider_id}: "
        f"offer {terms.offer_id}{zips} for reseller {terms.reseller_team_id} alone, "
        f"{terms.term_months}-month terms reviewed {terms.review_period.value}.\n\n"
        "**Current Details** show the status, the term and the last review. In the **Event "
        "History**, each `record_scorecard` activity is one review (met, or what was missed), "
        "each `record_agreement_event` one step; a renewal continues as a new run."
    )


def criteria(results: list[CriterionResult]) -> str:
    """`completion 88.0% < 95.0%; rating 4.4 < 4.5`."""
    return "; ".join(result.describe() for result in results)


def metrics_brief(metrics: PartnerMetrics | None) -> str:
    """The figures a person looks at first: volume, acceptance, completion, rating."""
    if metrics is None:
        return "no metrics"

    def rate(value: float | None) -> str:
        return "n/a" if value is None else f"{value * 100:.1f}%"

    rating = "no ratings yet" if metrics.average_rating is None else f"{metrics.average_rating:.2f}"
    return (
        f"{metrics.orders_per_month:.1f} orders/month, acceptance {rate(metrics.acceptance_rate)}, "
        f"completion {rate(metrics.completion_rate)}, rating {rating}"
    )


def by(kind: ActorKind, actor_id: str | None) -> str:
    """`review review/acme/monthly/2026-10`, `provider ops@acme`, `timer grace-deadline`."""
    return kind.value + (f" {actor_id}" if actor_id else "")


def _change(transition: Transition) -> str:
    """`preferred, silver -> at_risk, silver by review r1`."""
    before = (
        standing(transition.from_status, transition.from_tier) if transition.from_status else "new"
    )
    after = standing(transition.to_status, transition.to_tier)
    return f"{before} -> {after} by {by(transition.actor, transition.actor_id)}"


def transition_summary(reseller_team_id: str, transition: Transition) -> str:
    """`team-x: preferred, silver -> at_risk, silver by review r1: <why>`."""
    return one_line(f"{reseller_team_id}: {_change(transition)}: {transition.reason}")


def writes_summary(writes: PartnerWrites) -> str:
    """`team-x: preferred, gold -> preferred, silver by review r1, offer access, tier_demotion
    in the outbox: <why>`: what one local activity writes, the reasons last."""
    what = [_change(record.transition) for record in writes.transitions]
    what += ["offer access"] if writes.access else []
    what += [f"{len(writes.notes)} note(s)"] if writes.notes else []
    what += [f"{message.kind.value} in the outbox" for message in writes.messages]
    reasons = "; ".join(record.transition.reason for record in writes.transitions)
    return one_line(
        f"{writes.reseller_team_id}: {', '.join(what)}" + (f": {reasons}" if reasons else "")
    )


def metrics_summary(reseller_team_id: str, window_days: int, as_of: datetime, purpose: str) -> str:
    return one_line(
        f"compute {reseller_team_id}'s metrics over the {window_days} days to {day(as_of)}: "
        f"{purpose}"
    )


def offer_access_summary(change: OfferAccessChange) -> str:
    """What the offer-access activity makes of the partner's access, and why."""
    team = change.reseller_team_id
    if change.block_all:
        what = f"block {team} from every offer"
    elif change.tier is not None:
        what = f"grant {team} the preferred offers open to {change.tier.value}"
    elif change.revoke_selected:
        what = f"revoke {team}'s preferred and selected offers"
    else:
        what = f"revoke {team}'s preferred offers"
    if change.blocked_offer_ids and not change.block_all:
        what += f", blocked from {', '.join(change.blocked_offer_ids)}"
    return one_line(f"{what}: {change.reason}")


def notification_summary(request: NotificationRequest) -> str:
    """`warned team-x: completion 88.0% < 95.0%, deadline 2026-03-01`, and so on per kind."""
    c = request.context
    team = request.reseller_team_id
    to = f"provider {request.provider_id}" if request.recipient is Recipient.PROVIDER else team
    why = f": {c.reason}" if c.reason else ""
    agreement = c.agreement
    match request.kind:
        case NotificationKind.AT_RISK_WARNING:
            failing = criteria(c.failed_criteria) or c.reason or "flagged by the provider"
            text = f"warned {to}: {failing}, deadline {day(c.grace_deadline)}"
        case NotificationKind.WELCOME:
            text = f"welcomed {to} as {c.tier.value}: {metrics_brief(c.metrics)}"
        case NotificationKind.ENROLLMENT_SCHEDULED:
            text = f"told {to} it joins as {c.tier.value} on {day(c.effective_date)}"
        case NotificationKind.GRACE_CHANGED:
            text = f"told {to} its grace deadline is now {day(c.grace_deadline)}{why}"
        case NotificationKind.REMOVED:
            failing = f" ({criteria(c.failed_criteria)})" if c.failed_criteria else ""
            text = f"told {to} it was removed{why}{failing}"
        case NotificationKind.PROMOTED | NotificationKind.DEMOTED:
            previous = c.previous_tier.value if c.previous_tier else "?"
            text = f"told {to} it is {request.kind.value} from {previous} to {c.tier.value}{why}"
        case NotificationKind.BLOCKED:
            offers = ", ".join(c.offer_ids) or "every offer"
            text = f"told {to} it is blocked from {offers}{why}"
        case NotificationKind.CANDIDATE_NOTICE:
            text = f"told {to} that {team} is a candidate for {c.tier.value}{why}"
        case NotificationKind.SCORECARD:
            text = f"sent {to} its {c.period or ''} scorecard: {metrics_brief(c.metrics)}"
        case NotificationKind.EXCLUSIVE_BREACH if agreement is not None:
            missed = criteria(failed(agreement.scorecard.lines)) if agreement.scorecard else ""
            text = (
                f"warned {to} of a breach of {agreement.agreement_id}: {missed}, cure by "
                f"{day(agreement.cure_deadline)}"
            )
        case kind if kind in _TOLD:
            about = f" {agreement.agreement_id}" if agreement else ""
            text = f"told {to}{about}: {_TOLD[kind]}{why}"
        case _:
            text = f"{request.kind.value} to {to}{why}"
    return one_line(text)
