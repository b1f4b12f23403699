"""Messages through each provider's real channel, on the time-skipping server with the real
worker: mail to a real SMTP server, signed webhooks to a real HTTP receiver, a receiver that
fails for a while without holding up the partner, and quarterly scorecards."""

from __future__ import annotations

import hashlib
import threading
from datetime import timedelta
from email.message import EmailMessage

import pytest
from pydantic import SecretStr
from temporalio.client import WorkflowExecutionStatus, WorkflowHistory

from clients.requests import poll_until
from devstack.demo_data import OrderProfile
from models.contract import delivery_workflow_id
from models.database import Database
from models.delivery import (
    ChannelKind,
    DeliveryChange,
    OutboxStatus,
    PartnerContact,
    SmtpSecurity,
)
from models.partner import (
    AtRiskFlag,
    EnrollmentRequest,
    NoteInput,
    PartnerStatus,
    RemovalRequest,
)
from models.program import ProgramSettings, Tier
from models.review import ReviewCadence, ReviewRequest
from models.schema import Notification
from models.search_attributes import PROVIDER_ID, RESELLER_TEAM_ID
from services.delivery import change_delivery, set_partner_contact
from tests.helpers import INCOMPLETE, Program, TrackedPrograms, replay, replay_histories
from tests.receivers import WebhookReceiver, WebhookRequest, mail_server, webhook_receiver
from workers.wiring import build_worker
from workflows.deliveries import HAND_OVER_AFTER
from workflows.message_delivery import MessageDeliveryWorkflow

DAY = timedelta(days=1)
SECRET = "whsec_the-providers-signing-secret"
SOLID = OrderProfile(orders_per_month=24, acceptance=0.99, completion=1.0, rating=4.8)
HELD_FOR = 60.0
"""Seconds a receiver holds a request at most, so a failing test cannot hang."""
SETTLED_WITHIN = 60
"""How long a worker may take to do what a step waits for: generous, since a loaded machine
may be slow; each wait ends as soon as its condition holds."""

pytestmark = pytest.mark.usefixtures("local_webhooks", "local_mail")  # receivers on loopback


def text(mail: EmailMessage) -> str:
    """The mail's text as the outbox keeps it (SMTP carries CRLF line ends)."""
    return str(mail.get_content()).replace("\r\n", "\n")


async def _now(rows: list[Notification]) -> list[Notification]:
    return rows


@pytest.fixture
def program(env, db) -> Program:
    return Program(db, env, ProgramSettings(grace_period_days=45)).create()


def configure(db: Database, provider_id: str, **settings: object) -> None:
    with db.transaction() as session:
        change_delivery(session, provider_id, DeliveryChange.model_validate(settings))


def set_webhook(program: Program, team: str, url: str) -> None:
    with program.db.transaction() as session:
        set_partner_contact(session, program.provider_id, team, PartnerContact(webhook_url=url))


def use_webhooks(program: Program, receiver: WebhookReceiver, team: str) -> None:
    """The provider delivers over signed webhooks; the partner's go to /partners/{team}."""
    configure(
        program.db,
        program.provider_id,
        channel=ChannelKind.WEBHOOK,
        webhook_secret=SecretStr(SECRET),
    )
    set_webhook(program, team, receiver.url(f"/partners/{team}"))


async def test_a_partner_removed_at_grace_expiry_gets_its_three_mails(env, programs, program):
    team = await program.add_reseller("team-slip", INCOMPLETE)
    with mail_server() as server:
        configure(
            program.db,
            program.provider_id,
            channel=ChannelKind.EMAIL,
            smtp_host=server.host,
            smtp_port=server.port,
            smtp_security=SmtpSecurity.NONE,
            from_address="partners@fiber.example",
        )
        await programs.enroll(program.provider_id, team, EnrollmentRequest(tier=Tier.SILVER))
        at_risk = await program.review(programs, team)
        assert at_risk.status is PartnerStatus.AT_RISK
        await program.sleep(46 * DAY)
        final = await programs.handle(program.provider_id, team).result()
        assert final.status is PartnerStatus.REMOVED
        for kind in ("welcome", "at_risk_warning", "removed"):
            await program.sent(team, kind)
    rows = {row.kind: row for row in program.notifications(team)}
    mails = {mail["Subject"]: mail for mail in server.mails}
    assert len(server.mails) == 3
    for kind in ("welcome", "at_risk_warning", "removed"):
        row = rows[kind]
        mail = mails[row.subject]
        digest = hashlib.sha256(row.idempotency_key.encode()).hexdigest()[:40]
        assert mail["Message-ID"] == f"<{digest}@fiber.example>"
        assert mail["To"] == "partners@team-slip.example" == row.address
        assert mail["From"] == "partners@fiber.example"
        assert (row.channel, row.attempts) == ("email", 1)
        assert text(mail) == row.body
    warning = text(mails[rows["at_risk_warning"].subject])
    assert "completion" in warning and f"{at_risk.grace_deadline:%Y-%m-%d}" in warning
    removal = text(mails[rows["removed"].subject])
    assert "grace period ended" in removal and "completion" in removal


async def test_a_failing_webhook_delivers_once_and_does_not_hold_up_the_partner(
    env, programs, program
):
    """The receiver answers the welcome with 500 twice, then holds the third try until the
    partner has been flagged at risk: the flag is answered while the welcome is still out."""
    team = await program.add_reseller("team-hook", SOLID)
    released = threading.Event()

    def answer(request: WebhookRequest, earlier: int) -> int:
        if request.payload["kind"] != "welcome":
            return 200
        if earlier < 2:
            return 500
        released.wait(HELD_FOR)
        return 200

    with webhook_receiver(SECRET, answer=answer) as receiver:
        use_webhooks(program, receiver, team)
        await programs.enroll(program.provider_id, team, EnrollmentRequest(tier=Tier.SILVER))
        # The welcome is recorded once the enrollment has answered.
        [welcome] = await poll_until(
            lambda: _now(program.notifications(team, "welcome")), bool, timeout=SETTLED_WITHIN
        )

        async def welcome_tries() -> int:
            return receiver.keys().count(welcome.idempotency_key)

        await poll_until(
            welcome_tries,
            lambda tries: tries == 3,
            timeout=30,
            describe=lambda tries: f"{tries} tries of the welcome",
        )

        state = await programs.apply(
            program.provider_id, team, AtRiskFlag(reason="late installs", grace_days=30)
        )
        assert state.status is PartnerStatus.AT_RISK
        held = program.notifications(team, "welcome")[0]
        assert (held.status, held.attempts) == ("sending", 3)
        assert "HTTP 500" in (held.last_error or "")

        released.set()
        [sent] = await program.sent(team, "welcome")
        await program.sent(team, "at_risk_warning")
    assert sent.attempts == 3
    assert receiver.keys().count(welcome.idempotency_key) == 3
    assert [m["kind"] for m in receiver.messages.values()].count("welcome") == 1
    assert sorted(m["kind"] for m in receiver.messages.values()) == ["at_risk_warning", "welcome"]
    assert receiver.unsigned == [], "every request verified with the documented scheme"
    assert all(r.path == f"/partners/{team}" for r in receiver.requests)


async def test_quarterly_scorecards_reach_every_partner_one_receiver_failing_for_a_while(
    env, programs, program, reviews
):
    teams = [await program.add_reseller(f"team-{n}", SOLID, days=150) for n in range(3)]
    flaky = teams[1]

    def answer(request: WebhookRequest, earlier: int) -> int:
        scorecard = request.payload["kind"] == "scorecard"
        return 503 if scorecard and request.path.endswith(flaky) and earlier < 2 else 200

    with webhook_receiver(SECRET, answer=answer) as receiver:
        configure(
            program.db,
            program.provider_id,
            channel=ChannelKind.WEBHOOK,
            webhook_secret=SecretStr(SECRET),
        )
        for team in teams:
            set_webhook(program, team, receiver.url(f"/partners/{team}"))
            await programs.enroll(program.provider_id, team, EnrollmentRequest(tier=Tier.SILVER))
        request = ReviewRequest(provider_id=program.provider_id, cadence=ReviewCadence.QUARTERLY)
        outcome = await reviews.run(request, now=await program.now())
    assert outcome.scorecards is not None and outcome.scorecards.sent == 3
    assert outcome.scorecards_delivered is not None
    assert (outcome.scorecards_delivered.sent, outcome.scorecards_delivered.refused) == (3, 0)
    cards = [m for m in receiver.messages.values() if m["kind"] == "scorecard"]
    assert sorted(m["resellerTeamId"] for m in cards) == sorted(teams)
    flaky_tries = [r for r in receiver.requests if r.path.endswith(flaky)]
    assert [r.payload["kind"] for r in flaky_tries].count("scorecard") == 3
    assert receiver.unsigned == []
    [card] = program.notifications(flaky, "scorecard")
    assert (card.status, card.attempts) == ("sent", 3)


async def test_a_delivery_still_failing_at_continue_as_new_is_finished_by_the_next_run(
    env, db, task_queue, program
):
    team = await program.add_reseller("team-long", SOLID)
    receiving = threading.Event()

    def answer(request: WebhookRequest, earlier: int) -> int:
        return 200 if receiving.is_set() else 503

    programs = TrackedPrograms(env.client, task_queue, max_history_events=100)
    with webhook_receiver(SECRET, answer=answer) as receiver:
        configure(db, program.provider_id, channel="webhook", webhook_secret=SecretStr(SECRET))
        set_webhook(program, team, receiver.url())
        async with build_worker(env.client, db, task_queue=task_queue):
            first = await programs.enroll(program.provider_id, team, EnrollmentRequest())
            for index in range(12):
                await programs.apply(
                    program.provider_id, team, NoteInput(text=f"weekly check-in {index}")
                )
            # The run lets its deliveries finish for five minutes before it continues as new.
            await program.sleep(HAND_OVER_AFTER + timedelta(minutes=1))
            state = await programs.wait_for(
                program.provider_id, team, lambda s: s.continued_runs >= 1, timeout=SETTLED_WITHIN
            )
            assert state.partnership_id == first.partnership_id
            assert program.notifications(team, "welcome")[0].status == "sending"
            history = await programs.handle(program.provider_id, team).fetch_history()
            scheduled = [
                event.activity_task_scheduled_event_attributes.activity_type.name
                for event in history.events
                if event.HasField("activity_task_scheduled_event_attributes")
            ]
            assert scheduled[:1] == ["deliver_notification"], "the new run took the welcome on"

            receiving.set()
            [sent] = await program.sent(team, "welcome", timeout=30)
    assert list(receiver.messages) == [sent.idempotency_key]
    assert set(receiver.keys()) == {sent.idempotency_key}
    assert sent.attempts == len(receiver.requests) >= 2
    await replay_histories(env.client, programs.workflow_ids)


async def test_a_removed_partner_closes_while_its_notice_is_retried_and_can_enroll_again(
    env, programs, program
):
    """The removal notice cannot be delivered for now: the run closes after a while anyway,
    its delivery goes on in a workflow of its own, and enrolling the partner again is not
    refused meanwhile."""
    team = await program.add_reseller("team-gone", SOLID)
    receiving = threading.Event()

    def answer(request: WebhookRequest, earlier: int) -> int:
        return 200 if request.payload["kind"] != "removed" or receiving.is_set() else 503

    with webhook_receiver(SECRET, answer=answer) as receiver:
        use_webhooks(program, receiver, team)
        first = await programs.enroll(program.provider_id, team, EnrollmentRequest())
        await program.sent(team, "welcome")
        removed = await programs.apply(
            program.provider_id, team, RemovalRequest(reason="contract ended")
        )
        assert removed.status is PartnerStatus.REMOVED
        [notice] = await poll_until(
            lambda: _now(program.notifications(team, "removed")), bool, timeout=SETTLED_WITHIN
        )

        # The run lets the notice's tries go on for five minutes, then closes.
        await program.sleep(HAND_OVER_AFTER + timedelta(minutes=1))
        run = programs.handle(program.provider_id, team)

        closed_run: list[WorkflowHistory] = []

        async def run_closed() -> bool:
            # Not describe(): the time-skipping server's GraceDeadline does not decode.
            closed_run[:] = [await run.fetch_history()]
            return (
                closed_run[0].events[-1].HasField("workflow_execution_completed_event_attributes")
            )

        await poll_until(run_closed, bool, timeout=SETTLED_WITHIN)
        closed = await run.result()
        assert closed.status is PartnerStatus.REMOVED
        assert program.notifications(team, "removed")[0].status == "sending"
        delivery = env.client.get_workflow_handle_for(
            MessageDeliveryWorkflow.run, delivery_workflow_id(notice.idempotency_key)
        )
        described = await delivery.describe()
        assert described.status is WorkflowExecutionStatus.RUNNING
        assert described.workflow_type == "MessageDeliveryWorkflow"
        attributes = described.typed_search_attributes
        assert attributes.get(PROVIDER_ID) == program.provider_id
        assert attributes.get(RESELLER_TEAM_ID) == team

        again = await programs.enroll(program.provider_id, team, EnrollmentRequest())
        assert again.status is PartnerStatus.PREFERRED
        assert again.partnership_id != first.partnership_id

        receiving.set()
        outcome = await delivery.result()
        assert outcome.status is OutboxStatus.SENT
    [sent] = program.notifications(team, "removed")
    assert sent.status == "sent" and sent.attempts == receiver.keys().count(sent.idempotency_key)
    assert sent.attempts >= 2
    kinds = sorted(m["kind"] for m in receiver.messages.values())
    assert kinds == ["removed", "welcome", "welcome"], "one removal notice, one welcome per run"
    assert receiver.unsigned == []
    handed_over = await delivery.fetch_history()
    await replay([closed_run[0], handed_over], label="removal-handed-over")
