"""The email channel's own check, on the address it actually connects to, as the webhook's: the
SMTP host is resolved once, every address it resolves to must be allowed, and smtplib connects
to the vetted address while TLS checks the certificate for the name. And what a mail server
answers reaches the outbox as the step that failed and the reply code, never the reply's text.

DNS is mocked as in test_webhook_ssrf (tests.activities.conftest); mail servers are real
servers on loopback (tests.receivers).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from pydantic import SecretStr
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.channels import DeliveryRefused
from activities.email_channel import MailServerUnavailable, SmtpChannel
from activities.notifications import NotificationActivities
from devstack.demo_data import GOOD
from models.database import Database
from models.delivery import (
    ChannelKind,
    DeliveryChange,
    DeliveryRequest,
    DeliverySettings,
    SmtpSecurity,
)
from models.notifications import (
    NotificationContext,
    NotificationKind,
    NotificationRequest,
    Recipient,
)
from models.outbound_address import PRIVATE, OutboundPolicy
from models.program import ProgramSettings, Tier
from services.delivery import change_delivery
from tests.activities.conftest import Network, tls_server_context
from tests.activities.test_webhook_ssrf import REFUSED_ANSWERS, SECRET_REPLY, message
from tests.helpers import Program
from tests.models.test_outbound_address import FORBIDDEN
from tests.receivers import mail_server, scripted_mail_server

MAIL = "mail.partner.test"
OTHER = "other.partner.test"
TO = "sales@team-a.example"
FROM = "partners@acme.example"
STRICT = OutboundPolicy()
LOOPBACK = OutboundPolicy.of(False, ["127.0.0.1"])
LEAK = SECRET_REPLY.decode()
"""What an internal service might answer: it must never reach the provider."""
SMTP_ALLOWED_HOSTS = "PARTNERFLOW_SMTP_ALLOWED_HOSTS"

FORBIDDEN_HOSTS = [
    (host, named)
    for url, named in FORBIDDEN
    if ":" not in (host := urlsplit(url).hostname or "")  # IPv6: not an smtpHost (models)
]
"""Each private or local host in a form the smtpHost field takes, and what its refusal names."""


@pytest.fixture(autouse=True)
def product_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """No operator exemptions from the environment: each test passes the policy it means."""
    monkeypatch.delenv(SMTP_ALLOWED_HOSTS, raising=False)


def channel(
    host: str,
    port: int = 587,
    policy: OutboundPolicy = STRICT,
    security: SmtpSecurity = SmtpSecurity.NONE,
    **fields: Any,
) -> SmtpChannel:
    settings = DeliverySettings(
        channel=ChannelKind.EMAIL,
        smtp_host=host,
        smtp_port=port,
        smtp_security=security,
        from_address=FROM,
        **fields,
    )
    return SmtpChannel(settings, timeout=5, policy=policy)


# ---------------------------------------------------------------- refused before any connection


@pytest.mark.parametrize(("host", "named"), FORBIDDEN_HOSTS)
def test_a_private_or_local_host_is_refused_as_written_without_dns(
    network: Network, host: str, named: str
):
    with pytest.raises(DeliveryRefused) as refused:
        channel(host).deliver(message(TO))
    assert str(refused.value) == f"the SMTP host {host} {PRIVATE} ({named})"
    assert network.lookups == [] and network.connections == []


@pytest.mark.parametrize("answer", REFUSED_ANSWERS, ids="+".join)
def test_a_name_that_resolves_to_a_private_address_is_refused_without_connecting(
    network: Network, answer: list[str]
):
    network.answers[MAIL] = answer
    with pytest.raises(DeliveryRefused) as refused:
        channel(MAIL).deliver(message(TO))
    assert str(refused.value).startswith(f"the SMTP host {MAIL} {PRIVATE} ({MAIL} resolves to ")
    assert network.lookups == [MAIL] and network.connections == []


def test_a_name_that_does_not_resolve_is_retried(network: Network):
    network.answers["gone.partner.test"] = []
    with pytest.raises(MailServerUnavailable) as down:
        channel("gone.partner.test").deliver(message(TO))
    assert str(down.value) == "could not resolve gone.partner.test: name or service not known"
    assert network.connections == []


def test_the_operators_allowance_is_for_the_name_or_the_address(network: Network):
    network.answers[MAIL] = ["127.0.0.1"]
    with mail_server() as server:
        for policy in (OutboundPolicy.of(False, [MAIL]), OutboundPolicy.of(False, ["127.0.0.0/8"])):
            channel(MAIL, server.port, policy).deliver(message(TO))
        with pytest.raises(DeliveryRefused, match=r"\(mail.partner.test resolves to 127.0.0.1\)"):
            channel(MAIL, server.port, OutboundPolicy.of(False, ["other.partner.test"])).deliver(
                message(TO)
            )
    assert len(server.mails) == 2


# ---------------------------------------------------------------- connecting to the vetted address


def test_a_name_is_resolved_once_and_the_checked_address_connected_to(network: Network):
    network.answers[MAIL] = ["127.0.0.1"]
    with mail_server() as server:
        channel(MAIL, server.port, OutboundPolicy.of(False, [MAIL])).deliver(message(TO))
    assert [mail["To"] for mail in server.mails] == [TO]
    assert network.lookups == [MAIL], "resolved once: the connection did not look it up again"
    assert network.connections == [("127.0.0.1", server.port)]


def test_the_next_address_is_tried_when_one_refuses_the_connection(network: Network):
    network.answers[MAIL] = ["127.0.0.2", "127.0.0.1"]  # the server listens on 127.0.0.1 only
    with mail_server() as server:
        channel(MAIL, server.port, OutboundPolicy.of(False, [MAIL])).deliver(message(TO))
    assert len(server.mails) == 1
    assert network.connections == [("127.0.0.2", server.port), ("127.0.0.1", server.port)]


def test_a_server_that_is_down_is_retried_saying_where(network: Network):
    with scripted_mail_server() as closed:
        port = closed.port
    network.answers[MAIL] = ["127.0.0.1"]
    with pytest.raises(MailServerUnavailable) as down:
        channel(MAIL, port, OutboundPolicy.of(False, [MAIL])).deliver(message(TO))
    assert str(down.value) == f"could not connect to {MAIL}:{port}: connection refused"


@pytest.fixture
def server_names() -> list[str | None]:
    return []


TlsFor = Callable[[str], ssl.SSLContext]


@pytest.fixture
def tls_for(
    certificates: dict[str, tuple[Path, Path]],
    monkeypatch: pytest.MonkeyPatch,
    server_names: list[str | None],
) -> TlsFor:
    """The mail server's TLS context for a certificate of the name given; the channel trusts
    MAIL's certificate, and the server keeps the name TLS asked for (SNI)."""

    def context(name: str) -> ssl.SSLContext:
        made = tls_server_context(certificates, MAIL, name, monkeypatch)
        made.sni_callback = lambda sock, asked, ctx: server_names.append(asked)
        return made

    return context


def tls_options(security: SmtpSecurity, tls: ssl.SSLContext) -> dict[str, Any]:
    """aiosmtpd's options for a server in this TLS mode."""
    if security is SmtpSecurity.STARTTLS:
        return {"tls_context": tls, "require_starttls": True}
    return {"ssl_context": tls}


@pytest.mark.parametrize("security", [SmtpSecurity.STARTTLS, SmtpSecurity.TLS])
def test_tls_goes_to_the_vetted_address_with_sni_and_the_certificate_checked_for_the_name(
    network: Network, tls_for: TlsFor, server_names: list[str | None], security: SmtpSecurity
):
    network.answers[MAIL] = ["127.0.0.1"]
    with mail_server(**tls_options(security, tls_for(MAIL))) as server:
        channel(MAIL, server.port, LOOPBACK, security).deliver(message(TO))
    assert len(server.mails) == 1
    assert MAIL in server_names
    assert network.lookups == [MAIL]
    assert network.connections == [("127.0.0.1", server.port)]


@pytest.mark.parametrize(
    ("security", "says"),
    [
        (SmtpSecurity.STARTTLS, "the connection to {where} failed during STARTTLS: "),
        (SmtpSecurity.TLS, "could not connect to {where}: "),
    ],
)
def test_a_certificate_is_checked_for_the_name_not_the_address(
    network: Network, tls_for: TlsFor, security: SmtpSecurity, says: str
):
    network.answers[OTHER] = ["127.0.0.1"]  # a name that leads to MAIL's server
    with mail_server(**tls_options(security, tls_for(MAIL))) as server:
        with pytest.raises(MailServerUnavailable) as refused:
            channel(OTHER, server.port, LOOPBACK, security).deliver(message(TO))
    where = f"{OTHER}:{server.port}"
    assert str(refused.value) == says.format(where=where) + (
        f"its TLS certificate was refused (Hostname mismatch, certificate is not valid for "
        f"'{OTHER}'.)"
    )
    assert server.mails == []


def test_a_certificate_no_one_trusts_is_refused(network: Network, tls_for: TlsFor):
    network.answers[OTHER] = ["127.0.0.1"]
    with mail_server(**tls_options(SmtpSecurity.TLS, tls_for(OTHER))) as server:
        with pytest.raises(MailServerUnavailable) as refused:
            channel(OTHER, server.port, LOOPBACK, SmtpSecurity.TLS).deliver(message(TO))
    assert str(refused.value) == (
        f"could not connect to {OTHER}:{server.port}: its TLS certificate was refused "
        "(self-signed certificate)"
    )


# ---------------------------------------------------------------- what the provider is told

SERVER = "the mail server 127.0.0.1"
LOGIN = {"smtp_username": "acme", "smtp_password": SecretStr("s3cret")}

LATER, BOUNCE = MailServerUnavailable, DeliveryRefused
STARTTLS = {"security": SmtpSecurity.STARTTLS}
REPLIES: list[tuple[dict[str, str | None], dict[str, Any], type[Exception], str]] = [
    ({"greeting": f"554 5.3.2 {LEAK}"}, {}, LATER, "refused the connection: SMTP 554"),
    ({"EHLO": f"550 {LEAK}", "HELO": f"551 {LEAK}"}, {}, LATER, "refused our greeting: SMTP 551"),
    ({"STARTTLS": f"454 4.7.0 {LEAK}"}, STARTTLS, LATER, "answered SMTP 454 during STARTTLS"),
    ({"EHLO": "250 mail.partner.test"}, STARTTLS, LATER, "does not offer STARTTLS"),
    ({"AUTH": f"535 5.7.8 {LEAK}"}, LOGIN, LATER, "refused the login: SMTP 535"),
    ({"MAIL": f"553 5.7.1 {LEAK}"}, {}, BOUNCE, f"refused the sender {FROM}: SMTP 553"),
    ({"MAIL": f"451 4.3.0 {LEAK}"}, {}, LATER, f"refused the sender {FROM}: SMTP 451"),
    ({"RCPT": f"550 5.1.1 {LEAK}"}, {}, BOUNCE, f"refused {TO}: SMTP 550"),
    ({"RCPT": f"450 4.2.1 {LEAK}"}, {}, LATER, f"refused {TO}: SMTP 450"),
    ({"DATA": f"554 5.6.0 {LEAK}"}, {}, BOUNCE, f"refused the message to {TO}: SMTP 554"),
    ({".": f"451 4.3.0 {LEAK}"}, {}, LATER, f"refused the message to {TO}: SMTP 451"),
    ({"RCPT": None}, {}, LATER, "closed the connection during the transfer"),
]  # fmt: skip
"""Each server's answers, the channel's settings, and what the channel raises, saying what
the mail server did."""


@pytest.mark.parametrize(("replies", "settings", "raised", "says"), REPLIES)
def test_a_mail_servers_reply_text_is_never_in_the_error(
    replies: dict[str, str | None], settings: dict[str, Any], raised: type[Exception], says: str
):
    with scripted_mail_server(replies) as server:
        with pytest.raises(raised) as failure:
            channel("127.0.0.1", server.port, LOOPBACK, **settings).deliver(message(TO))
    assert type(failure.value) is raised
    assert str(failure.value) == f"{SERVER} {says}"
    assert failure.value.__cause__ is None and failure.value.__suppress_context__


def test_a_bad_answer_to_quit_leaves_the_mail_delivered():
    with scripted_mail_server({"QUIT": f"500 {LEAK}"}) as server:
        channel("127.0.0.1", server.port, LOOPBACK).deliver(message(TO))  # raises nothing
    assert server.commands[-3:] == ["RCPT", "DATA", "QUIT"]


# ---------------------------------------------------------------- the outbox


@pytest.fixture
async def program(db: Database) -> Program:
    program = Program(db, None, ProgramSettings()).create()
    await program.add_reseller("team-a", GOOD)
    return program


def _email_channel(program: Program, port: int) -> None:
    with program.db.transaction() as session:
        change = DeliveryChange(
            channel=ChannelKind.EMAIL,
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_security=SmtpSecurity.NONE,
            from_address=FROM,
        )
        change_delivery(session, program.provider_id, change)


def _welcome(program: Program) -> NotificationRequest:
    return NotificationRequest(
        idempotency_key=f"partner/{program.provider_id}/team-a/p1/0/welcome",
        provider_id=program.provider_id,
        reseller_team_id="team-a",
        kind=NotificationKind.WELCOME,
        recipient=Recipient.PARTNER,
        context=NotificationContext(tier=Tier.SILVER, reason="meets the silver criteria"),
    )


def _deliver(program: Program) -> None:
    activities = NotificationActivities(program.db)
    request = _welcome(program)
    activities.record(request)
    ActivityEnvironment().run(
        activities.deliver_notification, DeliveryRequest(idempotency_key=request.idempotency_key)
    )


async def test_a_host_stored_before_the_rules_bounces_once_saying_why(
    program: Program, monkeypatch: pytest.MonkeyPatch
):
    with scripted_mail_server() as server:
        monkeypatch.setenv(SMTP_ALLOWED_HOSTS, "127.0.0.1")
        _email_channel(program, server.port)
        monkeypatch.delenv(SMTP_ALLOWED_HOSTS)  # the operator takes the exemption back
        with pytest.raises(ApplicationError) as raised:
            _deliver(program)
    assert raised.value.non_retryable
    assert server.commands == [], "nothing was sent"
    [row] = program.notifications("team-a", "welcome")
    assert (row.status, row.attempts) == ("bounced", 1)
    assert row.last_error == f"the SMTP host 127.0.0.1 {PRIVATE} (127.0.0.1)"


@pytest.mark.parametrize(
    ("replies", "status", "last_error"),
    [
        ({"RCPT": f"550 5.1.1 {LEAK}"}, "bounced", f"{SERVER} refused {{to}}: SMTP 550"),
        (
            {".": f"451 4.3.0 {LEAK}"},
            "sending",
            f"MailServerUnavailable: {SERVER} refused the message to {{to}}: SMTP 451",
        ),
    ],
)
async def test_the_outbox_keeps_the_step_and_the_code_never_the_reply(
    program: Program,
    monkeypatch: pytest.MonkeyPatch,
    replies: dict[str, str | None],
    status: str,
    last_error: str,
):
    monkeypatch.setenv(SMTP_ALLOWED_HOSTS, "127.0.0.1")
    with scripted_mail_server(replies) as server:
        _email_channel(program, server.port)
        with pytest.raises((ApplicationError, MailServerUnavailable)) as raised:
            _deliver(program)
    [row] = program.notifications("team-a", "welcome")
    assert row.status == status
    assert row.last_error == last_error.format(to=row.address)
    assert "internal-token" not in str(raised.value) and "6379" not in str(raised.value)
    assert raised.value.__cause__ is None
