"""The partner lifecycle on the time-skipping server, with the real worker and database."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from temporalio.client import WorkflowHandle

from clients.partners import PartnerPrograms, PartnerRequestRejected
from devstack.demo_data import GOOD, SLIPPING, STRONG, OrderProfile
from models.metrics import PartnerMetrics
from models.partner import (
    AtRiskFlag,
    BlockRequest,
    EnrollmentRequest,
    GraceChange,
    Nomination,
    NoteInput,
    NoteKind,
    PartnerStatus,
    RemovalRequest,
    TierChange,
    UnblockRequest,
)
from models.program import ProgramSettings, Tier
from models.schema import Notification, PartnerNote
from tests.helpers import (
    INCOMPLETE,
    Program,
    TrackedPrograms,
    replay_histories,
    wait_for_state,
)
from workers.wiring import build_worker

DAY = timedelta(days=1)
FLAWLESS = OrderProfile(
    orders_per_month=150, acceptance=1.0, completion=1.0, rating=4.9, cancellation=0
)


@pytest.fixture
def program(env, db) -> Program:
    return Program(db, env, ProgramSettings(grace_period_days=45)).create()


async def enroll(
    programs: PartnerPrograms, program: Program, team: str, tier: Tier = Tier.SILVER, **fields
):
    return await programs.enroll(program.provider_id, team, EnrollmentRequest(tier=tier, **fields))


async def put_at_risk(programs: PartnerPrograms, program: Program, team: str):
    return await program.review(programs, team)


async def test_enrollment_grants_access_and_welcomes(env, programs, program):
    team = await program.add_reseller("team-good", GOOD)
    assert program.preferred_offer not in program.visible_offers(team)

    state = await enroll(programs, program, team, notes="met at the partner summit")

    assert (state.status, state.tier) == (PartnerStatus.PREFERRED, Tier.SILVER)
    assert state.transitions[-1].to_status is PartnerStatus.PREFERRED
    assert program.visible_offers(team) == sorted([program.public_offer, program.preferred_offer])
    welcome = await program.sent(team, "welcome")
    assert len(welcome) == 1 and welcome[0].status == "sent"
    assert "orders:" in welcome[0].body and "silver" in welcome[0].subject
    listing = program.listing(team)
    assert listing is not None and (listing.status, listing.tier) == ("preferred", "silver")
    assert [t.to_status for t in program.logged_transitions(team)] == ["preferred"]
    assert [n.text for n in state.notes] == ["met at the partner summit"]


async def test_repeated_enrollment_makes_one_partner_and_one_welcome(env, programs, program):
    team = await program.add_reseller("team-twice", GOOD)
    first = await enroll(programs, program, team)
    again = await enroll(programs, program, team)
    same_id = await enroll(programs, program, team, request_id="req-1")
    same_id_again = await enroll(programs, program, team, request_id="req-1")

    assert first.partnership_id == again.partnership_id == same_id_again.partnership_id
    assert len(again.transitions) == len(same_id.transitions) == 1
    assert len(await program.sent(team, "welcome")) == 1
    assert len(program.logged_transitions(team)) == 1


async def test_enrolling_at_another_tier_is_refused(env, programs, program):
    team = await program.add_reseller("team-tier", GOOD)
    await enroll(programs, program, team)
    with pytest.raises(PartnerRequestRejected, match="already a silver partner"):
        await enroll(programs, program, team, tier=Tier.GOLD)


async def test_future_effective_date_waits_for_its_timer(env, programs, program):
    team = await program.add_reseller("team-later", GOOD)
    effective = await program.now() + 10 * DAY

    state = await enroll(programs, program, team, effective_date=effective)
    assert state.status is PartnerStatus.CANDIDATE
    assert state.scheduled_enrollment is not None

    await env.sleep(9 * DAY)
    state = await programs.state(program.provider_id, team)
    assert state.status is PartnerStatus.CANDIDATE
    assert program.notifications(team, "welcome") == []
    assert program.preferred_offer not in program.visible_offers(team)

    await env.sleep(2 * DAY)
    state = await programs.state(program.provider_id, team)
    assert state.status is PartnerStatus.PREFERRED
    assert state.enrolled_at is not None and state.enrolled_at >= effective
    assert state.transitions[-1].actor == "timer"
    assert len(await program.sent(team, "welcome")) == 1
    assert program.preferred_offer in program.visible_offers(team)


async def test_grace_expiry_on_day_45_removes_and_revokes(env, programs, program):
    team = await program.add_reseller("team-slip", INCOMPLETE)
    await enroll(programs, program, team)
    state = await put_at_risk(programs, program, team)

    assert state.status is PartnerStatus.AT_RISK
    assert state.grace_deadline is not None and state.at_risk_since is not None
    assert state.grace_deadline - state.at_risk_since == 45 * DAY
    assert {c.name for c in state.failed_criteria} >= {"completion_rate"}
    warning = program.notifications(team, "at_risk_warning")
    assert len(warning) == 1
    assert "completion" in warning[0].body and state.grace_deadline.strftime("%Y-%m-%d") in (
        warning[0].body
    )
    assert program.preferred_offer in program.visible_offers(team), "benefits stay during grace"

    await env.sleep(44 * DAY)
    assert (await programs.state(program.provider_id, team)).status is PartnerStatus.AT_RISK

    await env.sleep(2 * DAY)
    final = await programs.handle(program.provider_id, team).result()
    assert final.status is PartnerStatus.REMOVED
    assert final.transitions[-1].actor == "timer"
    assert "grace period ended" in final.transitions[-1].reason
    assert program.visible_offers(team) == [program.public_offer]
    assert len(program.notifications(team, "removed")) == 1
    listing = program.listing(team)
    assert listing is not None and listing.status == "removed"
    assert [t.to_status for t in program.logged_transitions(team)] == [
        "preferred",
        "at_risk",
        "removed",
    ]


async def test_recovery_on_day_20_keeps_the_partner(env, programs, program):
    team = await program.add_reseller("team-recover", SLIPPING)
    await enroll(programs, program, team)
    await put_at_risk(programs, program, team)

    await env.sleep(20 * DAY)
    await program.add_orders(team, FLAWLESS, days=20, prefix="recovery")
    state = await put_at_risk(programs, program, team)
    assert state.status is PartnerStatus.PREFERRED, state.failed_criteria
    assert state.grace_deadline is None
    assert len(program.notifications(team, "recovered")) == 1

    await env.sleep(30 * DAY)
    state = await programs.state(program.provider_id, team)
    assert state.status is PartnerStatus.PREFERRED
    assert program.notifications(team, "removed") == []
    assert program.preferred_offer in program.visible_offers(team)


async def test_final_check_at_the_deadline_can_recover(env, programs, program):
    team = await program.add_reseller("team-late", SLIPPING)
    await enroll(programs, program, team)
    await put_at_risk(programs, program, team)
    await env.sleep(40 * DAY)
    await program.add_orders(team, FLAWLESS, days=40, prefix="late")

    await env.sleep(6 * DAY)
    state = await programs.state(program.provider_id, team)
    assert state.status is PartnerStatus.PREFERRED
    assert state.transitions[-1].actor == "timer"


async def test_grace_periods_outside_30_to_60_days_are_refused(env, programs, program):
    for days in (10, 90):
        with pytest.raises(ValidationError, match="between 30 and 60 days"):
            ProgramSettings(grace_period_days=days)
        with pytest.raises(ValidationError, match="between 30 and 60 days"):
            AtRiskFlag(reason="late installs", grace_days=days)

    team = await program.add_reseller("team-grace", SLIPPING)
    await enroll(programs, program, team)
    state = await put_at_risk(programs, program, team)
    assert state.at_risk_since is not None
    for days in (10, 90):
        with pytest.raises(PartnerRequestRejected, match="must last 30-60 days"):
            await programs.apply(
                program.provider_id,
                team,
                GraceChange(deadline=state.at_risk_since + days * DAY, reason="try"),
            )
    unchanged = await programs.state(program.provider_id, team)
    assert unchanged.grace_deadline == state.grace_deadline


async def test_extending_grace_moves_the_timer(env, programs, program):
    team = await program.add_reseller("team-extend", SLIPPING)
    await enroll(programs, program, team)
    state = await put_at_risk(programs, program, team)
    assert state.at_risk_since is not None
    new_deadline = state.at_risk_since + 55 * DAY

    state = await programs.apply(
        program.provider_id,
        team,
        GraceChange(deadline=new_deadline, reason="install backlog in the region"),
    )
    assert state.grace_deadline == new_deadline
    assert len(program.notifications(team, "grace_changed")) == 1

    await env.sleep(50 * DAY)
    assert (await programs.state(program.provider_id, team)).status is PartnerStatus.AT_RISK
    await env.sleep(6 * DAY)
    assert (await programs.handle(program.provider_id, team).result()).status is (
        PartnerStatus.REMOVED
    )


async def test_shortening_grace_moves_the_timer(env, programs, program):
    team = await program.add_reseller("team-shorten", SLIPPING)
    await enroll(programs, program, team)
    state = await put_at_risk(programs, program, team)
    assert state.at_risk_since is not None
    await programs.apply(
        program.provider_id,
        team,
        GraceChange(deadline=state.at_risk_since + 31 * DAY, reason="repeat complaints"),
    )
    await env.sleep(32 * DAY)
    assert (await programs.handle(program.provider_id, team).result()).status is (
        PartnerStatus.REMOVED
    )


async def test_gold_below_gold_but_above_silver_is_demoted(env, programs, program):
    team = await program.add_reseller("team-gold", GOOD)
    state = await enroll(programs, program, team, tier=Tier.GOLD)
    assert state.tier is Tier.GOLD
    assert program.gold_offer in program.visible_offers(team)

    state = await program.review(programs, team)

    assert (state.status, state.tier) == (PartnerStatus.PREFERRED, Tier.SILVER)
    demotion = program.notifications(team, "demoted")
    assert len(demotion) == 1 and "gold to silver" in demotion[0].body
    assert program.gold_offer not in program.visible_offers(team)
    assert program.preferred_offer in program.visible_offers(team)
    listing = program.listing(team)
    assert listing is not None and listing.tier == "silver"


async def steps_after_signal(handle: WorkflowHandle[Any, Any]) -> tuple[list[str], list[str]]:
    """The activities the workflow scheduled from its first signal on, and the local
    activities it ran, by type."""
    history = await handle.fetch_history()
    signalled = next(
        i
        for i, event in enumerate(history.events)
        if event.HasField("workflow_execution_signaled_event_attributes")
    )
    after = history.events[signalled:]
    scheduled = [
        event.activity_task_scheduled_event_attributes.activity_type.name
        for event in after
        if event.HasField("activity_task_scheduled_event_attributes")
    ]
    local = [
        json.loads(marker.details["data"].payloads[0].data)["activity_type"]
        for event in after
        if (marker := event.marker_recorded_event_attributes).marker_name == "core_local_activity"
    ]
    return scheduled, local


async def test_a_reviews_verdict_is_written_in_the_task_that_took_it(env, programs, program):
    """The demotion's transition, offer access and notice are written by one local activity
    in the workflow task of the review's signal; the only activity after it is the notice's
    delivery."""
    team = await program.add_reseller("team-one-task", GOOD)
    await enroll(programs, program, team, tier=Tier.GOLD)
    await program.review(programs, team)
    [notice] = await program.sent(team, "demoted", timeout=30)

    scheduled, local = await steps_after_signal(programs.handle(program.provider_id, team))
    assert (scheduled, local) == (["deliver_notification"], ["record_partner_writes"])
    listing = program.listing(team)
    assert listing is not None and listing.tier == "silver"
    assert program.gold_offer not in program.visible_offers(team)
    assert "gold to silver" in notice.body


@pytest.mark.parametrize(
    ("auto_enroll", "sent", "written_by"),
    [
        (False, "candidate_notice", ["record_partner_writes"]),
        (True, "welcome", ["record_partner_writes", "enroll_partner"]),
    ],
)
async def test_a_nomination_carrying_its_program_is_written_in_the_task_that_took_it(
    env, db, programs, auto_enroll, sent, written_by
):
    """A review's nomination names the program it judged by: the new candidate reads nothing
    and writes its transition and notice (or its enrollment) by local activities, in the task
    that started it; the only activity is the message's delivery."""
    program = Program(db, env, ProgramSettings(auto_enroll=auto_enroll)).create()
    team = await program.add_reseller("team-nominated", GOOD)
    await programs.nominate(
        program.provider_id,
        team,
        Nomination(
            reason="meets the silver criteria",
            metrics=await program.metrics(team),
            review_id="2026-11",
            program=program.settings,
        ),
    )
    [message] = await program.sent(team, sent, timeout=30)

    scheduled, local = await steps_after_signal(programs.handle(program.provider_id, team))
    assert (scheduled, local) == (["deliver_notification"], written_by)
    state = await programs.state(program.provider_id, team)
    assert [t.to_status for t in state.transitions] == (
        ["candidate", "preferred"] if auto_enroll else ["candidate"]
    )
    assert state.program == program.settings
    assert message.recipient == ("partner" if auto_enroll else "provider")
    listing = program.listing(team)
    assert listing is not None and listing.status == state.status.value


async def test_silver_meeting_gold_is_promoted_by_a_review(env, programs, program):
    team = await program.add_reseller("team-strong", STRONG)
    await enroll(programs, program, team)
    state = await program.review(programs, team)
    assert state.tier is Tier.GOLD
    assert len(program.notifications(team, "promoted")) == 1
    assert program.gold_offer in program.visible_offers(team)


async def test_the_same_review_delivered_twice_acts_once(env, programs, program):
    team = await program.add_reseller("team-dup-review", SLIPPING)
    await enroll(programs, program, team)
    signal = await program.review_signal(team, review_id="2026-q4")
    await programs.review(program.provider_id, team, signal)
    await program.review(programs, team, review_id="2026-q4")
    state = await programs.state(program.provider_id, team)
    assert [t.to_status for t in state.transitions] == ["preferred", "at_risk"]
    assert len(program.notifications(team, "at_risk_warning")) == 1


async def test_provider_flags_changes_tier_blocks_and_notes(env, programs, program):
    team = await program.add_reseller("team-steer", GOOD)
    await enroll(programs, program, team)
    pid = program.provider_id

    state = await programs.apply(pid, team, AtRiskFlag(reason="customer complaints", grace_days=30))
    assert state.status is PartnerStatus.AT_RISK
    assert state.grace_deadline is not None and state.at_risk_since is not None
    assert state.grace_deadline - state.at_risk_since == 30 * DAY
    with pytest.raises(PartnerRequestRejected, match="already at risk"):
        await programs.apply(pid, team, AtRiskFlag(reason="again"))

    state = await programs.apply(pid, team, TierChange(tier=Tier.GOLD, reason="strategic"))
    assert state.tier is Tier.GOLD and program.gold_offer in program.visible_offers(team)

    state = await programs.apply(
        pid, team, BlockRequest(offer_ids=[program.gold_offer], reason="mis-selling")
    )
    assert state.status is PartnerStatus.AT_RISK
    assert program.gold_offer not in program.visible_offers(team)

    state = await programs.apply(pid, team, BlockRequest(reason="fraud investigation"))
    assert state.status is PartnerStatus.BLOCKED
    assert program.visible_offers(team) == []
    with pytest.raises(PartnerRequestRejected, match="blocked"):
        await enroll(programs, program, team, tier=Tier.GOLD)

    await env.sleep(40 * DAY)  # no grace timer runs while blocked
    assert (await programs.state(pid, team)).status is PartnerStatus.BLOCKED

    state = await programs.apply(pid, team, UnblockRequest(reason="investigation closed"))
    assert state.status is PartnerStatus.AT_RISK
    assert program.gold_offer in program.visible_offers(team)

    state = await programs.apply(pid, team, NoteInput(kind=NoteKind.CALL, text="called the owner"))
    assert state.notes[-1].kind is NoteKind.CALL
    assert program.count_rows(PartnerNote) == 1
    kinds = [n.kind for n in program.notifications(team)]
    assert kinds.count("blocked") == 2 and kinds.count("unblocked") == 1


async def test_provider_removal_notifies_and_ends_the_workflow(env, programs, program):
    team = await program.add_reseller("team-remove", GOOD)
    await enroll(programs, program, team)
    state = await programs.apply(program.provider_id, team, RemovalRequest(reason="contract ended"))
    assert state.status is PartnerStatus.REMOVED
    assert (await programs.handle(program.provider_id, team).result()).status is (
        PartnerStatus.REMOVED
    )
    removal = program.notifications(team, "removed")
    assert len(removal) == 1 and "contract ended" in removal[0].body
    assert program.visible_offers(team) == [program.public_offer]

    again = await enroll(programs, program, team)
    assert again.status is PartnerStatus.PREFERRED
    assert again.partnership_id != state.partnership_id
    assert len(await program.sent(team, "welcome", count=2)) == 2


async def test_unknown_reseller_is_refused_with_its_name(env, programs, program):
    with pytest.raises(PartnerRequestRejected, match="unknown reseller 'ghost'"):
        await enroll(programs, program, "ghost")
    assert program.count_rows(Notification) == 0


async def test_continue_as_new_keeps_state_and_history(env, db, task_queue, program):
    team = await program.add_reseller("team-long", GOOD)
    programs = PartnerPrograms(env.client, task_queue, max_history_events=100)
    async with build_worker(env.client, db, task_queue=task_queue):
        first = await enroll(programs, program, team)
        for index in range(12):
            await programs.apply(
                program.provider_id, team, NoteInput(text=f"weekly check-in {index}")
            )
        state = await programs.state(program.provider_id, team)
        history = await programs.handle(program.provider_id, team).fetch_history()

    assert state.continued_runs >= 1
    assert state.partnership_id == first.partnership_id
    assert len(history.events) < 100, "the current run started with a short history"
    assert len(state.notes) == 12 and state.status is PartnerStatus.PREFERRED
    assert program.count_rows(PartnerNote) == 12
    assert len(await program.sent(team, "welcome")) == 1


async def test_review_metrics_with_no_orders_put_a_partner_at_risk(env, programs, program):
    team = await program.add_reseller("team-quiet", GOOD, days=1)
    await enroll(programs, program, team)
    await env.sleep(100 * DAY)
    metrics = await program.metrics(team)
    assert isinstance(metrics, PartnerMetrics) and metrics.total_orders == 0
    state = await program.review(programs, team)
    assert state.status is PartnerStatus.AT_RISK
    assert "orders_per_month" in {c.name for c in state.failed_criteria}


async def nominate(programs: PartnerPrograms, program: Program, team: str) -> None:
    metrics = await program.metrics(team)
    await programs.nominate(
        program.provider_id,
        team,
        Nomination(reason="meets the silver criteria", metrics=metrics, review_id="2026-11"),
    )


async def test_candidate_waits_for_approval_then_enrolls(env, programs, program):
    team = await program.add_reseller("team-candidate", GOOD)
    await nominate(programs, program, team)
    state = await wait_for_state(
        programs,
        program.provider_id,
        team,
        lambda s: s.nominated and bool(program.notifications(team)),
    )
    assert state.status is PartnerStatus.CANDIDATE
    notice = program.notifications(team, "candidate_notice")
    assert len(notice) == 1 and notice[0].recipient == "provider"
    assert program.preferred_offer not in program.visible_offers(team)

    await env.sleep(10 * DAY)
    state = await enroll(programs, program, team)
    assert state.status is PartnerStatus.PREFERRED
    assert [t.to_status for t in state.transitions] == ["candidate", "preferred"]


async def test_unapproved_candidate_lapses(env, programs, program):
    team = await program.add_reseller("team-lapse", GOOD)
    await nominate(programs, program, team)
    await wait_for_state(programs, program.provider_id, team, lambda s: s.nominated)
    await env.sleep(29 * DAY)
    assert (await programs.state(program.provider_id, team)).status is PartnerStatus.CANDIDATE
    await env.sleep(2 * DAY)
    final = await programs.handle(program.provider_id, team).result()
    assert final.status is PartnerStatus.REMOVED
    assert "lapsed" in final.transitions[-1].reason
    assert program.notifications(team, "removed") == [], "a candidate was never told it was in"


async def test_auto_enroll_program_enrolls_candidates_at_once(env, db, programs):
    program = Program(db, env, ProgramSettings(auto_enroll=True)).create()
    team = await program.add_reseller("team-auto", GOOD)
    await nominate(programs, program, team)
    state = await wait_for_state(
        programs, program.provider_id, team, lambda s: bool(program.notifications(team, "welcome"))
    )
    assert state.status is PartnerStatus.PREFERRED
    assert state.transitions[-1].actor == "review"
    assert program.notifications(team, "candidate_notice") == []


async def settled(handle: WorkflowHandle[Any, Any], timeout: float = 30) -> None:
    """Wait until the workflow has taken in every result: no activity pending, no workflow task
    scheduled. A task left for a stopped worker would stop the test server's time skipping."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        raw = (await handle.describe()).raw_description
        if not raw.pending_activities and not raw.HasField("pending_workflow_task"):
            return
        assert asyncio.get_running_loop().time() < deadline, f"{handle.id} still busy: {raw}"
        await asyncio.sleep(0.1)


async def test_a_new_worker_carries_on_after_the_first_one_stopped(env, db, task_queue, program):
    """Weeks pass with no worker; a fresh one (empty cache: it replays) removes at the deadline.

    The time-skipping server stops skipping at a task no worker takes, so the
    outage ends just before the deadline rather than across it.
    """
    team = await program.add_reseller("team-outage", SLIPPING)
    programs = TrackedPrograms(env.client, task_queue)
    # No cache: the test server would keep routing tasks to the stopped worker's sticky queue.
    async with build_worker(env.client, db, task_queue=task_queue, max_cached_workflows=0):
        await enroll(programs, program, team)
        await put_at_risk(programs, program, team)
        # Delivered apart from the transitions: let the messages leave before the outage.
        for kind in ("welcome", "at_risk_warning"):
            await program.sent(team, kind)
        await settled(programs.handle(program.provider_id, team))

    await env.sleep(44 * DAY)
    listing = program.listing(team)
    assert listing is not None and listing.status == "at_risk"

    async with build_worker(env.client, db, task_queue=task_queue):
        await env.sleep(2 * DAY)
        await wait_for_state(
            programs,
            program.provider_id,
            team,
            lambda state: state.status is PartnerStatus.REMOVED,
            timeout=30,
        )
    assert len(program.notifications(team, "removed")) == 1
    assert len(program.notifications(team, "at_risk_warning")) == 1
    assert await replay_histories(env.client, programs.workflow_ids) == 1


async def test_a_refused_first_enrollment_leaves_no_partner_behind(env, db, programs):
    program = Program(db, env, ProgramSettings(tiers="single")).create()
    team = await program.add_reseller("team-single", GOOD)
    with pytest.raises(PartnerRequestRejected, match="single tier"):
        await enroll(programs, program, team, tier=Tier.GOLD)

    final = await programs.handle(program.provider_id, team).result()
    assert final.status is PartnerStatus.CANDIDATE and final.transitions == []
    assert program.listing(team) is None
    assert program.notifications(team) == []

    state = await enroll(programs, program, team, tier=Tier.SILVER)
    assert state.status is PartnerStatus.PREFERRED
