"""The email and webhook channels against real servers on loopback: what they send, how they
sign, and which failures are retried and which bounce for good."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from pydantic import SecretStr

from activities.channels import DeliveryRefused
from activities.email_channel import MailServerUnavailable, SmtpChannel
from activities.webhook_channel import WebhookChannel, WebhookUnavailable
from models.delivery import ChannelKind, DeliverySettings, OutgoingMessage, SmtpSecurity
from models.notifications import NotificationKind, Recipient
from tests.receivers import WebhookRequest, mail_server, webhook_receiver
from tests.workers.processes import free_port

SECRET = "whsec_test-secret-of-the-provider"
KEY = "partner/acme/team-a/run-1/3/at_risk_warning"

pytestmark = pytest.mark.usefixtures("local_webhooks", "local_mail")  # receivers on loopback


def message(address: str, key: str = KEY) -> OutgoingMessage:
    return OutgoingMessage(
        idempotency_key=key,
        provider_id="acme",
        reseller_team_id="team-a",
        recipient=Recipient.PARTNER,
        kind=NotificationKind.AT_RISK_WARNING,
        address=address,
        subject="Action needed: your silver status is at risk",
        body="completion 80.0% < 95.0%\nDéjà vu: keep your benefits until 2026-12-01.\n",
        created_at=datetime(2026, 11, 1, 12, tzinfo=UTC),
    )


def smtp(
    port: int, security: SmtpSecurity = SmtpSecurity.NONE, timeout: float = 10, **fields: Any
) -> SmtpChannel:
    settings = DeliverySettings(
        channel=ChannelKind.EMAIL,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security=security,
        from_address="partners@acme.example",
        **fields,
    )
    return SmtpChannel(settings, timeout=timeout)


def test_a_mail_carries_the_message_and_a_message_id_derived_from_its_key():
    with mail_server() as server:
        smtp(server.port).deliver(message("sales@team-a.example"))
        smtp(server.port).deliver(message("sales@team-a.example"))  # a retry of the same key
        smtp(server.port).deliver(message("sales@team-a.example", key=KEY + "-other"))
    first, retry, other = server.mails
    assert first["To"] == "sales@team-a.example"
    assert first["From"] == "partners@acme.example"
    assert first["Subject"] == "Action needed: your silver status is at risk"
    assert first["Idempotency-Key"] == KEY
    assert first["Message-ID"] == retry["Message-ID"] != other["Message-ID"]
    assert first["Message-ID"].endswith("@acme.example>")
    assert "Déjà vu" in first.get_content() and "completion 80.0% < 95.0%" in first.get_content()


def test_a_refused_mailbox_bounces_for_good():
    with mail_server(refuse={"gone@team-a.example"}) as server:
        with pytest.raises(DeliveryRefused, match="refused gone@team-a.example: SMTP 550$"):
            smtp(server.port).deliver(message("gone@team-a.example"))
    assert server.mails == []


def test_a_mail_server_that_is_down_is_retried():
    port = free_port()
    with pytest.raises(MailServerUnavailable) as down:
        smtp(port).deliver(message("sales@team-a.example"))
    assert str(down.value) == f"could not connect to 127.0.0.1:{port}: connection refused"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def trusted(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """The server's TLS context; the channel trusts the certificate as it trusts a CA's."""
    cert, key = certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def _authenticator(logins: list[str]) -> Any:
    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"acme",
            b"s3cret",
        )
        if ok:
            logins.append(mechanism)
        return AuthResult(success=ok)

    return authenticate


@pytest.fixture
def login_server(trusted: ssl.SSLContext) -> Iterator[Any]:
    logins: list[str] = []
    with mail_server(
        tls_context=trusted,
        require_starttls=True,
        auth_required=True,
        authenticator=_authenticator(logins),
    ) as server:
        server.logins = logins
        yield server


def test_starttls_and_login(login_server):
    channel = smtp(
        login_server.port,
        SmtpSecurity.STARTTLS,
        smtp_username="acme",
        smtp_password=SecretStr("s3cret"),
    )
    channel.deliver(message("sales@team-a.example"))
    assert len(login_server.mails) == 1 and login_server.logins


def test_a_wrong_password_is_retried_not_bounced(login_server):
    channel = smtp(
        login_server.port,
        SmtpSecurity.STARTTLS,
        smtp_username="acme",
        smtp_password=SecretStr("wrong"),
        timeout=1,  # aiosmtpd stops answering after the refused login
    )
    with pytest.raises(MailServerUnavailable) as raised:
        channel.deliver(message("sales@team-a.example"))
    assert "during the login" in str(raised.value), "retried, saying where it failed"
    assert login_server.mails == []


def test_tls_from_the_first_byte(trusted):
    with mail_server(ssl_context=trusted) as server:
        smtp(server.port, SmtpSecurity.TLS).deliver(message("sales@team-a.example"))
    assert len(server.mails) == 1


def test_the_webhook_is_signed_and_a_tampered_body_fails_the_check():
    with webhook_receiver(secret=SECRET) as receiver:
        WebhookChannel(SECRET).deliver(message(receiver.url()))
    [request] = receiver.requests
    assert receiver.unsigned == []
    assert request.key == KEY
    assert request.headers["content-type"] == "application/json"
    assert request.payload == {
        "id": KEY,
        "kind": "at_risk_warning",
        "providerId": "acme",
        "resellerTeamId": "team-a",
        "recipient": "partner",
        "subject": "Action needed: your silver status is at risk",
        "text": "completion 80.0% < 95.0%\nDéjà vu: keep your benefits until 2026-12-01.\n",
        "createdAt": "2026-11-01T12:00:00+00:00",
    }
    assert request.verified(SECRET)
    tampered = request.body.replace(b"at_risk_warning", b"welcome")
    assert not request.verified(SECRET, tampered)
    assert not request.verified("whsec_another-secret-entirely")
    stale = dict(request.headers, **{"partnerflow-timestamp": "1700000000"})
    assert not WebhookRequest(request.path, stale, request.body).verified(SECRET)


def test_a_webhook_with_another_secret_is_refused_by_the_receiver():
    with webhook_receiver(secret=SECRET) as receiver:
        with pytest.raises(DeliveryRefused, match="HTTP 401"):
            WebhookChannel("whsec_not-the-receivers-secret").deliver(message(receiver.url()))
    assert receiver.unsigned and receiver.messages == {}


@pytest.mark.parametrize("status", [500, 503, 408, 429])
def test_webhook_answers_that_say_later_are_retried(status: int):
    with webhook_receiver(answer=lambda request, earlier: status) as receiver:
        with pytest.raises(WebhookUnavailable, match=f"HTTP {status}"):
            WebhookChannel(SECRET).deliver(message(receiver.url()))


@pytest.mark.parametrize("status", [400, 404, 410, 301])
def test_other_webhook_answers_bounce_for_good(status: int):
    with webhook_receiver(answer=lambda request, earlier: status) as receiver:
        with pytest.raises(DeliveryRefused, match=f"HTTP {status}"):
            WebhookChannel(SECRET).deliver(message(receiver.url()))


def test_a_webhook_that_is_down_is_retried():
    with pytest.raises(
        WebhookUnavailable, match="could not connect to 127.0.0.1: connection refused"
    ):
        WebhookChannel(SECRET).deliver(message(f"http://127.0.0.1:{free_port()}/hook"))


def readme_verify() -> Any:
    """The `verify` function README's "Webhook signatures" gives partners, as printed there."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("### Webhook signatures", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    return namespace["verify"]


def test_the_readme_snippet_verifies_a_real_webhook_and_refuses_a_tampered_one():
    verify = readme_verify()
    with webhook_receiver() as receiver:
        WebhookChannel(SECRET).deliver(message(receiver.url()))
    [request] = receiver.requests
    timestamp = request.headers["partnerflow-timestamp"]
    signature = request.headers["partnerflow-signature"]
    assert verify(SECRET, timestamp, signature, request.body)
    assert not verify(SECRET, timestamp, signature, request.body + b" ")
    assert not verify(SECRET, str(int(timestamp) - 3600), signature, request.body)
