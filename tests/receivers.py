"""Real receivers on loopback for the delivery tests: a mail server (aiosmtpd), one that
answers as scripted (a hostile or broken one), and a partner's webhook endpoint (the standard
library's HTTP server, in a thread).

The webhook receiver checks each request as README's "Webhook signatures" tells a partner to,
with its own code rather than partnerflow's, and keeps each message once per Idempotency-Key,
as a partner's receiver should.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.workers.processes import free_port

SIGNATURE_TOLERANCE = 300
"""Seconds a signed timestamp stays acceptable, as README suggests."""


def verify_signature(secret: str, timestamp: str, signature: str, body: bytes) -> bool:
    """README's verification: HMAC-SHA256 of `{timestamp}.{body}`, compared in constant time,
    with a timestamp no older than five minutes."""
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) <= SIGNATURE_TOLERANCE
    return fresh and hmac.compare_digest(f"v1={expected.hexdigest()}", signature)


@dataclass(frozen=True)
class WebhookRequest:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def key(self) -> str:
        return self.headers.get("idempotency-key", "")

    def verified(self, secret: str, body: bytes | None = None) -> bool:
        """Whether the signature holds for this request's body (or another one)."""
        return verify_signature(
            secret,
            self.headers.get("partnerflow-timestamp", ""),
            self.headers.get("partnerflow-signature", ""),
            self.body if body is None else body,
        )

    @property
    def payload(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body)
        return loaded


Answer = Callable[[WebhookRequest, int], int]
"""The status to answer a request with, given how many requests with its key came before."""


def accept(request: WebhookRequest, earlier: int) -> int:
    return 200


@dataclass
class WebhookReceiver:
    """A partner's endpoint: every request, and each message once (the first one accepted)."""

    secret: str = ""
    answer: Answer = accept
    requests: list[WebhookRequest] = field(default_factory=list)
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    unsigned: list[WebhookRequest] = field(default_factory=list)
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hooks/partnerflow") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def keys(self) -> list[str]:
        with self._lock:
            return [request.key for request in self.requests]

    def handle(self, request: WebhookRequest) -> int:
        with self._lock:
            earlier = sum(1 for seen in self.requests if seen.key == request.key)
            self.requests.append(request)
            if self.secret and not request.verified(self.secret):
                self.unsigned.append(request)
                return 401
        status = self.answer(request, earlier)
        if 200 <= status < 300:
            with self._lock:
                self.messages.setdefault(request.key, request.payload)
        return status


def _handler(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {name.lower(): value for name, value in self.headers.items()}
            request = WebhookRequest(self.path, headers, body)
            status = receiver.handle(request)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def webhook_receiver(secret: str = "", answer: Answer = accept) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(secret=secret, answer=answer)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class MailServer:
    """An SMTP server that keeps every mail it accepts and refuses the addresses in `refuse`
    with a 550, as a mail server does for a mailbox that does not exist."""

    host: str = "127.0.0.1"
    port: int = 0
    refuse: set[str] = field(default_factory=set)
    mails: list[EmailMessage] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(mail, EmailMessage)
        self.mails.append(mail)
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [mail for mail in self.mails if mail["To"] == address]


@contextmanager
def mail_server(refuse: set[str] | None = None, **controller: Any) -> Iterator[MailServer]:
    """A running MailServer; `controller` passes TLS and login options to aiosmtpd."""
    server = MailServer(port=free_port(), refuse=refuse or set())
    running = Controller(server, hostname=server.host, port=server.port, **controller)
    running.start()
    try:
        yield server
    finally:
        running.stop()


SCRIPT = {
    "greeting": "220 mail.partner.test ESMTP",
    "EHLO": "250-mail.partner.test\r\n250-AUTH PLAIN\r\n250 STARTTLS",
    "HELO": "250 mail.partner.test",
    "STARTTLS": "220 ready",
    "AUTH": "235 accepted",
    "MAIL": "250 OK",
    "RCPT": "250 OK",
    "DATA": "354 go ahead",
    ".": "250 queued",
    "RSET": "250 OK",
    "QUIT": "221 bye",
}
"""A mail server's answer to each command (`.` ends the mail's data), as a willing one gives."""


@dataclass
class ScriptedMailServer:
    """A mail server that answers each command as `replies` says (SCRIPT for the others; None
    hangs up instead), and keeps the commands it was sent."""

    replies: dict[str, str | None]
    port: int = 0
    commands: list[str] = field(default_factory=list)

    def reply(self, step: str) -> bytes | None:
        said = self.replies.get(step, SCRIPT.get(step, "502 unknown command"))
        return None if said is None else said.encode() + b"\r\n"


def _scripted_handler(server: ScriptedMailServer) -> type[socketserver.StreamRequestHandler]:
    class Handler(socketserver.StreamRequestHandler):
        def answer(self, step: str) -> bool:
            reply = server.reply(step)
            if reply is not None:
                self.wfile.write(reply)
            return reply is not None

        def handle(self) -> None:
            if not self.answer("greeting"):
                return
            while line := self.rfile.readline():
                verb = (line.split() or [b""])[0].decode().upper()
                server.commands.append(verb)
                if not self.answer(verb) or verb == "QUIT":
                    return
                if verb == "DATA" and (server.reply("DATA") or b"").startswith(b"354"):
                    while self.rfile.readline() not in (b".\r\n", b""):
                        pass
                    if not self.answer("."):
                        return

    return Handler


@contextmanager
def scripted_mail_server(
    replies: dict[str, str | None] | None = None,
) -> Iterator[ScriptedMailServer]:
    """A running ScriptedMailServer on 127.0.0.1; `replies` by command (`greeting` first)."""
    server = ScriptedMailServer(dict(replies or {}))
    tcp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _scripted_handler(server))
    tcp.daemon_threads = True
    tcp.block_on_close = False
    server.port = tcp.server_address[1]
    thread = threading.Thread(target=tcp.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        tcp.shutdown()
        tcp.server_close()
