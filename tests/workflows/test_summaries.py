"""What the Temporal UI says about a step: the summaries and details, from the models alone."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from models.metrics import CriterionResult, PartnerMetrics
from models.notifications import (
    NotificationContext,
    NotificationKind,
    NotificationRequest,
    Recipient,
)
from models.offers import OfferAccessChange
from models.operator_queries import GRACE_ENDS_THIS_WEEK, OPERATOR_QUERIES, RESELLER, this_week
from models.partner import ActorKind, PartnerState, PartnerStatus, Transition
from models.program import Tier
from models.records import PartnerWrites, TransitionRecord
from models.summaries import (
    SUMMARY_BYTES,
    notification_summary,
    offer_access_summary,
    one_line,
    partner_details,
    transition_summary,
    writes_summary,
)

AT = datetime(2026, 1, 30, 9, 30, tzinfo=UTC)
DEADLINE = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
COMPLETION = CriterionResult(
    name="completion_rate", label="completion", required=0.95, actual=0.88, met=False
)
RATING = CriterionResult(name="average_rating", label="rating", required=4.5, actual=4.4, met=False)


def _request(kind: NotificationKind, **context: object) -> NotificationRequest:
    return NotificationRequest(
        idempotency_key="k",
        provider_id="acme",
        reseller_team_id="team-abc-123",
        kind=kind,
        context=NotificationContext(tier=Tier.SILVER, **context),
    )


def _metrics() -> PartnerMetrics:
    return PartnerMetrics(
        provider_id="acme",
        reseller_team_id="team-abc-123",
        window_start=AT,
        window_end=DEADLINE,
        total_orders=36,
        orders_per_month=12.0,
        accepted_orders=35,
        decided_orders=36,
        acceptance_rate=35 / 36,
        completion_rate=0.97,
        average_rating=4.81,
        tenure_months=14,
    )


def test_the_warning_names_each_failed_criterion_and_the_deadline():
    request = _request(
        NotificationKind.AT_RISK_WARNING,
        failed_criteria=[COMPLETION, RATING],
        grace_deadline=DEADLINE,
        reason="below the silver standard",
    )
    assert notification_summary(request) == (
        "warned team-abc-123: completion 88.0% < 95.0%; rating 4.4 < 4.5, deadline 2026-03-01"
    )


def test_each_message_says_what_the_partner_was_told():
    assert notification_summary(_request(NotificationKind.WELCOME, metrics=_metrics())) == (
        "welcomed team-abc-123 as silver: 12.0 orders/month, acceptance 97.2%, "
        "completion 97.0%, rating 4.81"
    )
    removed = _request(
        NotificationKind.REMOVED,
        reason="grace period ended on 2026-03-01 without recovery",
        failed_criteria=[COMPLETION],
    )
    assert notification_summary(removed) == (
        "told team-abc-123 it was removed: grace period ended on 2026-03-01 without recovery "
        "(completion 88.0% < 95.0%)"
    )
    demoted = _request(NotificationKind.DEMOTED, previous_tier=Tier.GOLD, reason="below gold")
    assert notification_summary(demoted) == (
        "told team-abc-123 it is demoted from gold to silver: below gold"
    )
    blocked = _request(NotificationKind.BLOCKED, offer_ids=["acme-gig"], reason="fraud")
    assert notification_summary(blocked) == "told team-abc-123 it is blocked from acme-gig: fraud"
    candidate = _request(NotificationKind.CANDIDATE_NOTICE, reason="meets silver").model_copy(
        update={"recipient": Recipient.PROVIDER}
    )
    assert notification_summary(candidate) == (
        "told provider acme that team-abc-123 is a candidate for silver: meets silver"
    )


@pytest.mark.parametrize("kind", list(NotificationKind))
def test_every_kind_of_message_has_a_summary_naming_its_recipient(kind: NotificationKind):
    assert "team-abc-123" in notification_summary(_request(kind))


def test_a_transition_says_from_what_to_what_by_whom_and_why():
    transition = Transition(
        sequence=4,
        at=AT,
        from_status=PartnerStatus.PREFERRED,
        to_status=PartnerStatus.AT_RISK,
        from_tier=Tier.SILVER,
        to_tier=Tier.SILVER,
        reason="below the silver standard (completion 88.0% < 95.0%); grace until 2026-03-01",
        actor=ActorKind.REVIEW,
        actor_id="review/acme/monthly/2026-01",
    )
    assert transition_summary("team-abc-123", transition) == (
        "team-abc-123: preferred, silver -> at_risk, silver by review review/acme/monthly/2026-01: "
        "below the silver standard (completion 88.0% < 95.0%); grace until 2026-03-01"
    )


def test_one_steps_writes_say_each_change_then_the_reasons():
    demotion = Transition(
        sequence=7,
        at=AT,
        from_status=PartnerStatus.PREFERRED,
        to_status=PartnerStatus.PREFERRED,
        from_tier=Tier.GOLD,
        to_tier=Tier.SILVER,
        reason="tier_demotion from gold to silver: below the gold standard, above silver",
        actor=ActorKind.REVIEW,
        actor_id="review/acme/monthly/2026-01",
    )
    ref = {"provider_id": "acme", "reseller_team_id": "team-abc-123"}
    writes = PartnerWrites(
        **ref,
        transitions=[
            TransitionRecord(
                **ref,
                idempotency_key="k/7",
                workflow_id="partner/acme/team-abc-123",
                partnership_id="p1",
                transition=demotion,
                status=PartnerStatus.PREFERRED,
                tier=Tier.SILVER,
                enrolled_at=AT,
                grace_deadline=None,
            )
        ],
        access=[OfferAccessChange(**ref, tier=Tier.SILVER, reason="demoted")],
        messages=[_request(NotificationKind.DEMOTED)],
    )
    assert writes_summary(writes) == (
        "team-abc-123: preferred, gold -> preferred, silver by review review/acme/monthly/2026-01, "
        "offer access, demoted in the outbox: tier_demotion from gold to silver: below the gold "
        "standard, above silver"
    )


def test_offer_access_says_what_is_granted_revoked_or_blocked():
    change = OfferAccessChange(
        provider_id="acme", reseller_team_id="team-x", tier=Tier.GOLD, reason="promoted"
    )
    assert (
        offer_access_summary(change) == "grant team-x the preferred offers open to gold: promoted"
    )
    removed = change.model_copy(update={"tier": None, "revoke_selected": True, "reason": "gone"})
    assert offer_access_summary(removed) == "revoke team-x's preferred and selected offers: gone"
    blocked = change.model_copy(update={"tier": None, "block_all": True, "reason": "fraud"})
    assert offer_access_summary(blocked) == "block team-x from every offer: fraud"


def test_a_summary_stays_on_one_line_within_the_servers_limit():
    text = one_line("why:\n" + "é" * 1000)
    assert "\n" not in text and text.endswith("…")
    assert len(json.dumps(text, ensure_ascii=False).encode()) <= SUMMARY_BYTES
    assert one_line("  short\n text ") == "short text"


def test_the_details_show_state_tier_grace_deadline_and_last_review():
    state = PartnerState(
        provider_id="acme",
        reseller_team_id="team-abc-123",
        partnership_id="p",
        status=PartnerStatus.AT_RISK,
        tier=Tier.SILVER,
        created_at=AT,
        at_risk_since=AT,
        grace_deadline=DEADLINE,
        failed_criteria=[COMPLETION],
        last_review_id="review/acme/monthly/2026-01",
        last_review_at=AT,
        last_metrics=_metrics(),
    )
    lines = partner_details(state).split("\n\n")
    assert lines[:4] == [
        "Partner team-abc-123 of provider acme: **at_risk**, silver",
        "grace deadline: **2026-03-01** (at risk since 2026-01-30)",
        "failing: completion 88.0% < 95.0%",
        "last review: review/acme/monthly/2026-01 on 2026-01-30",
    ]
    calm = state.model_copy(
        update={"status": PartnerStatus.PREFERRED, "grace_deadline": None, "last_review_at": None}
    )
    assert "grace deadline: none, not at risk" in partner_details(calm)
    assert "last review: none yet" in partner_details(calm)


def test_the_operator_queries_render_for_a_provider_a_reseller_and_a_week():
    week = this_week(datetime(2026, 11, 26, 15, 0, tzinfo=UTC))  # a Thursday
    assert GRACE_ENDS_THIS_WEEK.render("acme", window=week) == (
        'ProviderId = "acme" AND PartnerStatus = "at_risk" '
        'AND GraceDeadline BETWEEN "2026-11-23T00:00:00Z" AND "2026-11-30T00:00:00Z"'
    )
    assert RESELLER.render("acme", team="team-oldmill") == 'ResellerTeamId = "team-oldmill"'
    with pytest.raises(ValueError, match="needs from, to"):
        GRACE_ENDS_THIS_WEEK.render("acme")
    assert len({query.template for query in OPERATOR_QUERIES}) == len(OPERATOR_QUERIES)
