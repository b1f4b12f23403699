"""`partnerflow delivery|contacts|outbox ...` in-process with Typer's test runner, on the real
database: settings without their secrets, contacts, and the outbox with its failures."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from activities.notifications import NotificationActivities
from clients.requests import poll_until
from devstack.demo_data import add_provider, add_reseller
from models.database import Database
from models.notifications import NotificationContext, NotificationKind, NotificationRequest
from models.program import Tier
from models.schema import Notification
from tests.helpers import listed_partner
from tests.receivers import webhook_receiver
from tests.workers.cli_runner import cli_on

pytestmark = [
    pytest.mark.both_databases,  # the delivery settings' and the outbox's SQL
    pytest.mark.usefixtures("local_webhooks"),  # receivers on loopback, over http
]

PROVIDER = "acme"


@pytest.fixture
def cli(db: Database):
    with db.transaction() as session:
        add_provider(session, PROVIDER, "Acme Fiber")
        add_reseller(session, "team-a", "Team A", email="sales@team-a.example")
        session.flush()
        session.add(listed_partner(PROVIDER, "team-a"))
    return cli_on(db)


def test_delivery_settings_are_set_and_shown_without_secrets(cli):
    shown = cli("delivery", "show", PROVIDER)
    assert shown.exit_code == 0, shown.output
    assert "channel" in shown.output and "log" in shown.output

    email = cli(
        "delivery",
        "set",
        PROVIDER,
        "--channel",
        "email",
        "--smtp-host",
        "smtp.acme.example",
        "--smtp-username",
        "partners",
        "--from-address",
        "partners@acme.example",
        PARTNERFLOW_SMTP_PASSWORD="correct-horse-battery",
    )
    assert email.exit_code == 0, email.output
    assert "smtp.acme.example:587" in email.output and "starttls" in email.output
    assert "correct-horse" not in email.output
    shown = cli("delivery", "show", PROVIDER)
    assert "SMTP password" in shown.output and "set" in shown.output
    assert "correct-horse" not in shown.output

    webhook = cli("delivery", "set", PROVIDER, "--channel", "webhook")
    assert webhook.exit_code == 0, webhook.output
    assert "webhook signing secret  whsec_" in webhook.output
    assert "shown once" in webhook.output
    assert "whsec_" not in cli("delivery", "show", PROVIDER).output
    rotated = cli("delivery", "rotate-secret", PROVIDER)
    assert rotated.exit_code == 0 and "whsec_" in rotated.output


def test_bad_settings_exit_1_saying_why(cli):
    cases = [
        (["--channel", "email"], "the email channel needs an SMTP host and a from address"),
        (["--from-address", "nobody"], "value is not a valid email address"),
        (["--provider-webhook-url", "ftp://x.example"], "must be an http:// or https:// URL"),
    ]
    for options, says in cases:
        result = cli("delivery", "set", PROVIDER, *options)
        assert result.exit_code == 1, result.output
        assert says in result.output, result.output
    unknown = cli("delivery", "set", "globex", "--channel", "log")
    assert unknown.exit_code == 1 and "unknown provider 'globex'" in unknown.output


def test_contacts_are_set_one_field_at_a_time(cli):
    assert "sales@team-a.example" in cli("contacts", "show", PROVIDER, "team-a").output
    first = cli("contacts", "set", PROVIDER, "team-a", "--email", "ops@team-a.example")
    assert first.exit_code == 0, first.output
    second = cli("contacts", "set", PROVIDER, "team-a", "--webhook-url", "https://a.example/h")
    assert second.exit_code == 0, second.output
    assert "ops@team-a.example" in second.output and "https://a.example/h" in second.output
    cleared = cli("contacts", "set", PROVIDER, "team-a", "--email", "")
    assert "ops@team-a.example" not in cleared.output
    bad = cli("contacts", "set", PROVIDER, "team-a", "--webhook-url", "nope")
    assert bad.exit_code == 1 and "webhook_url: must be an http" in bad.output
    unknown = cli("contacts", "show", PROVIDER, "team-nobody")
    assert unknown.exit_code == 1 and "team-nobody is not a partner or" in unknown.output


def send_two_messages_nowhere(cli, db: Database) -> None:
    """A welcome and a recovery to team-a over webhooks, which fail: it has no webhook URL."""
    cli("delivery", "set", PROVIDER, "--channel", "webhook")
    activities = NotificationActivities(db)
    for n, kind in enumerate((NotificationKind.WELCOME, NotificationKind.RECOVERED)):
        request = NotificationRequest(
            idempotency_key=f"partner/acme/team-a/p1/{n}/{kind.value}",
            provider_id=PROVIDER,
            reseller_team_id="team-a",
            kind=kind,
            context=NotificationContext(tier=Tier.SILVER, reason="back to standard"),
        )
        activities.send(request)


def test_the_outbox_lists_messages_and_shows_one_whole(cli, db):
    send_two_messages_nowhere(cli, db)

    listed = cli("outbox", "list", PROVIDER, "--status", "failed")
    assert listed.exit_code == 0, listed.output
    assert "2 message(s)" in listed.output and "no webhook URL for team-a" in listed.output
    assert "1 message(s)" in cli("outbox", "list", PROVIDER, "--kind", "welcome").output
    assert "0 message(s)" in cli("outbox", "list", PROVIDER, "--status", "sent").output

    shown = cli("outbox", "show", PROVIDER, "1")
    assert shown.exit_code == 0, shown.output
    assert "partner/acme/team-a/p1/0/welcome" in shown.output and "Team A" in shown.output
    missing = cli("outbox", "show", PROVIDER, "99")
    assert missing.exit_code == 1 and "no message 99" in missing.output


async def test_failed_messages_are_sent_again_once_the_partner_has_a_contact(
    cli, db, env, programs
):
    send_two_messages_nowhere(cli, db)
    temporal = {
        "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "PARTNERFLOW_TASK_QUEUE": programs.task_queue,
    }

    async def statuses() -> list[str]:
        with db.transaction() as session:
            return list(session.scalars(select(Notification.status).order_by(Notification.id)))

    with webhook_receiver() as receiver:
        cli("contacts", "set", PROVIDER, "team-a", "--webhook-url", receiver.url("/team-a"))
        resent = await asyncio.to_thread(cli, "outbox", "resend", PROVIDER, **temporal)
        assert resent.exit_code == 0, resent.output
        assert resent.output.count("is on its way again: delivery/partner/acme/team-a/") == 2
        await poll_until(statuses, lambda found: found == ["sent", "sent"], timeout=15)
    assert sorted(m["kind"] for m in receiver.messages.values()) == ["recovered", "welcome"]

    again = await asyncio.to_thread(cli, "outbox", "resend", PROVIDER, "1", **temporal)
    assert again.exit_code == 1 and "message 1 is sent" in again.output
    nothing = cli("outbox", "resend", PROVIDER)
    assert nothing.exit_code == 0 and "No bounced or failed message" in nothing.output
