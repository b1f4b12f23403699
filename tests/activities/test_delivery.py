"""Recording and delivering through each provider's own channel, on the real database and real
receivers on loopback: what the outbox row says after each try."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import select, update
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.notifications import REFUSED_TYPE, NotificationActivities
from devstack.demo_data import add_provider, add_reseller
from models.database import Database
from models.delivery import (
    ChannelKind,
    DeliveryChange,
    DeliveryRequest,
    OutboxBatch,
    PartnerContact,
    SmtpSecurity,
)
from models.notifications import (
    NotificationContext,
    NotificationKind,
    NotificationRequest,
    Recipient,
)
from models.program import Tier
from models.schema import Notification, utcnow
from services.delivery import change_delivery, set_partner_contact
from tests.helpers import listed_partner
from tests.receivers import WebhookReceiver, mail_server, webhook_receiver

PROVIDER = "acme"
TEAMS = ("team-a", "team-b", "team-c")
SECRET = "whsec_0123456789abcdef"

pytestmark = pytest.mark.usefixtures("local_webhooks", "local_mail")  # receivers on loopback


@pytest.fixture
def seeded(db: Database) -> Database:
    with db.transaction() as session:
        add_provider(session, PROVIDER, "Acme Internet")
        for team in TEAMS:
            add_reseller(session, team, f"Team {team[-1].upper()}", email=f"sales@{team}.example")
        session.flush()
        session.add_all(listed_partner(PROVIDER, team) for team in TEAMS)
    return db


def configure(db: Database, **settings: object) -> None:
    with db.transaction() as session:
        change_delivery(session, PROVIDER, DeliveryChange.model_validate(settings))


def contact(db: Database, team: str, **fields: str) -> None:
    with db.transaction() as session:
        set_partner_contact(session, PROVIDER, team, PartnerContact.model_validate(fields))


def request(
    key: str, team: str = "team-a", recipient: Recipient = Recipient.PARTNER
) -> NotificationRequest:
    return NotificationRequest(
        idempotency_key=key,
        provider_id=PROVIDER,
        reseller_team_id=team,
        kind=NotificationKind.CANDIDATE_NOTICE
        if recipient is Recipient.PROVIDER
        else NotificationKind.WELCOME,
        recipient=recipient,
        context=NotificationContext(tier=Tier.SILVER, reason="meets the silver criteria"),
    )


def row(db: Database, key: str) -> Notification:
    with db.transaction() as session:
        return session.scalars(
            select(Notification).where(Notification.idempotency_key == key)
        ).one()


def webhook(db: Database, receiver: WebhookReceiver, *teams: str) -> None:
    configure(db, channel=ChannelKind.WEBHOOK, webhook_secret=SecretStr(SECRET))
    for team in teams or ("team-a",):
        contact(db, team, webhook_url=receiver.url(f"/{team}"))


def test_recording_shows_the_message_before_any_try(seeded):
    configure(seeded, channel="email", smtp_host="127.0.0.1", from_address="p@acme.example")
    activities = NotificationActivities(seeded)
    receipt = activities.record(request("k1"))
    stored = row(seeded, "k1")
    assert (receipt.status, stored.status, stored.attempts) == ("pending", "pending", 0)
    assert (stored.channel, stored.address) == ("email", "sales@team-a.example")
    assert "Acme Internet" in stored.subject


def test_a_webhook_that_fails_then_answers_delivers_once(seeded):
    answers = iter([500, 200, 200])
    with webhook_receiver(SECRET, answer=lambda r, earlier: next(answers)) as receiver:
        webhook(seeded, receiver)
        activities = NotificationActivities(seeded)
        activities.record(request("k1"))
        with pytest.raises(Exception, match="HTTP 500"):
            activities.deliver("k1")
        failed_once = row(seeded, "k1")
        assert (failed_once.status, failed_once.attempts) == ("sending", 1)
        assert "HTTP 500" in (failed_once.last_error or "")

        receipt = activities.deliver("k1")
        assert receipt.status == "sent" and not receipt.already_sent
        assert activities.deliver("k1").already_sent  # settled: no third request
    assert receiver.keys() == ["k1", "k1"]
    assert list(receiver.messages) == ["k1"] and receiver.unsigned == []
    sent = row(seeded, "k1")
    assert (sent.status, sent.attempts, sent.address) == ("sent", 2, receiver.url("/team-a"))
    assert sent.sent_at is not None


def test_a_refused_webhook_bounces_and_the_activity_says_why(seeded):
    with webhook_receiver(SECRET, answer=lambda r, earlier: 410) as receiver:
        webhook(seeded, receiver)
        activities = NotificationActivities(seeded)
        activities.record(request("k1"))
        with pytest.raises(ApplicationError) as raised:
            ActivityEnvironment().run(
                activities.deliver_notification, DeliveryRequest(idempotency_key="k1")
            )
    assert raised.value.non_retryable and raised.value.type == REFUSED_TYPE
    assert "HTTP 410" in str(raised.value)
    bounced = row(seeded, "k1")
    assert (bounced.status, bounced.attempts) == ("bounced", 1)
    assert "refused the message: HTTP 410" in (bounced.last_error or "")


def test_a_partner_with_no_webhook_url_fails_with_how_to_set_one(seeded):
    configure(seeded, channel=ChannelKind.WEBHOOK, webhook_secret=SecretStr(SECRET))
    activities = NotificationActivities(seeded)
    activities.record(request("k1"))
    receipt = activities.deliver("k1")
    failed = row(seeded, "k1")
    assert receipt.status == failed.status == "failed" and failed.attempts == 0
    assert failed.last_error == (
        "no webhook URL for team-a: set one with PUT /provider/partners/team-a/contact or "
        "`partnerflow contacts set acme team-a` --webhook-url"
    )


def test_mail_goes_to_the_contact_then_the_resellers_email_and_the_provider_its_own(seeded):
    with mail_server() as server:
        configure(
            seeded,
            channel=ChannelKind.EMAIL,
            smtp_host=server.host,
            smtp_port=server.port,
            smtp_security=SmtpSecurity.NONE,
            from_address="partners@acme.example",
        )
        contact(seeded, "team-b", email="ops@team-b.example")
        activities = NotificationActivities(seeded)
        for key, team in (("k-a", "team-a"), ("k-b", "team-b")):
            activities.send(request(key, team))
        activities.record(request("k-p", recipient=Recipient.PROVIDER))
        assert activities.deliver("k-p").status == "failed"
        assert "providerEmail" in (row(seeded, "k-p").last_error or "")

        configure(seeded, provider_email="partners-desk@acme.example")
        activities.send(request("k-p2", recipient=Recipient.PROVIDER))
    assert [mail["To"] for mail in server.mails] == [
        "sales@team-a.example",
        "ops@team-b.example",
        "partners-desk@acme.example",
    ]


def test_a_message_waiting_goes_to_the_address_set_meanwhile(seeded):
    with webhook_receiver(SECRET) as receiver:
        configure(seeded, channel=ChannelKind.WEBHOOK, webhook_secret=SecretStr(SECRET))
        activities = NotificationActivities(seeded)
        activities.record(request("k1"))
        contact(seeded, "team-a", webhook_url=receiver.url("/late"))
        assert activities.deliver("k1").status == "sent"
    assert [r.path for r in receiver.requests] == ["/late"]


def test_delivery_gives_up_two_days_after_the_message_was_recorded(seeded):
    answers = iter([503])
    with webhook_receiver(SECRET, answer=lambda r, earlier: next(answers)) as receiver:
        webhook(seeded, receiver)
        activities = NotificationActivities(seeded)
        activities.record(request("k1"))
        with pytest.raises(Exception, match="HTTP 503"):
            activities.deliver("k1")
        with seeded.transaction() as session:
            session.execute(
                update(Notification).values(created_at=utcnow() - timedelta(days=2, minutes=1))
            )
        receipt = activities.deliver("k1")
    assert receipt.status == "failed"
    assert receipt.error == (
        "gave up after 1 tries over 2 days; last error: WebhookUnavailable: "
        f"the webhook at {receiver.url('/team-a')} answered HTTP 503"
    )
    assert len(receiver.requests) == 1


def test_a_message_sent_again_gets_two_more_days_of_tries_and_a_sent_one_is_left(seeded):
    answers = iter([503, 503, 200])
    with webhook_receiver(SECRET, answer=lambda r, earlier: next(answers)) as receiver:
        webhook(seeded, receiver)
        activities = NotificationActivities(seeded)
        activities.record(request("k1"))
        with pytest.raises(Exception, match="HTTP 503"):
            activities.deliver("k1")
        recorded_long_ago = utcnow() - timedelta(days=3)
        with seeded.transaction() as session:
            session.execute(update(Notification).values(created_at=recorded_long_ago))
        assert activities.deliver("k1").status == "failed"

        requeued = ActivityEnvironment().run(
            activities.requeue_notification, DeliveryRequest(idempotency_key="k1")
        )
        assert requeued.status == "pending"
        pending = row(seeded, "k1")
        assert pending.resent_at is not None and pending.resent_at > recorded_long_ago
        assert pending.attempts == 1 and "HTTP 503" in (pending.last_error or "")
        assert activities.requeue("k1").status == "pending", "a retried requeue changes nothing"

        with pytest.raises(Exception, match="HTTP 503"):
            activities.deliver("k1")  # tried again, not given up: the two days run from the resend
        assert activities.deliver("k1").status == "sent"
        assert activities.requeue("k1").status == "sent", "a sent message is not sent again"
    assert row(seeded, "k1").attempts == 3
    assert len(receiver.requests) == 3 and list(receiver.messages) == ["k1"]
    with pytest.raises(ApplicationError, match="no message 'k9'"):
        activities.requeue("k9")


def test_a_batch_delivers_each_message_and_is_retried_for_the_ones_left(seeded):
    def answer(request, earlier: int) -> int:
        return 500 if request.path == "/team-b" and earlier == 0 else 200

    with webhook_receiver(SECRET, answer=answer) as receiver:
        webhook(seeded, receiver, *TEAMS)
        activities = NotificationActivities(seeded)
        for team in TEAMS:
            activities.record(request(f"review/acme/quarterly/2026-Q3/scorecard/{team}", team))
        activities.record(request("review/acme/quarterly/2026-Q2/scorecard/team-a"))
        batch = OutboxBatch(provider_id=PROVIDER, key_prefix="review/acme/quarterly/2026-Q3/")
        env = ActivityEnvironment()
        with pytest.raises(ApplicationError, match="1 of 3 messages could not be delivered yet"):
            env.run(activities.deliver_outbox, batch)
        delivered = env.run(activities.deliver_outbox, batch)
    assert (delivered.sent, delivered.refused) == (3, 0)
    assert sorted(receiver.messages) == [
        f"review/acme/quarterly/2026-Q3/scorecard/{team}" for team in TEAMS
    ]
    assert [r.path for r in receiver.requests].count("/team-b") == 2
    assert row(seeded, "review/acme/quarterly/2026-Q2/scorecard/team-a").status == "pending"


def test_a_wrong_secret_key_fails_the_try_naming_the_cause_and_the_message_waits(
    seeded, monkeypatch, secret_key
):
    with webhook_receiver(SECRET) as receiver:
        webhook(seeded, receiver)
        activities = NotificationActivities(seeded)
        activities.record(request("k1"))
        monkeypatch.setenv("PARTNERFLOW_SECRET_KEY", Fernet.generate_key().decode())
        # Recording does not need the secret: a partner's state change is not held up.
        assert activities.record(request("k2")).status == "pending"
        assert (row(seeded, "k2").channel, row(seeded, "k2").address) == ("webhook", None)
        with pytest.raises(Exception) as raised:
            ActivityEnvironment().run(
                activities.deliver_notification, DeliveryRequest(idempotency_key="k1")
            )
        message = str(raised.value)
        assert type(raised.value).__name__ == "SecretUnreadable"
        assert "the webhook signing secret of provider acme cannot be decrypted" in message
        assert "PARTNERFLOW_SECRET_KEY" in message and SECRET not in message
        assert raised.value.__cause__ is None  # no bare InvalidToken behind it
        # Retried, not dropped: the operator's key is at fault, not the message.
        assert not isinstance(raised.value, ApplicationError)
        waiting = row(seeded, "k1")
        assert (waiting.status, waiting.attempts, receiver.keys()) == ("sending", 1, [])
        assert (waiting.last_error or "").startswith("SecretUnreadable: the webhook signing")
        assert SECRET not in (waiting.last_error or "")

        monkeypatch.setenv("PARTNERFLOW_SECRET_KEY", secret_key)  # the key put right
        assert activities.deliver("k1").status == "sent"
    assert receiver.keys() == ["k1"]
