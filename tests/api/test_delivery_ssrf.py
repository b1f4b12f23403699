"""Webhook URLs and SMTP hosts over HTTP: a provider cannot point its own or a partner's webhook,
nor its mail server, at the operator's network (422, the field named), the operator's settings
open up what they say, a URL or host stored before the rules still reads, and the outbox shows
a receiver's status code or a mail server's reply code, never its reply. These routes need no
Temporal: the app runs on the database alone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, cast

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client

from activities.email_channel import MailServerUnavailable
from activities.notifications import NotificationActivities
from activities.webhook_channel import WebhookUnavailable
from api.app import create_app
from api.deps import Services
from devstack.demo_data import GOOD
from models.database import Database
from models.delivery import ChannelKind, DeliveryChange
from models.notifications import (
    NotificationContext,
    NotificationKind,
    NotificationRequest,
    Recipient,
)
from models.program import ProgramSettings, Tier
from models.schema import DeliverySettingsRow, PartnerContactRow, utcnow
from services.delivery import change_delivery
from services.providers import issue_key
from tests.activities.test_smtp_ssrf import FORBIDDEN_HOSTS, LEAK
from tests.activities.test_webhook_ssrf import SECRET_REPLY, Receiver, receiver_on_loopback
from tests.api.conftest import ProviderApi
from tests.helpers import Program
from tests.models.test_outbound_address import FORBIDDEN
from tests.receivers import scripted_mail_server

DELIVERY = "/provider/delivery"
NOTIFICATIONS = "/provider/notifications"
TEAM = "team-hooks"
ALLOW_HTTP = "PARTNERFLOW_WEBHOOK_ALLOW_HTTP"
ALLOWED_HOSTS = "PARTNERFLOW_WEBHOOK_ALLOWED_HOSTS"
SMTP_ALLOWED_HOSTS = "PARTNERFLOW_SMTP_ALLOWED_HOSTS"


@pytest.fixture(autouse=True)
def product_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """No operator exemptions unless a test sets them."""
    monkeypatch.delenv(ALLOW_HTTP, raising=False)
    monkeypatch.delenv(ALLOWED_HOSTS, raising=False)
    monkeypatch.delenv(SMTP_ALLOWED_HOSTS, raising=False)


@pytest.fixture
async def api(db: Database) -> AsyncIterator[ProviderApi]:
    """One provider with a reseller of its own, over the app on the database alone."""
    program = Program(db, None, ProgramSettings()).create()
    await program.add_reseller(TEAM, GOOD)
    with db.transaction() as session:
        key = issue_key(session, program.provider_id)
    no_temporal = cast(Client, None)  # the routes tested here never call Temporal
    app = create_app(Services(db=db, client=no_temporal, task_queue="unused"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://partnerflow") as http:
        yield ProviderApi(program, key, http)


def contact_url(team: str = TEAM) -> str:
    return f"/provider/partners/{team}/contact"


async def refused(api: ProviderApi, url: str, body: dict[str, Any]) -> str:
    response = await (api.put(url, body) if url != DELIVERY else api.patch(url, body))
    assert response.status_code == 422, (body, response.text)
    detail: str = response.json()["detail"]
    return detail


@pytest.mark.parametrize(("url", "named"), FORBIDDEN)
async def test_a_partners_webhook_into_the_operators_network_is_refused(
    api: ProviderApi, url: str, named: str
):
    detail = await refused(api, contact_url(), {"webhookUrl": url})
    assert detail == f"webhookUrl: must not point at a private or local address ({named})"
    assert (await api.get(contact_url())).json()["webhookUrl"] is None, "nothing stored"


@pytest.mark.parametrize(("url", "named"), FORBIDDEN)
async def test_the_providers_own_webhook_into_the_operators_network_is_refused(
    api: ProviderApi, url: str, named: str
):
    detail = await refused(api, DELIVERY, {"channel": "webhook", "providerWebhookUrl": url})
    assert detail == f"providerWebhookUrl: must not point at a private or local address ({named})"
    view = (await api.get(DELIVERY)).json()
    assert (view["channel"], view["providerWebhookUrl"]) == ("log", None), "nothing changed"


async def test_plain_http_needs_the_operators_setting(
    api: ProviderApi, monkeypatch: pytest.MonkeyPatch
):
    http_url = "http://hooks.team-hooks.example/partnerflow"
    detail = await refused(api, contact_url(), {"webhookUrl": http_url})
    assert detail == "webhookUrl: must be an https:// URL: plain http:// is not allowed"
    detail = await refused(api, DELIVERY, {"providerWebhookUrl": http_url})
    assert detail == "providerWebhookUrl: must be an https:// URL: plain http:// is not allowed"

    monkeypatch.setenv(ALLOW_HTTP, "true")
    assert (await api.put(contact_url(), {"webhookUrl": http_url})).status_code == 200
    assert (await api.patch(DELIVERY, {"providerWebhookUrl": http_url})).status_code == 200


async def test_the_operators_allowed_hosts_are_accepted_and_no_others(
    api: ProviderApi, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv(ALLOW_HTTP, "true")
    monkeypatch.setenv(ALLOWED_HOSTS, "localhost,127.0.0.1,10.0.0.0/8")
    for url in ("http://localhost:8080/h", "http://127.0.0.1:9000/h", "https://10.1.2.3/h"):
        response = await api.put(contact_url(), {"webhookUrl": url})
        assert response.status_code == 200, (url, response.text)
        assert response.json()["webhookUrl"] == url
        response = await api.patch(DELIVERY, {"providerWebhookUrl": url})
        assert response.status_code == 200, (url, response.text)
    detail = await refused(api, contact_url(), {"webhookUrl": "http://192.168.0.10/h"})
    assert detail == "webhookUrl: must not point at a private or local address (192.168.0.10)"


async def test_a_url_stored_before_the_rules_still_reads_and_other_fields_still_change(
    api: ProviderApi,
):
    old = "http://127.0.0.1:6379/"
    with api.program.db.transaction() as session:
        session.add(
            PartnerContactRow(
                provider_id=api.provider_id,
                reseller_team_id=TEAM,
                webhook_url=old,
                updated_at=utcnow(),
            )
        )
    read = await api.get(contact_url())
    assert read.status_code == 200 and read.json()["webhookUrl"] == old
    kept = await api.put(contact_url(), {"email": "ops@team-hooks.example", "webhookUrl": old})
    assert kept.status_code == 200, "kept as it is: delivery refuses it, saying why"
    moved = await refused(api, contact_url(), {"webhookUrl": "http://127.0.0.1:6380/"})
    assert moved.startswith("webhookUrl: must be an https:// URL")


async def test_the_outbox_shows_the_receivers_status_never_its_reply(
    api: ProviderApi, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv(ALLOW_HTTP, "true")
    monkeypatch.setenv(ALLOWED_HOSTS, "127.0.0.1")
    db = api.program.db
    with db.transaction() as session:
        change = DeliveryChange(channel=ChannelKind.WEBHOOK, webhook_secret=SecretStr("w" * 16))
        change_delivery(session, api.provider_id, change)
    activities = NotificationActivities(db)
    told = []
    for status in (500, 404):
        receiver = Receiver(status=status, reply=SECRET_REPLY)
        with receiver_on_loopback(receiver):
            url = f"http://127.0.0.1:{receiver.port}/{status}"
            assert (await api.put(contact_url(), {"webhookUrl": url})).status_code == 200
            key = f"partner/{api.provider_id}/{TEAM}/p1/{status}/welcome"
            activities.record(_welcome(api.provider_id, key))
            if status == 500:
                with pytest.raises(WebhookUnavailable) as retried:  # the activity is retried
                    activities.deliver(key)
                assert "internal-token" not in str(retried.value)
                told.append(f"WebhookUnavailable: the webhook at {url} answered HTTP 500")
            else:
                assert activities.deliver(key).status == "bounced"
                told.append(f"the webhook at {url} refused the message: HTTP 404")
        assert receiver.hosts, "the receiver answered, with its reply"

    page = await api.get(NOTIFICATIONS)
    assert page.status_code == 200, page.text
    assert sorted(item["lastError"] for item in page.json()["items"]) == sorted(told)
    for item in page.json()["items"]:
        one = await api.get(f"{NOTIFICATIONS}/{item['id']}")
        assert one.status_code == 200 and "internal-token" not in one.text
    assert "internal-token" not in page.text and "10.0.3.4:6379" not in page.text


EMAIL = {"channel": "email", "fromAddress": "partners@acme.example"}


@pytest.mark.parametrize(("host", "named"), FORBIDDEN_HOSTS)
async def test_a_mail_server_in_the_operators_network_is_refused(
    api: ProviderApi, host: str, named: str
):
    detail = await refused(api, DELIVERY, {**EMAIL, "smtpHost": host})
    assert detail == f"smtpHost: must not point at a private or local address ({named})"
    view = (await api.get(DELIVERY)).json()
    assert (view["channel"], view["smtpHost"]) == ("log", None), "nothing changed"


@pytest.mark.parametrize("host", ["[::1]", "::1", "::ffff:169.254.169.254", "fd00:ec2::254"])
async def test_an_ipv6_mail_server_is_refused_naming_the_field(api: ProviderApi, host: str):
    detail = await refused(api, DELIVERY, {**EMAIL, "smtpHost": host})
    assert detail.startswith("smtpHost: must be a host name or IP address")


async def test_the_operators_allowed_mail_servers_are_accepted_and_no_others(
    api: ProviderApi, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv(ALLOW_HTTP, "true")
    monkeypatch.setenv(ALLOWED_HOSTS, "localhost,127.0.0.1")
    detail = await refused(api, DELIVERY, {**EMAIL, "smtpHost": "localhost"})
    assert detail == "smtpHost: must not point at a private or local address (localhost)", (
        "the webhooks' exemptions open no mail server"
    )

    monkeypatch.setenv(SMTP_ALLOWED_HOSTS, "localhost,127.0.0.1,10.0.0.0/8")
    for host in ("localhost", "127.0.0.1", "2130706433", "10.1.2.3"):
        response = await api.patch(DELIVERY, {**EMAIL, "smtpHost": host, "smtpPort": 1025})
        assert response.status_code == 200, (host, response.text)
        assert response.json()["smtpHost"] == host
    detail = await refused(api, DELIVERY, {"smtpHost": "192.168.0.10"})
    assert detail == "smtpHost: must not point at a private or local address (192.168.0.10)"


async def test_a_mail_server_stored_before_the_rules_still_reads_and_other_fields_change(
    api: ProviderApi,
):
    with api.program.db.transaction() as session:
        session.add(
            DeliverySettingsRow(
                provider_id=api.provider_id,
                channel="email",
                smtp_host="127.0.0.1",
                smtp_port=25,
                smtp_security="none",
                from_address="partners@acme.example",
                updated_at=utcnow(),
            )
        )
    assert (await api.get(DELIVERY)).json()["smtpHost"] == "127.0.0.1"
    kept = await api.patch(DELIVERY, {"smtpPort": 2525})
    assert kept.status_code == 200, "kept as it is: delivery refuses it, saying why"
    assert (kept.json()["smtpHost"], kept.json()["smtpPort"]) == ("127.0.0.1", 2525)
    moved = await refused(api, DELIVERY, {"smtpHost": "0x7f.2"})
    assert moved == "smtpHost: must not point at a private or local address (0x7f.2 is 127.0.0.2)"


async def test_the_outbox_shows_the_mail_servers_code_never_its_reply(
    api: ProviderApi, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv(SMTP_ALLOWED_HOSTS, "127.0.0.1")
    db = api.program.db
    activities = NotificationActivities(db)
    told = []
    for step, code in (("RCPT", 550), (".", 451)):
        with scripted_mail_server({step: f"{code} 5.0.0 {LEAK}"}) as server:
            body = {**EMAIL, "smtpHost": "127.0.0.1", "smtpPort": server.port}
            assert (await api.patch(DELIVERY, {**body, "smtpSecurity": "none"})).status_code == 200
            key = f"partner/{api.provider_id}/{TEAM}/p1/{code}/welcome"
            to = activities.record(_welcome(api.provider_id, key)).address
            if code == 550:
                assert activities.deliver(key).status == "bounced"
                told.append(f"the mail server 127.0.0.1 refused {to}: SMTP 550")
            else:
                with pytest.raises(MailServerUnavailable):  # the activity is retried
                    activities.deliver(key)
                told.append(
                    "MailServerUnavailable: the mail server 127.0.0.1 refused the message to "
                    f"{to}: SMTP 451"
                )
        assert server.commands, "the server answered, with its reply"

    page = await api.get(NOTIFICATIONS)
    assert page.status_code == 200, page.text
    assert sorted(item["lastError"] for item in page.json()["items"]) == sorted(told)
    assert "internal-token" not in page.text and "10.0.3.4:6379" not in page.text


def _welcome(provider_id: str, key: str) -> NotificationRequest:
    return NotificationRequest(
        idempotency_key=key,
        provider_id=provider_id,
        reseller_team_id=TEAM,
        kind=NotificationKind.WELCOME,
        recipient=Recipient.PARTNER,
        context=NotificationContext(tier=Tier.SILVER, reason="meets the silver criteria"),
    )
