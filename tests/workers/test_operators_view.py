"""The operators' view on the Temporal dev server: the README's list queries find the right
workflows in its visibility, and a partner's history reads without opening a payload."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.notifications import NotificationActivities
from clients.agreements import Agreements
from clients.deliveries import MessageDeliveries
from clients.partners import PartnerPrograms
from devstack.demo import DEMO_PROVIDER_ID
from devstack.demo_data import GOOD, SLIPPING
from devstack.dev_server import DevConfig
from models.agreement import AgreementKind, AgreementRequest, AgreementTerms, ReviewPeriod
from models.contract import agreement_workflow_id, partner_workflow_id
from models.database import Database
from models.delivery import ChannelKind, DeliveryChange, OutboxEntry
from models.notifications import NotificationContext, NotificationKind, NotificationRequest
from models.operator_queries import (
    AT_RISK,
    EXCLUSIVES_IN_BREACH,
    EXCLUSIVES_IN_FORCE,
    GOLD_IN_GOOD_STANDING,
    GRACE_ENDS_THIS_WEEK,
    MESSAGES_ON_THEIR_OWN,
    OPERATOR_QUERIES,
    PARTNERS,
    REMOVED,
    RESELLER,
    REVIEWS,
    OperatorQuery,
    this_week,
)
from models.partner import AtRiskFlag, EnrollmentRequest, PartnerStatus, RemovalRequest
from models.program import ProgramSettings, Tier
from models.review import ReviewCadence, ReviewRequest
from services.delivery import change_delivery
from services.outbox import outbox_entry
from tests.helpers import Program
from tests.workers.dev_temporal import DevTemporal, await_listed, dev_temporal
from tests.workers.processes import REPO
from workflows.patches import PATCH_EXCLUSIVES_END_ON_BLOCK, PATCHES, runs_from_before

SQLITE_ONLY = pytest.mark.parametrize("db", ["sqlite"], indirect=True)
"""Visibility and the UI do not depend on the program database's backend."""

README_TEAM = "team-oldmill"
README_WEEK = (datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC))
REVIEW_TIMEOUT = 60


@pytest.fixture
async def temporal(dev_server_config: DevConfig, db: Database) -> AsyncIterator[DevTemporal]:
    async with dev_temporal(dev_server_config, db) as temporal:
        yield temporal


def _program(db: Database, temporal: DevTemporal) -> Program:
    """A provider on the dev server, whose clock is the real one."""
    env = WorkflowEnvironment.from_client(temporal.client)
    return Program(db, env, ProgramSettings()).create()


def test_the_readme_shows_each_operator_query():
    readme = (REPO / "README.md").read_text()
    for query in OPERATOR_QUERIES:
        shown = query.render(DEMO_PROVIDER_ID, team=README_TEAM, window=README_WEEK)
        assert shown in readme, f"README lacks the query for {query.purpose}: {shown}"


@SQLITE_ONLY
async def test_each_operator_query_lists_the_workflows_it_promises(
    db: Database, temporal: DevTemporal
):
    program = _program(db, temporal)
    pid = program.provider_id
    programs = PartnerPrograms(temporal.client, temporal.task_queue)
    gold, silver, slow, slower, gone = [
        await program.add_reseller(f"team-{name}", GOOD)
        for name in ("gold", "silver", "slow", "slower", "gone")
    ]
    await programs.enroll(pid, gold, EnrollmentRequest(tier=Tier.GOLD))
    for team in (silver, slow, slower, gone):
        await programs.enroll(pid, team, EnrollmentRequest())
    soon = await programs.apply(pid, slow, AtRiskFlag(reason="late installs", grace_days=30))
    await programs.apply(pid, slower, AtRiskFlag(reason="late installs", grace_days=45))
    await programs.apply(pid, gone, RemovalRequest(reason="left the market"))
    await Agreements(temporal.client, temporal.task_queue).create(
        pid,
        "gold-installs",
        AgreementRequest(
            terms=AgreementTerms(
                reseller_team_id=gold,
                kind=AgreementKind.SERVICE,
                offer_id=program.preferred_offer,
                min_monthly_orders=1,
                term_months=12,
                review_period=ReviewPeriod.QUARTERLY,
            )
        ),
    )
    # A review of another provider, whose resellers it cannot wake.
    reviewed = _program(db, temporal).provider_id
    review = await temporal.reviews.start(
        ReviewRequest(provider_id=reviewed, cadence=ReviewCadence.MONTHLY)
    )
    await review.result()
    # A message that failed for lack of a webhook URL, sent again: on its own, failing again.
    silver_message = _failed_message(db, pid, silver)
    resent = await MessageDeliveries(temporal.client, temporal.task_queue).resend(
        pid, silver_message
    )

    assert soon.grace_deadline is not None
    week = this_week(soon.grace_deadline)  # the slower one's deadline is 15 days later
    partner, agreement = partner_workflow_id, agreement_workflow_id(pid, "gold-installs")
    expected: dict[OperatorQuery, tuple[str, set[str]]] = {
        PARTNERS: (pid, {partner(pid, t) for t in (gold, silver, slow, slower, gone)}),
        AT_RISK: (pid, {partner(pid, slow), partner(pid, slower)}),
        GRACE_ENDS_THIS_WEEK: (pid, {partner(pid, slow)}),
        GOLD_IN_GOOD_STANDING: (pid, {partner(pid, gold)}),
        REMOVED: (pid, {partner(pid, gone)}),
        RESELLER: (pid, {partner(pid, gold), agreement}),
        EXCLUSIVES_IN_FORCE: (pid, {agreement}),
        # A breach needs a review period (a quarter) to pass: the query runs, and finds none.
        EXCLUSIVES_IN_BREACH: (pid, set()),
        REVIEWS: (reviewed, {review.id}),
        MESSAGES_ON_THEIR_OWN: (pid, {resent}),
    }
    assert set(expected) == set(OPERATOR_QUERIES)
    for query, (provider, ids) in expected.items():
        text = query.render(provider, team=gold, window=week)
        assert await await_listed(temporal.client, text, ids) == ids, text


def _failed_message(db: Database, provider_id: str, team: str) -> OutboxEntry:
    with db.transaction() as session:
        change_delivery(session, provider_id, DeliveryChange(channel=ChannelKind.WEBHOOK))
    request = NotificationRequest(
        idempotency_key=f"{partner_workflow_id(provider_id, team)}/p/1/note",
        provider_id=provider_id,
        reseller_team_id=team,
        kind=NotificationKind.RECOVERED,
        context=NotificationContext(tier=Tier.SILVER, reason="back to standard"),
    )
    receipt = NotificationActivities(db).send(request)
    assert receipt.status == "failed"
    with db.transaction() as session:
        return outbox_entry(session, provider_id, receipt.notification_id)


def _summary(event: HistoryEvent) -> str | None:
    if not event.HasField("user_metadata") or not event.user_metadata.HasField("summary"):
        return None
    summary: str = json.loads(event.user_metadata.summary.data)
    return summary


def _scheduled(events: list[HistoryEvent], activity: str) -> list[HistoryEvent]:
    return [
        e
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == activity
    ]


def _marker_result(event: HistoryEvent) -> dict[str, Any]:
    """A local activity's result as its marker stores it: JSON of the pydantic model."""
    (payload,) = event.marker_recorded_event_attributes.details["result"].payloads
    decoded: dict[str, Any] = json.loads(payload.data)
    return decoded


async def _current_details(handle: WorkflowHandle[Any, Any]) -> str:
    metadata: WorkflowMetadata = await handle.query(
        "__temporal_workflow_metadata", result_type=WorkflowMetadata
    )
    return metadata.current_details


@SQLITE_ONLY
async def test_the_runs_from_before_a_patch_are_the_open_ones_started_before_its_release(
    db: Database, temporal: DevTemporal
):
    program = _program(db, temporal)
    pid = program.provider_id
    programs = PartnerPrograms(temporal.client, temporal.task_queue)
    early, late = [await program.add_reseller(f"team-{name}", GOOD) for name in ("early", "late")]
    await programs.enroll(pid, early, EnrollmentRequest())
    await asyncio.sleep(1.1)  # the query compares whole seconds
    await programs.enroll(pid, late, EnrollmentRequest())
    released = (await programs.handle(pid, late).describe()).start_time
    patch = next(p for p in PATCHES if p.id == PATCH_EXCLUSIVES_END_ON_BLOCK)
    query = f'{runs_from_before(patch, released)} AND ProviderId = "{pid}"'
    before = {partner_workflow_id(pid, early)}
    assert await await_listed(temporal.client, query, before) == before
    await programs.apply(pid, early, RemovalRequest(reason="left the market"))
    assert await await_listed(temporal.client, query, set()) == set()


@SQLITE_ONLY
async def test_a_partners_history_says_what_each_step_did(db: Database, temporal: DevTemporal):
    program = _program(db, temporal)
    pid = program.provider_id
    programs = PartnerPrograms(temporal.client, temporal.task_queue)
    team = await program.add_reseller("team-slipping", SLIPPING, days=150)
    await programs.enroll(pid, team, EnrollmentRequest(requested_by="ops@acme"))
    state = await program.review(programs, team, review_id="review-1")
    assert state.status is PartnerStatus.AT_RISK and state.grace_deadline is not None
    deadline = f"{state.grace_deadline:%Y-%m-%d}"

    await program.sent(team, "at_risk_warning", timeout=60)  # delivered after the transition
    handle = programs.handle(pid, team)
    description = await handle.describe()
    assert (
        await description.static_summary() == f"Partner {team} of provider {pid}: preferred, silver"
    )
    assert "record_transition" in (await description.static_details() or "")
    details = (await _current_details(handle)).split("\n\n")
    assert details[0] == f"Partner {team} of provider {pid}: **at_risk**, silver"
    assert f"grace deadline: **{deadline}**" in details[1]
    # SLIPPING's completion is always short; its random sample may miss another criterion too.
    assert any(line.startswith("failing: ") and "completion" in line for line in details)
    assert any(line.startswith("last review: review-1 on ") for line in details)

    events = list((await handle.fetch_history()).events)
    assert _scheduled(events, "record_transition") == []
    assert _scheduled(events, "record_notification") == []
    enrollment, verdict = [
        e for e in events if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED and _summary(e)
    ]
    # The review's verdict is one local activity: the transition, and the warning put in the
    # outbox; its result, which the UI shows expanded, is the transition it wrote.
    assert _summary(verdict) == (
        f"{team}: preferred, silver -> at_risk, silver by review review-1, at_risk_warning in "
        f"the outbox: {state.transitions[-1].reason}"
    )
    (written,) = _marker_result(verdict)["transitions"]
    assert (written["from_status"], written["to_status"]) == ("preferred", "at_risk")
    assert written["reason"] == state.transitions[-1].reason

    # Each message is delivered apart from the state change that put it in the outbox.
    delivered = [_summary(e) or "" for e in _scheduled(events, "deliver_notification")]
    assert len(delivered) == 2
    assert any(d.startswith(f"deliver: welcomed {team} as silver: ") for d in delivered)
    assert any("orders/month, acceptance" in d for d in delivered if "welcomed" in d)
    (warning,) = [d for d in delivered if d.startswith(f"deliver: warned {team}: ")]
    assert re.fullmatch(
        rf"deliver: warned {team}: (.*; )?completion [\d.]+% < 95\.0%.*, deadline {deadline}",
        warning,
    )

    timers = [_summary(e) for e in events if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED]
    assert (
        f"grace period of {team} ends {deadline}: a last metric check, then recovery or removal"
        in timers
    )
    assert _summary(enrollment) == (
        f"enroll {team}: candidate, bronze -> preferred, silver by provider ops@acme: "
        "list row, metrics, transition, preferred offers, welcome in the outbox"
    )


@SQLITE_ONLY
async def test_an_agreements_summary_and_details_name_it(db: Database, temporal: DevTemporal):
    program = _program(db, temporal)
    pid = program.provider_id
    programs = PartnerPrograms(temporal.client, temporal.task_queue)
    team = await program.add_reseller("team-steady", GOOD)
    await programs.enroll(pid, team, EnrollmentRequest())
    agreements = Agreements(temporal.client, temporal.task_queue)
    terms = AgreementTerms(
        reseller_team_id=team,
        kind=AgreementKind.REGIONAL,
        offer_id=program.preferred_offer,
        zip_codes=["10001", "10002"],
        min_monthly_orders=1,
        term_months=12,
        review_period=ReviewPeriod.QUARTERLY,
    )
    await agreements.create(pid, "metro", AgreementRequest(terms=terms))

    handle = agreements.handle(pid, "metro")
    description = await handle.describe()
    assert await description.static_summary() == (
        f"Exclusive metro of provider {pid}: regional, {team} on offer {program.preferred_offer}"
    )
    details = (await _current_details(handle)).split("\n\n")
    assert details[0] == (
        f"Exclusive metro of provider {pid}: **active**, regional, {team} on offer "
        f"{program.preferred_offer}"
    )
    assert details[1].startswith("term 1: ") and details[1].endswith("period 1 of 4")
    assert "last review: none yet" in details
    events = list((await handle.fetch_history()).events)
    (grant,) = _scheduled(events, "grant_exclusive")
    assert (_summary(grant) or "").startswith(
        f"make offer {program.preferred_offer} selected for {team} alone: regional exclusive "
        "on 2 ZIP codes until "
    )
