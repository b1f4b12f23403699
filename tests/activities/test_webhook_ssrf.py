"""The webhook channel's own check, on the address it actually connects to: a name is resolved
once, every address it resolves to must be allowed, and the request goes to the vetted address
with the name kept for the Host header and TLS. Receivers are real servers on loopback.

DNS is mocked (socket.getaddrinfo answers from a table for the test's names): no resolver we
control runs here, and a name that resolves to 127.0.0.1 is what a DNS-rebinding attacker
would serve.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.channels import DeliveryRefused
from activities.notifications import NotificationActivities
from activities.webhook_channel import WebhookChannel, WebhookUnavailable
from devstack.demo_data import GOOD
from models.database import Database
from models.delivery import ChannelKind, DeliveryChange, DeliveryRequest, OutgoingMessage
from models.notifications import (
    NotificationContext,
    NotificationKind,
    NotificationRequest,
    Recipient,
)
from models.outbound_address import OutboundPolicy
from models.program import ProgramSettings, Tier
from models.schema import PartnerContactRow, utcnow
from services.delivery import change_delivery
from tests.activities.conftest import Network, tls_server_context
from tests.helpers import Program
from tests.workers.processes import free_port

SECRET = "whsec_ssrf-test-signing-secret"
NAME = "hooks.partner.test"
STRICT = OutboundPolicy()
"""The product's default: public hosts over https only."""
SECRET_REPLY = b"internal-token=sk_live_DO-NOT-SHOW; redis 7.2 on 10.0.3.4:6379"
"""What an internal service might answer: it must never reach the provider."""


@pytest.fixture(autouse=True)
def product_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """No operator exemptions from the environment: each test passes the policy it means."""
    monkeypatch.delenv("PARTNERFLOW_WEBHOOK_ALLOW_HTTP", raising=False)
    monkeypatch.delenv("PARTNERFLOW_WEBHOOK_ALLOWED_HOSTS", raising=False)


def message(address: str) -> OutgoingMessage:
    return OutgoingMessage(
        idempotency_key="partner/acme/team-a/run-1/0/welcome",
        provider_id="acme",
        reseller_team_id="team-a",
        recipient=Recipient.PARTNER,
        kind=NotificationKind.WELCOME,
        address=address,
        subject="Welcome",
        body="Welcome to the program.\n",
        created_at=datetime(2026, 11, 1, 12, tzinfo=UTC),
    )


@dataclass
class Receiver:
    """A server on 127.0.0.1 that answers every POST the same way, and keeps each request's
    Host header and the server name TLS asked for."""

    status: int = 200
    reply: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    port: int = 0
    hosts: list[str] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            receiver.hosts.append(self.headers.get("Host", ""))
            self.send_response(receiver.status)
            for name, value in receiver.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(receiver.reply)))
            self.end_headers()
            self.wfile.write(receiver.reply)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a refused TLS handshake is what some tests want


@contextmanager
def receiver_on_loopback(receiver: Receiver, tls: ssl.SSLContext | None = None) -> Iterator[None]:
    server = _QuietServer(("127.0.0.1", 0), _handler(receiver))
    if tls is not None:
        tls.sni_callback = lambda sock, name, context: receiver.server_names.append(name)
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------- refused before any connection

REFUSED_ANSWERS = [
    ["127.0.0.1"],
    ["10.0.0.5"],
    ["169.254.169.254"],
    ["100.64.0.1"],
    ["0.0.0.0"],
    ["::1"],
    ["::ffff:127.0.0.1"],
    ["fd00:ec2::254"],
    ["fe80::1"],
    ["93.184.215.14", "127.0.0.1"],  # one bad address among good ones is enough
]


@pytest.mark.parametrize("answer", REFUSED_ANSWERS, ids="+".join)
def test_a_name_that_resolves_to_a_private_address_is_refused_without_connecting(
    network: Network, answer: list[str]
):
    network.answers[NAME] = answer
    with pytest.raises(DeliveryRefused) as refused:
        WebhookChannel(SECRET, policy=STRICT).deliver(message(f"https://{NAME}/hook"))
    assert "must not point at a private or local address" in str(refused.value)
    assert f"({NAME} resolves to " in str(refused.value)
    assert network.lookups == [NAME] and network.connections == []


@pytest.mark.parametrize(
    ("address", "says"),
    [
        ("https://127.0.0.1:8443/hook", "must not point at a private or local address (127.0.0.1)"),
        ("https://2130706433/hook", "(2130706433 is 127.0.0.1)"),
        ("https://0x7f.1/hook", "(0x7f.1 is 127.0.0.1)"),
        ("https://[::ffff:169.254.169.254]/", "(::ffff:169.254.169.254 is 169.254.169.254)"),
        ("https://localhost/hook", "(localhost)"),
        (f"http://{NAME}/hook", "must be an https:// URL: plain http:// is not allowed"),
    ],
)
def test_a_url_refused_as_written_never_reaches_dns(network: Network, address: str, says: str):
    network.answers[NAME] = ["93.184.215.14"]
    with pytest.raises(DeliveryRefused) as refused:
        WebhookChannel(SECRET, policy=STRICT).deliver(message(address))
    assert str(refused.value).startswith(f"the webhook URL {address} ")
    assert says in str(refused.value)
    assert network.lookups == [] and network.connections == []


def test_a_name_that_does_not_resolve_is_retried(network: Network):
    network.answers["gone.partner.test"] = []
    with pytest.raises(WebhookUnavailable) as down:
        WebhookChannel(SECRET, policy=STRICT).deliver(message("https://gone.partner.test/h"))
    assert str(down.value) == "could not resolve gone.partner.test: name or service not known"
    assert network.connections == []


# ---------------------------------------------------------------- connecting to the vetted address


def test_an_allowed_name_is_reached_at_the_address_checked_with_its_own_host_header(
    network: Network,
):
    receiver = Receiver()
    network.answers[NAME] = ["127.0.0.1"]
    policy = OutboundPolicy.of(True, [NAME])
    with receiver_on_loopback(receiver):
        WebhookChannel(SECRET, policy=policy).deliver(message(f"http://{NAME}:{receiver.port}/h"))
    assert receiver.hosts == [f"{NAME}:{receiver.port}"]
    assert network.lookups == [NAME], "resolved once: the connection did not look it up again"
    assert network.connections == [("127.0.0.1", receiver.port)]


def test_an_allowed_address_lets_any_name_that_resolves_to_it_through(network: Network):
    receiver = Receiver()
    network.answers["rebind.partner.test"] = ["127.0.0.1"]
    policy = OutboundPolicy.of(True, ["127.0.0.0/8"])
    with receiver_on_loopback(receiver):
        address = f"http://rebind.partner.test:{receiver.port}/h"
        WebhookChannel(SECRET, policy=policy).deliver(message(address))
    assert receiver.hosts == [f"rebind.partner.test:{receiver.port}"]
    assert network.connections == [("127.0.0.1", receiver.port)]


def test_the_next_address_is_tried_when_one_refuses_the_connection(network: Network):
    receiver = Receiver()
    closed = free_port()
    network.answers[NAME] = ["127.0.0.2", "127.0.0.1"]
    policy = OutboundPolicy.of(True, [NAME])
    with receiver_on_loopback(receiver):
        for port, reached in ((closed, False), (receiver.port, True)):
            channel = WebhookChannel(SECRET, policy=policy)
            if reached:
                channel.deliver(message(f"http://{NAME}:{port}/h"))
                continue
            with pytest.raises(WebhookUnavailable) as down:
                channel.deliver(message(f"http://{NAME}:{port}/h"))
            assert str(down.value) == f"could not connect to {NAME}: connection refused"
    assert network.connections[:2] == [("127.0.0.2", closed), ("127.0.0.1", closed)]
    assert receiver.hosts == [f"{NAME}:{receiver.port}"]


def test_https_goes_to_the_vetted_address_with_sni_and_the_certificate_checked_for_the_name(
    network: Network, certificates: dict[str, tuple[Path, Path]], monkeypatch: pytest.MonkeyPatch
):
    receiver = Receiver()
    network.answers[NAME] = ["127.0.0.1"]
    tls = tls_server_context(certificates, NAME, NAME, monkeypatch)
    with receiver_on_loopback(receiver, tls):
        channel = WebhookChannel(SECRET, policy=OutboundPolicy.of(False, ["127.0.0.1"]))
        channel.deliver(message(f"https://{NAME}:{receiver.port}/h"))
    assert receiver.server_names == [NAME]
    assert receiver.hosts == [f"{NAME}:{receiver.port}"]
    assert network.connections == [("127.0.0.1", receiver.port)]


def test_a_certificate_for_another_name_is_refused(
    network: Network, certificates: dict[str, tuple[Path, Path]], monkeypatch: pytest.MonkeyPatch
):
    receiver = Receiver()
    network.answers[NAME] = ["127.0.0.1"]
    tls = tls_server_context(certificates, NAME, "other.partner.test", monkeypatch)
    with receiver_on_loopback(receiver, tls):
        channel = WebhookChannel(SECRET, policy=OutboundPolicy.of(False, ["127.0.0.1"]))
        with pytest.raises(WebhookUnavailable, match="its TLS certificate was refused"):
            channel.deliver(message(f"https://{NAME}:{receiver.port}/h"))
    assert receiver.hosts == []


# ---------------------------------------------------------------- what the provider is told

LOOPBACK = OutboundPolicy.of(True, ["127.0.0.1"])


@pytest.mark.parametrize(("status", "refusal"), [(500, WebhookUnavailable), (400, DeliveryRefused)])
def test_the_receivers_reply_is_never_in_the_error(status: int, refusal: type[Exception]):
    receiver = Receiver(status=status, reply=SECRET_REPLY)
    with receiver_on_loopback(receiver):
        address = f"http://127.0.0.1:{receiver.port}/h"
        with pytest.raises(refusal) as raised:
            WebhookChannel(SECRET, policy=LOOPBACK).deliver(message(address))
    assert str(raised.value).endswith(f"HTTP {status}")
    assert b"internal-token" not in str(raised.value).encode()


def test_a_redirect_is_not_followed_and_its_target_not_shown():
    inside = f"http://127.0.0.1:{free_port()}/admin?token=abc"
    receiver = Receiver(status=302, reply=SECRET_REPLY, headers={"Location": inside})
    with receiver_on_loopback(receiver):
        address = f"http://127.0.0.1:{receiver.port}/h"
        with pytest.raises(DeliveryRefused) as refused:
            WebhookChannel(SECRET, policy=LOOPBACK).deliver(message(address))
    assert len(receiver.hosts) == 1
    assert "HTTP 302 (a redirect, which is not followed" in str(refused.value)
    assert inside not in str(refused.value) and "internal-token" not in str(refused.value)


# ---------------------------------------------------------------- stored before the rules


@pytest.fixture
def program(db: Database) -> Program:
    program = Program(db, None, ProgramSettings()).create()
    with db.transaction() as session:
        change_delivery(
            session,
            program.provider_id,
            DeliveryChange(channel=ChannelKind.WEBHOOK, webhook_secret=SecretStr(SECRET)),
        )
    return program


def _stored_before_the_rules(program: Program, team: str, url: str) -> None:
    """A contact saved before webhook URLs were checked: written as it was, unchecked."""
    with program.db.transaction() as session:
        session.add(
            PartnerContactRow(
                provider_id=program.provider_id,
                reseller_team_id=team,
                webhook_url=url,
                updated_at=utcnow(),
            )
        )


def _welcome(program: Program, team: str) -> NotificationRequest:
    return NotificationRequest(
        idempotency_key=f"partner/{program.provider_id}/{team}/p1/0/welcome",
        provider_id=program.provider_id,
        reseller_team_id=team,
        kind=NotificationKind.WELCOME,
        recipient=Recipient.PARTNER,
        context=NotificationContext(tier=Tier.SILVER, reason="meets the silver criteria"),
    )


async def test_a_stored_url_now_refused_bounces_once_saying_why(program: Program):
    team = await program.add_reseller("team-old", GOOD)
    receiver = Receiver()
    with receiver_on_loopback(receiver):
        url = f"http://127.0.0.1:{receiver.port}/old"
        _stored_before_the_rules(program, team, url)
        activities = NotificationActivities(program.db)
        request = _welcome(program, team)
        activities.record(request)
        with pytest.raises(ApplicationError) as raised:
            ActivityEnvironment().run(
                activities.deliver_notification,
                DeliveryRequest(idempotency_key=request.idempotency_key),
            )
    assert raised.value.non_retryable
    assert receiver.hosts == [], "nothing was sent"
    [row] = program.notifications(team, "welcome")
    assert (row.status, row.attempts) == ("bounced", 1)
    assert row.last_error == (
        f"the webhook URL {url} must be an https:// URL: plain http:// is not allowed"
    )
    assert row.last_error in str(raised.value)


async def test_the_outbox_and_the_activity_failure_keep_only_the_status_code(
    program: Program, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("PARTNERFLOW_WEBHOOK_ALLOW_HTTP", "true")
    monkeypatch.setenv("PARTNERFLOW_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")
    team = await program.add_reseller("team-leaky", GOOD)
    receiver = Receiver(status=503, reply=SECRET_REPLY)
    with receiver_on_loopback(receiver):
        url = f"http://127.0.0.1:{receiver.port}/h"
        _stored_before_the_rules(program, team, url)
        activities = NotificationActivities(program.db)
        request = _welcome(program, team)
        activities.record(request)
        with pytest.raises(WebhookUnavailable) as raised:
            ActivityEnvironment().run(
                activities.deliver_notification,
                DeliveryRequest(idempotency_key=request.idempotency_key),
            )
    [row] = program.notifications(team, "welcome")
    assert row.last_error == f"WebhookUnavailable: the webhook at {url} answered HTTP 503"
    assert str(raised.value) == f"the webhook at {url} answered HTTP 503"
    assert raised.value.__cause__ is None
