"""The shipped templates render every kind from realistic and from minimal data, the welcome
letter and the warning say what the program documents say they must, and the outbox renders a
provider's override (or, should one ever fail, the shipped template)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from temporalio.testing import ActivityEnvironment

from activities.notifications import NotificationActivities
from devstack.demo_data import add_offer, add_provider, add_reseller
from models.database import Database
from models.metrics import CriterionResult, PartnerMetrics
from models.notifications import NotificationContext, NotificationKind, NotificationRequest
from models.offers import Visibility
from models.program import ProgramSettings, Tier
from models.schema import MessageTemplateVersion, Notification
from models.templates import CATALOGUE, VARIABLES
from services.templates import TemplateChange, save_template
from store.message_samples import sample_context, sample_variables, variants
from store.message_variables import MessageFacts, message_variables
from store.messages import TemplateOverride, render, render_variables
from tests.activities.test_notifications import RecordingChannel

PROVIDER = "acme"
TEAM = "team-northwind"
NOW = datetime(2026, 7, 1, tzinfo=UTC)
LAST_QUARTER = PartnerMetrics(
    provider_id=PROVIDER,
    reseller_team_id=TEAM,
    window_start=NOW - timedelta(days=90),
    window_end=NOW,
    total_orders=57,
    orders_per_month=19.0,
    accepted_orders=52,
    decided_orders=55,
    acceptance_rate=52 / 55,
    completion_rate=0.96,
    average_rating=4.71,
    rated_orders=30,
    revenue=4321.0,
    tenure_months=9,
)
FACTS = MessageFacts(
    provider_name="Acme Fiber",
    reseller_name="Northwind Telecom",
    program=ProgramSettings(),
    tier_offers=("Acme Fiber 1 Gig",),
)


@pytest.mark.parametrize("kind", list(NotificationKind), ids=[k.value for k in NotificationKind])
def test_every_kind_renders_from_realistic_and_minimal_data(kind: NotificationKind) -> None:
    rendered = [
        render_variables(kind, variables, strict=True)
        for _, variables in variants(kind, sample_variables(kind))
    ]
    assert len(rendered) == 1 + len(CATALOGUE[kind].optional) + (len(CATALOGUE[kind].optional) > 1)
    for subject, body in rendered:
        assert subject.strip() and "\n" not in subject and len(subject) <= 300
        assert body.endswith("\n") and "\n\n\n" not in body, body
        assert "Northwind Telecom" in subject + body
        assert "None" not in body, body


def test_every_documented_variable_is_given_and_each_kind_names_only_documented_ones() -> None:
    assert set(sample_variables(NotificationKind.WELCOME)) == set(VARIABLES)
    for info in CATALOGUE.values():
        assert set(info.variables) <= set(VARIABLES), info.kind
        assert {path.split(".")[0] for path in info.optional} <= set(info.variables), info.kind


def test_the_welcome_letter_names_tier_benefits_and_last_quarters_figures() -> None:
    ctx = NotificationContext(tier=Tier.GOLD, metrics=LAST_QUARTER)
    subject, body = render_variables(NotificationKind.WELCOME, message_variables(ctx, FACTS))
    assert subject == "Welcome to the Acme Fiber partner program (gold)"
    for fact in (
        "Dear Northwind Telecom",
        "you are now a gold (strategic) partner of Acme Fiber",
        "eligibility for regional and service exclusive agreements",
        "Offers you can now see and sell: Acme Fiber 1 Gig.",
        "Your figures for the last quarter (2 April – 30 June 2026):",
        "orders: 57 (19.0/month)",
        "acceptance: 94.5%",
        "completion: 96.0%",
        "customer rating: 4.71",
        "What keeps you gold, against those figures:",
        "MISSED  rating 4.7 < 4.8",
        "met     completion 96.0% >= 95.0%",
    ):
        assert fact in body, f"{fact!r} not in:\n{body}"


def test_a_welcome_without_ratings_says_so() -> None:
    ctx = NotificationContext(
        tier=Tier.SILVER, metrics=LAST_QUARTER.model_copy(update={"average_rating": None})
    )
    _, body = render(NotificationKind.WELCOME, ctx, provider_name="A", reseller_name="B")
    assert "customer rating: no ratings yet" in body


def test_the_warning_names_each_failed_criterion_with_value_threshold_and_deadline() -> None:
    ctx = NotificationContext(
        tier=Tier.SILVER,
        reason="the monthly review of 2026-06 found the partner below the silver standard",
        grace_deadline=datetime(2026, 8, 15, tzinfo=UTC),
        failed_criteria=[
            CriterionResult(
                name="completion_rate", label="completion", required=0.95, actual=0.88, met=False
            ),
            CriterionResult(
                name="orders_per_month", label="orders/month", required=10, actual=6.3, met=False
            ),
        ],
    )
    subject, body = render_variables(
        NotificationKind.AT_RISK_WARNING, message_variables(ctx, FACTS)
    )
    assert subject == "Action needed: your silver status is at risk"
    for fact in (
        "below the silver standard",
        "completion 88.0% < 95.0%",
        "orders/month 6.3 < 10",
        "Deadline: 2026-08-15.",
        "What to do: bring these figures back",
        "removed from the preferred list",
    ):
        assert fact in body, f"{fact!r} not in:\n{body}"


def test_a_failing_override_falls_back_to_the_shipped_template_when_sending() -> None:
    variables = sample_variables(NotificationKind.WELCOME)
    broken = TemplateOverride(subject="Hi {{ partner }}", body="{{ 1 / 0 }}", version=4)
    subject, body = render_variables(NotificationKind.WELCOME, variables, broken)
    assert subject == "Hi Northwind Telecom"
    assert body == render_variables(NotificationKind.WELCOME, variables)[1]
    with pytest.raises(ValueError, match="body line 1: ZeroDivisionError"):
        render_variables(NotificationKind.WELCOME, variables, broken, strict=True)


@pytest.fixture
def seeded(db: Database) -> Database:
    with db.transaction() as session:
        add_provider(session, PROVIDER, "Acme Fiber")
        add_reseller(session, TEAM, "Northwind Telecom")
        session.flush()
        add_offer(session, PROVIDER, "gig", visibility=Visibility.PREFERRED, name="Fiber 1 Gig")
        add_offer(
            session,
            PROVIDER,
            "biz",
            visibility=Visibility.PREFERRED,
            min_tier=Tier.GOLD,
            name="Fiber Business",
        )
        add_offer(session, PROVIDER, "basic", name="Basic Internet")
    return db


def send(db: Database, kind: NotificationKind, key: str, tier: Tier = Tier.SILVER) -> Notification:
    activities = NotificationActivities(db, RecordingChannel())
    request = NotificationRequest(
        idempotency_key=key,
        provider_id=PROVIDER,
        reseller_team_id=TEAM,
        kind=kind,
        context=sample_context(kind).model_copy(update={"tier": tier}),
    )
    ActivityEnvironment().run(activities.send_notification, request)
    with db.transaction() as session:
        return session.scalars(
            select(Notification).where(Notification.idempotency_key == key)
        ).one()


def test_the_outbox_renders_the_providers_override_and_its_tiers_offers(seeded: Database) -> None:
    silver = send(seeded, NotificationKind.WELCOME, "k1")
    assert "Offers you can now see and sell: Fiber 1 Gig." in silver.body
    gold = send(seeded, NotificationKind.WELCOME, "k2", Tier.GOLD)
    assert "Offers you can now see and sell: Fiber 1 Gig, Fiber Business." in gold.body

    with seeded.transaction() as session:
        save_template(
            session,
            PROVIDER,
            NotificationKind.WELCOME,
            TemplateChange(subject="{{ partner }} joins {{ provider }} as {{ tier }}"),
        )
    own = send(seeded, NotificationKind.WELCOME, "k3")
    assert own.subject == "Northwind Telecom joins Acme Fiber as silver"
    assert own.body == silver.body, "the body stays the shipped one"
    assert send(seeded, NotificationKind.SCORECARD, "k4").subject.startswith("Your Acme Fiber")


def test_an_override_that_fails_at_send_time_still_tells_the_partner(seeded: Database) -> None:
    with seeded.transaction() as session:
        # Saved past the check, as a row written by hand or by an older version would be.
        session.add(
            MessageTemplateVersion(
                provider_id=PROVIDER,
                kind=NotificationKind.REMOVED.value,
                version=1,
                subject=None,
                body="{{ no_such_variable }}",
                changed_by="test",
            )
        )
    row = send(seeded, NotificationKind.REMOVED, "k5")
    assert row.status == "sent"
    assert "You are no longer a preferred partner of Acme Fiber" in row.body
