"""Email over SMTP (the standard library's smtplib: activities run in threads).

Each mail's Message-ID is derived from the message's idempotency key, so a
retry after a crash between sending and recording sends the same Message-ID,
which mail systems and readers use to drop the duplicate. A recipient the
server refuses with a 5xx answer is bounced for good; a 4xx answer, a server
that is down, or a failed login are retried.

The mail server is the provider's choice, so it is held to the operator's
policy as webhooks are (models.outbound_address): its host is resolved once,
every address it resolves to must be allowed (activities.outbound_connection),
and smtplib connects to one of those addresses while TLS, from the first byte
or after STARTTLS, checks the certificate for the host name. A host the worker
may not use bounces the message, saying why.

A failure is told in our own words: the step that failed and the server's reply
code (`SMTP 550`), never the text of its reply, which a server the provider
points us at may fill with anything (another service's banner, say).
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import format_datetime

from activities.channels import DeliveryRefused
from activities.outbound_connection import (
    ADDRESSES_TRIED,
    AddressNotAllowed,
    HostUnresolved,
    failure_reason,
    vetted_addresses,
)
from models.delivery import DeliverySettings, OutgoingMessage, SmtpSecurity
from models.outbound_address import IpAddress, OutboundPolicy, literal_address
from runtime.settings import Settings

IDEMPOTENCY_HEADER = "Idempotency-Key"
SMTP_TIMEOUT = 10.0
"""Seconds for each exchange with the mail server."""

GREETING, STARTTLS, LOGIN, TRANSFER = "the greeting", "STARTTLS", "the login", "the transfer"
"""The steps of a delivery after the connection is made, as a failure names them."""
UNSUPPORTED = {
    STARTTLS: "does not offer STARTTLS",
    LOGIN: "does not offer a login (SMTP AUTH)",
    TRANSFER: "does not accept internationalized addresses (SMTPUTF8)",
}
"""What smtplib's SMTPNotSupportedError means at each step."""


class MailServerUnavailable(Exception):
    """The mail server could not be reached, or answered: try again later."""


def _permanent(code: int) -> bool:
    return 500 <= code < 600


class _PinnedSmtp(smtplib.SMTP):
    """An SMTP connection to one vetted address. smtplib is given the server's name, which it
    keeps as TLS's server name (here for TLS from the first byte, in `starttls` after it), so
    the certificate is checked for the name; the socket goes to the address, never looked up
    again."""

    def __init__(
        self,
        name: str,
        address: IpAddress,
        port: int,
        timeout: float,
        tls: ssl.SSLContext | None,
    ) -> None:
        self._address = str(address)
        self._tls = tls
        super().__init__(name, port, timeout=timeout)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        connection = socket.create_connection((self._address, port), timeout)
        if self._tls is None:
            return connection
        try:
            return self._tls.wrap_socket(connection, server_hostname=host)
        except BaseException:
            connection.close()
            raise


class SmtpChannel:
    """Sends through one provider's mail server, with the TLS mode and login it configured, if
    the operator's policy (PARTNERFLOW_SMTP_ALLOWED_HOSTS) allows the server's addresses."""

    name = "email"

    def __init__(
        self,
        settings: DeliverySettings,
        timeout: float = SMTP_TIMEOUT,
        *,
        policy: OutboundPolicy | None = None,
    ) -> None:
        assert settings.smtp_host and settings.from_address, "validated by DeliverySettings"
        self._settings = settings
        self._host = settings.smtp_host
        self._port = settings.smtp_port
        self._from = settings.from_address
        self._timeout = timeout
        self._policy = policy if policy is not None else Settings().smtp_policy()

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

    def deliver(self, message: OutgoingMessage) -> None:
        mail = self.compose(message)
        server = self._connect(self._addresses())
        step = GREETING
        try:
            if self._settings.smtp_security is SmtpSecurity.STARTTLS:
                step = STARTTLS
                server.starttls(context=ssl.create_default_context())
            step = LOGIN
            self._login(server)
            step = TRANSFER
            server.send_message(mail, from_addr=self._from, to_addrs=[message.address])
        except (smtplib.SMTPException, OSError) as error:
            server.close()
            raise self._failure(error, step, message.address) from None
        _quit(server)

    def _addresses(self) -> list[IpAddress]:
        """Every address the host leads to, if the policy allows the host and them all."""
        try:
            return vetted_addresses(self._host, self._port, self._policy)
        except AddressNotAllowed as refused:
            raise DeliveryRefused(f"the SMTP host {self._host} {refused}") from None
        except HostUnresolved as unresolved:
            raise MailServerUnavailable(str(unresolved)) from None

    def _connect(self, addresses: list[IpAddress]) -> smtplib.SMTP:
        """A connection to the first address that takes one, greeted (and in TLS, for `tls`)."""
        tls = None
        if self._settings.smtp_security is SmtpSecurity.TLS:
            tls = ssl.create_default_context()
        literal = literal_address(self._host)
        failure: OSError | None = None
        for address in addresses[:ADDRESSES_TRIED]:
            # A host written as an IP is checked in TLS as the address it means.
            name = self._host if literal is None else str(address)
            try:
                return _PinnedSmtp(name, address, self._port, self._timeout, tls)
            except (ssl.SSLError, smtplib.SMTPException) as error:
                raise self._failure(error, GREETING) from None
            except OSError as error:  # refused, unreachable, timed out: the next may answer
                failure = error
        assert failure is not None, "vetted_addresses returns at least one address"
        raise self._failure(failure, GREETING) from None

    def _login(self, server: smtplib.SMTP) -> None:
        s = self._settings
        if s.smtp_username is not None:
            password = s.smtp_password.get_secret_value() if s.smtp_password else ""
            server.login(s.smtp_username, password)

    def _failure(self, error: BaseException, step: str, recipient: str = "") -> Exception:
        """The error to raise for a failed step, in our words: what failed and the server's
        code, never its reply text. A refusal with a 5xx code of the recipient, the sender or
        the message bounces it; anything else is retried."""
        server = f"the mail server {self._host}"
        if isinstance(error, smtplib.SMTPRecipientsRefused):
            codes = [code for code, _ in error.recipients.values()] or [0]
            said = f"{server} refused {recipient}: SMTP {codes[0]}"
            permanent = all(map(_permanent, codes))
            return DeliveryRefused(said) if permanent else MailServerUnavailable(said)
        if isinstance(error, smtplib.SMTPSenderRefused | smtplib.SMTPDataError):
            if isinstance(error, smtplib.SMTPSenderRefused):
                said = f"{server} refused the sender {self._from}: SMTP {error.smtp_code}"
            else:
                said = f"{server} refused the message to {recipient}: SMTP {error.smtp_code}"
            permanent = _permanent(error.smtp_code)
            return DeliveryRefused(said) if permanent else MailServerUnavailable(said)
        return MailServerUnavailable(self._unavailable(error, step))

    def _unavailable(self, error: BaseException, step: str) -> str:
        server = f"the mail server {self._host}"
        if isinstance(error, smtplib.SMTPConnectError):
            return f"{server} refused the connection: SMTP {error.smtp_code}"
        if isinstance(error, smtplib.SMTPHeloError):
            return f"{server} refused our greeting: SMTP {error.smtp_code}"
        if isinstance(error, smtplib.SMTPAuthenticationError):
            return f"{server} refused the login: SMTP {error.smtp_code}"
        if isinstance(error, smtplib.SMTPResponseException):
            return f"{server} answered SMTP {error.smtp_code} during {step}"
        if isinstance(error, smtplib.SMTPNotSupportedError) and step in UNSUPPORTED:
            return f"{server} {UNSUPPORTED[step]}"
        where = f"{self._host}:{self._port}"
        reason = failure_reason(error)
        if step == GREETING and isinstance(error, OSError):
            return f"could not connect to {where}: {reason or 'the connection failed'}"
        if reason is not None:
            return f"the connection to {where} failed during {step}: {reason}"
        if isinstance(error, smtplib.SMTPServerDisconnected):
            return f"{server} closed the connection during {step}"
        # Other SMTPExceptions may quote the server's reply (smtplib's AUTH loop does).
        return f"{server} could not be used during {step} ({type(error).__name__})"


def _quit(server: smtplib.SMTP) -> None:
    """Say goodbye after the message was taken; a server that answers QUIT badly has the mail
    all the same, so the message is not sent again over it."""
    try:
        server.quit()
    except (smtplib.SMTPException, OSError):
        pass
    finally:
        server.close()
