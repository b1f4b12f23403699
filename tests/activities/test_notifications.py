"""The notification outbox: one row and one delivery per key, and messages that state the facts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from temporalio.testing import ActivityEnvironment

from activities.notifications import NotificationActivities
from devstack.demo_data import add_provider, add_reseller
from models.agreement import AgreementKind, Scorecard, ScorecardKind
from models.announcement import AnnouncementKind
from models.database import Database
from models.delivery import OutgoingMessage
from models.metrics import CriterionResult, PartnerMetrics
from models.newsletter import Highlight, NewOffer, NewsletterNotice, Tip
from models.notifications import (
    AgreementNotice,
    AnnouncementNotice,
    EarlierIssue,
    IssueNotice,
    NotificationContext,
    NotificationKind,
    NotificationRequest,
    Recipient,
)
from models.partner import IssueSeverity
from models.pricing import tier_price
from models.program import Tier, TierDiscounts
from models.program_change import ThresholdChange
from models.schema import Notification
from store.messages import render

PROVIDER = "acme"
RESELLER = "team-a"
DEADLINE = datetime(2025, 8, 15, 17, 30, tzinfo=UTC)
EFFECTIVE = datetime(2025, 7, 1, 0, 0, tzinfo=UTC)
WINDOW_END = datetime(2025, 6, 1, tzinfo=UTC)

ACCEPTANCE_MISS = CriterionResult(
    name="acceptance_rate", label="acceptance", required=0.9, actual=0.85, met=False
)
RATING_MISS = CriterionResult(
    name="average_rating", label="rating", required=4.8, actual=4.6, met=False
)
METRICS = PartnerMetrics(
    provider_id=PROVIDER,
    reseller_team_id=RESELLER,
    window_start=WINDOW_END - timedelta(days=90),
    window_end=WINDOW_END,
    total_orders=42,
    orders_per_month=14.0,
    accepted_orders=39,
    decided_orders=41,
    acceptance_rate=39 / 41,
    completion_rate=0.9,
    average_rating=4.66,
    rated_orders=20,
    revenue=12_345.5,
    tenure_months=8,
)


@dataclass
class Delivery:
    idempotency_key: str
    recipient: Recipient
    address: str
    subject: str
    body: str


@dataclass
class RecordingChannel:
    """A test double for the delivery channel only (the outbox and database are real).

    It implements the NotificationChannel protocol, records what it delivers, and
    fails the first `failures` deliveries as a mail server that is down would.
    """

    failures: int = 0
    name: str = "recording"
    delivered: list[Delivery] = field(default_factory=list)
    attempts: int = 0

    def deliver(self, message: OutgoingMessage) -> None:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise ConnectionError("mail server unavailable")
        self.delivered.append(
            Delivery(
                message.idempotency_key,
                message.recipient,
                message.address,
                message.subject,
                message.body,
            )
        )


@pytest.fixture
def seeded(db: Database) -> Database:
    with db.transaction() as session:
        add_provider(session, PROVIDER, "Acme Internet")
        add_reseller(session, RESELLER, "Team A", email="sales@team-a.example")
    return db


def request(
    key: str = "partner/acme/team-a/p1/1/welcome",
    kind: NotificationKind = NotificationKind.WELCOME,
    recipient: Recipient = Recipient.PARTNER,
) -> NotificationRequest:
    return NotificationRequest(
        idempotency_key=key,
        provider_id=PROVIDER,
        reseller_team_id=RESELLER,
        kind=kind,
        recipient=recipient,
        context=NotificationContext(tier=Tier.SILVER, metrics=METRICS),
    )


def outbox(db: Database) -> list[Notification]:
    with db.transaction() as session:
        return list(session.scalars(select(Notification).order_by(Notification.id)))


def test_sending_twice_delivers_once(seeded: Database) -> None:
    channel = RecordingChannel()
    activities = NotificationActivities(seeded, channel)
    env = ActivityEnvironment()

    first = env.run(activities.send_notification, request())
    second = env.run(activities.send_notification, request())

    assert first.already_sent is False
    assert second.already_sent is True
    assert first.notification_id == second.notification_id
    assert first.status == second.status == "sent"
    assert first.channel == "recording"

    rows = outbox(seeded)
    assert len(rows) == 1
    assert (rows[0].status, rows[0].kind, rows[0].recipient) == ("sent", "welcome", "partner")
    assert rows[0].sent_at is not None

    assert len(channel.delivered) == 1
    delivery = channel.delivered[0]
    assert delivery.idempotency_key == "partner/acme/team-a/p1/1/welcome"
    assert delivery.address == "sales@team-a.example"
    assert (delivery.subject, delivery.body) == (rows[0].subject, rows[0].body)


def test_different_keys_are_different_messages(seeded: Database) -> None:
    channel = RecordingChannel()
    activities = NotificationActivities(seeded, channel)
    env = ActivityEnvironment()
    env.run(activities.send_notification, request("k1"))
    env.run(activities.send_notification, request("k2", recipient=Recipient.PROVIDER))
    assert [row.idempotency_key for row in outbox(seeded)] == ["k1", "k2"]
    assert [d.address for d in channel.delivered] == ["sales@team-a.example", "provider:acme"]


def test_failed_delivery_is_retried_into_one_sent_message(seeded: Database) -> None:
    channel = RecordingChannel(failures=1)
    activities = NotificationActivities(seeded, channel)
    env = ActivityEnvironment()

    with pytest.raises(ConnectionError):
        env.run(activities.send_notification, request())
    rows = outbox(seeded)
    assert [(r.status, r.sent_at, r.attempts) for r in rows] == [("sending", None, 1)]
    assert rows[0].last_error == "ConnectionError: mail server unavailable"

    # Temporal retries the activity: the same key finds the pending row and sends it.
    receipt = env.run(activities.send_notification, request())
    assert receipt.already_sent is False
    assert receipt.status == "sent"
    rows = outbox(seeded)
    assert len(rows) == 1
    assert rows[0].status == "sent" and rows[0].sent_at is not None
    assert channel.attempts == 2
    assert len(channel.delivered) == 1

    assert env.run(activities.send_notification, request()).already_sent is True
    assert len(channel.delivered) == 1


# What each kind of message must say, rendered from one set of facts.
CONTEXT = NotificationContext(
    tier=Tier.SILVER,
    previous_tier=Tier.GOLD,
    reason="acceptance fell after the spring campaign",
    effective_date=EFFECTIVE,
    grace_deadline=DEADLINE,
    failed_criteria=[ACCEPTANCE_MISS, RATING_MISS],
    metrics=METRICS,
    offer_ids=["acme-fiber", "acme-business"],
    period="2025-Q2",
    next_tier=Tier.GOLD,
    next_tier_criteria=[RATING_MISS],
    issue=IssueNotice(
        reason="installs missed their appointments",
        severity=IssueSeverity.MINOR,
        reported_at=EFFECTIVE,
        earlier=[EarlierIssue(at=WINDOW_END, reason="a billing complaint")],
        window_days=90,
        escalates_until=DEADLINE,
    ),
    program_changes=[
        ThresholdChange(
            tier=Tier.SILVER,
            name="acceptance_rate",
            label="acceptance",
            old="85.0%",
            new="90.0%",
            tightens=True,
        )
    ],
    announcement=AnnouncementNotice(
        kind=AnnouncementKind.DOWNTIME,
        subject="Ordering down on Sunday {{ 7 * 7 }}",
        body="Orders cannot be placed from 02:00 to 04:00 UTC.\n"
        "{% for x in range(9) %}x{% endfor %}",
    ),
    newsletter=NewsletterNotice(
        month="2025-06",
        month_label="June 2025",
        new_offers=[
            NewOffer(
                offer_id="acme-2g",
                name="Acme 2 Gig {{ 7 * 7 }}",
                category="internet",
                price=tier_price(Decimal("80.00"), Tier.SILVER, discounts=TierDiscounts(silver=5)),
            )
        ],
        highlights=[
            Highlight(
                name="orders", label="orders", before="20", after="25", change="+25%", improved=True
            )
        ],
        tip=Tip(
            criterion="acceptance_rate",
            label="acceptance",
            tier="silver",
            text="acceptance 85.0% < 90.0%",
            needs="acceptance 85.0% → 90.0%",
            advice="Answer each order the day it comes.",
        ),
    ),
)
REASON = CONTEXT.reason or ""
FAILED = ["acceptance 85.0% < 90.0%", "rating 4.6 < 4.8"]
METRIC_FACTS = ["42", "14.0/month", "95.1%", "90.0%", "4.66", "12,345.50"]
EXPECTED: dict[NotificationKind, list[str]] = {
    NotificationKind.WELCOME: ["silver", "Acme Internet", "Team A", *METRIC_FACTS],
    NotificationKind.ENROLLMENT_SCHEDULED: ["silver", "2025-07-01", "Team A"],
    NotificationKind.AT_RISK_WARNING: ["silver", "2025-08-15", REASON, *FAILED],
    NotificationKind.GRACE_CHANGED: ["silver", "2025-08-15", REASON],
    NotificationKind.RECOVERED: ["silver", "Team A", *METRIC_FACTS],
    NotificationKind.REMOVED: ["Acme Internet", REASON, *FAILED],
    NotificationKind.PROMOTED: ["from gold to silver", REASON],
    NotificationKind.DEMOTED: ["from gold to silver", REASON, *FAILED],
    NotificationKind.BLOCKED: ["acme-fiber, acme-business", REASON],
    NotificationKind.UNBLOCKED: [REASON, "Team A"],
    NotificationKind.CANDIDATE_NOTICE: ["silver", "Team A", REASON, *METRIC_FACTS],
    NotificationKind.SCORECARD: [
        "silver",
        "2025-Q2",
        "What gold requires",
        "MISSED  rating 4.6 < 4.8",
        *METRIC_FACTS,
    ],
    NotificationKind.FRIENDLY_NOTICE: [
        "installs missed",
        "2025-07-01",
        "formal notice",
        "2025-08-15",
    ],
    NotificationKind.FORMAL_NOTICE: [
        "formal notice",
        "2 issues",
        "within 90 days",
        "installs missed",
        "2025-06-01: a billing complaint",
        "2025-08-15",
        "at risk",
    ],
    NotificationKind.PROGRAM_CHANGE_NOTICE: [
        "Acme Internet",
        "silver acceptance: 85.0% → 90.0%",
        "2025-07-01",
        *FAILED,
        *METRIC_FACTS,
    ],
    # The provider's text is data, not a template: its braces come out as written.
    NotificationKind.ANNOUNCEMENT: [
        "Ordering down on Sunday {{ 7 * 7 }}",
        "Dear Team A",
        "02:00 to 04:00 UTC.\n{% for x in range(9) %}x{% endfor %}",
        "downtime announcement",
        "silver (preferred) partner of Acme Internet",
    ],
    NotificationKind.NEWSLETTER: [
        "Acme Internet partner newsletter: June 2025",
        "Acme 2 Gig {{ 7 * 7 }}: $76.00 a month (5% silver discount, list $80.00) (internet)",
        "orders: 20 → 25 (+25%)",
        "Where to focus: acceptance (acceptance 85.0% < 90.0%, the silver line)",
        "To reach it: acceptance 85.0% → 90.0%.",
        "Answer each order the day it comes.",
    ],
}


# Messages about an exclusive agreement, rendered from a breached quarterly scorecard.
CARD = Scorecard(
    sequence=7,
    kind=ScorecardKind.PERIOD,
    term_number=2,
    period_number=3,
    period_start=WINDOW_END - timedelta(days=92),
    period_end=WINDOW_END,
    lines=[
        CriterionResult(
            name="orders_per_month", label="orders/month", required=20, actual=14.0, met=False
        ),
        CriterionResult(
            name="completion_rate", label="completion", required=0.95, actual=0.97, met=True
        ),
    ],
    met=False,
    metrics=METRICS,
)
AGREEMENT_CONTEXT = NotificationContext(
    tier=Tier.SILVER,
    reason="the region grew faster than expected",
    agreement=AgreementNotice(
        agreement_id="north-fiber",
        kind=AgreementKind.REGIONAL,
        offer_id="acme-fiber-north",
        zip_codes=["10001", "10002"],
        term_number=2,
        term_end=DEADLINE,
        cure_deadline=EFFECTIVE,
        scorecard=CARD,
    ),
)
SCOPE = ["north-fiber", "acme-fiber-north", "10001, 10002"]
CARD_FACTS = ["orders/month 14 < 20", "completion 97.0% >= 95.0%", "2025-03-01 to 2025-06-01"]
AGREEMENT_REASON = AGREEMENT_CONTEXT.reason or ""
AGREEMENT_EXPECTED: dict[NotificationKind, list[str]] = {
    NotificationKind.EXCLUSIVE_GRANTED: [*SCOPE, "2025-08-15"],
    NotificationKind.EXCLUSIVE_REVIEW: [*SCOPE, *CARD_FACTS],
    NotificationKind.EXCLUSIVE_BREACH: [*SCOPE, *CARD_FACTS, "2025-07-01", "second breach"],
    NotificationKind.EXCLUSIVE_CURED: [*SCOPE, *CARD_FACTS],
    NotificationKind.EXCLUSIVE_AMENDED: [*SCOPE, AGREEMENT_REASON, "next review period"],
    NotificationKind.EXCLUSIVE_RENEWED: [*SCOPE, "term 2", "2025-08-15", AGREEMENT_REASON],
    NotificationKind.EXCLUSIVE_EXPIRED: [*SCOPE, AGREEMENT_REASON, *CARD_FACTS],
    NotificationKind.EXCLUSIVE_TERMINATED: [*SCOPE, AGREEMENT_REASON, *CARD_FACTS],
    NotificationKind.EXCLUSIVE_ENDED_NOTICE: [*SCOPE, "Team A", AGREEMENT_REASON, *CARD_FACTS],
}


def test_every_kind_has_expectations() -> None:
    assert set(EXPECTED) | set(AGREEMENT_EXPECTED) == set(NotificationKind)


@pytest.mark.parametrize(
    ("kind", "context", "facts"),
    [(kind, CONTEXT, facts) for kind, facts in EXPECTED.items()]
    + [(kind, AGREEMENT_CONTEXT, facts) for kind, facts in AGREEMENT_EXPECTED.items()],
    ids=[kind.value for kind in [*EXPECTED, *AGREEMENT_EXPECTED]],
)
def test_rendered_message_states_the_facts(
    kind: NotificationKind, context: NotificationContext, facts: list[str]
) -> None:
    subject, body = render(kind, context, provider_name="Acme Internet", reseller_name="Team A")
    text = f"{subject}\n{body}"
    assert subject.strip()
    missing = [fact for fact in facts if fact not in text]
    assert not missing, f"{kind.value} does not mention {missing}:\n{text}"


def test_block_of_everything_says_so() -> None:
    ctx = CONTEXT.model_copy(update={"offer_ids": []})
    _, body = render(
        NotificationKind.BLOCKED, ctx, provider_name="Acme Internet", reseller_name="Team A"
    )
    assert "all Acme Internet offers" in body


def test_promotion_names_both_tiers() -> None:
    ctx = NotificationContext(tier=Tier.GOLD, previous_tier=Tier.SILVER, reason="60 orders/month")
    subject, body = render(
        NotificationKind.PROMOTED, ctx, provider_name="Acme Internet", reseller_name="Team A"
    )
    assert "gold" in subject
    assert "promoted from silver to gold" in body


def test_the_outbox_stores_the_rendered_text(seeded: Database) -> None:
    activities = NotificationActivities(seeded, RecordingChannel())
    warning = NotificationRequest(
        idempotency_key="partner/acme/team-a/p1/2/at_risk_warning",
        provider_id=PROVIDER,
        reseller_team_id=RESELLER,
        kind=NotificationKind.AT_RISK_WARNING,
        context=CONTEXT,
    )
    ActivityEnvironment().run(activities.send_notification, warning)
    [row] = outbox(seeded)
    assert row.kind == "at_risk_warning"
    for fact in EXPECTED[NotificationKind.AT_RISK_WARNING]:
        assert fact in f"{row.subject}\n{row.body}"
