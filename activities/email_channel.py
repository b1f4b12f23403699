"""Email over SMTP (the standard library's smtplib: activities run in threads).

Each mail's Message-ID is derived from the message's idempotency key, so a
retry after a crash between sending and recording sends the same Message-ID,
which mail systems and readers use to drop the duplicate. A recipient the
server refuses with a 5xx answer is bounced for good; a 4xx answer, a server
that is down, or a failed login are retried.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime

from activities.channels import DeliveryRefused
from models.delivery import DeliverySettings, OutgoingMessage, SmtpSecurity

IDEMPOTENCY_HEADER = "Idempotency-Key"
SMTP_TIMEOUT = 10.0
"""Seconds for each exchange with the mail server."""


def _permanent(code: int) -> bool:
    return 500 <= code < 600


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply


class SmtpChannel:
    """Sends through one provider's mail server, with the TLS mode and login it configured."""

    name = "email"

    def __init__(self, settings: DeliverySettings, timeout: float = SMTP_TIMEOUT) -> None:
        assert settings.smtp_host and settings.from_address, "validated by DeliverySettings"
        self._settings = settings
        self._host = settings.smtp_host
        self._from = settings.from_address
        self._timeout = timeout

    @property
    def domain(self) -> str:
        return self._from.rsplit("@", 1)[1]

    def compose(self, message: OutgoingMessage) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self._from
        mail["To"] = message.address
        mail["Subject"] = message.subject
        mail["Date"] = format_datetime(message.created_at)
        mail["Message-ID"] = message.message_id(self.domain)
        mail[IDEMPOTENCY_HEADER] = message.idempotency_key
        mail.set_content(message.body)
        return mail

    def _connect(self) -> smtplib.SMTP:
        s = self._settings
        if s.smtp_security is SmtpSecurity.TLS:
            return smtplib.SMTP_SSL(
                self._host, s.smtp_port, timeout=self._timeout, context=ssl.create_default_context()
            )
        server = smtplib.SMTP(self._host, s.smtp_port, timeout=self._timeout)
        if s.smtp_security is SmtpSecurity.STARTTLS:
            server.starttls(context=ssl.create_default_context())
        return server

    def deliver(self, message: OutgoingMessage) -> None:
        s = self._settings
        mail = self.compose(message)
        try:
            with self._connect() as server:
                if s.smtp_username is not None:
                    password = s.smtp_password.get_secret_value() if s.smtp_password else ""
                    server.login(s.smtp_username, password)
                server.send_message(mail, from_addr=self._from, to_addrs=[message.address])
        except smtplib.SMTPRecipientsRefused as error:
            refusals = [(code, _text(reply)) for code, reply in error.recipients.values()]
            if refusals and all(_permanent(code) for code, _ in refusals):
                code, reply = refusals[0]
                raise DeliveryRefused(
                    f"the mail server {self._host} refused {message.address}: {code} {reply}"
                ) from error
            raise
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
            if _permanent(error.smtp_code):
                raise DeliveryRefused(
                    f"the mail server {self._host} refused the message to {message.address}: "
                    f"{error.smtp_code} {_text(error.smtp_error)}"
                ) from error
            raise
