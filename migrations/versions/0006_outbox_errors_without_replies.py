"""outbox errors without replies: lastError keeps what we can say ourselves

Before, an outbox row's `last_error` (shown to the provider by the API and the CLI) could
hold the text a webhook receiver or a mail server answered: up to 200 characters of a
receiver's reply and a redirect's Location, a mail server's whole reply, or smtplib's
repr of it. A host a provider named may be a service inside the operator's network, whose
answer it must not read. Upgrading rewrites each such value to what the worker says now in
its own words: the step that failed and the status or reply code (`HTTP 404`, `SMTP 550`),
with the rest of the text (the URL, the host, the address; "gave up after ..." around it)
kept as it was. A value without a reply in it is left alone, and a rewritten one is left
alone by a second run. Downgrading changes nothing: the replies are not kept anywhere.

The formats, from the channels' history (activities/webhook_channel.py and
activities/email_channel.py up to this revision, stored through activities/notifications.py,
which prefixes an error that is retried with its type's name):

- `the webhook at URL refused the message: HTTP CODE REPLY (redirect to LOCATION: set that
  URL)` and `WebhookUnavailable: the webhook at URL answered HTTP CODE REPLY`;
- `RemoteProtocolError: ...` (httpx's, which may quote the bytes a non-HTTP peer sent);
- `the mail server HOST refused ADDRESS: CODE REPLY` and `the mail server HOST refused the
  message to ADDRESS: CODE REPLY`;
- `SMTPRecipientsRefused: {ADDRESS: (CODE, b'REPLY')}`, `SMTPDataError: (CODE, b'REPLY')` and
  smtplib's other errors with a code; `SMTPException: ... Last response: (CODE, b'REPLY')`.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 10:00:00.000000
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000
"""Rows read and rewritten at a time."""

notifications = sa.table(
    "notifications", sa.column("id", sa.Integer()), sa.column("last_error", sa.Text())
)

# Spelled out rather than imported, so that this revision keeps working as the code changes.
REDIRECT = " (a redirect, which is not followed: set the URL it leads to)"
UNAVAILABLE = "MailServerUnavailable: the mail server"
SMTP_ERRORS = {
    "SMTPRecipientsRefused": "refused the recipient",
    "SMTPSenderRefused": "refused the sender",
    "SMTPDataError": "refused the message",
    "SMTPAuthenticationError": "refused the login",
    "SMTPConnectError": "refused the connection",
    "SMTPHeloError": "refused our greeting",
    "SMTPResponseException": "answered",
}
"""smtplib's errors that carry the server's reply, and what the mail server did."""

Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]


def _webhook_refused(found: re.Match[str]) -> str:
    kept = found["head"]
    return kept + REDIRECT if found["code"].startswith("3") else kept


def _smtp_error(found: re.Match[str]) -> str:
    did = SMTP_ERRORS[found["type"]]
    if did == "answered":
        return f"{UNAVAILABLE} answered SMTP {found['code']}"
    return f"{UNAVAILABLE} {did}: SMTP {found['code']}"


RULES: list[Rule] = [
    (
        re.compile(
            r"(?P<head>the webhook at \S+ refused the message: HTTP (?P<code>\d{3})).*", re.S
        ),
        _webhook_refused,
    ),
    (
        re.compile(r"(?P<head>the webhook at \S+ answered HTTP \d{3}).*", re.S),
        lambda found: found["head"],
    ),
    (
        re.compile(r"RemoteProtocolError: .*", re.S),
        lambda found: "RemoteProtocolError: the answer was not valid HTTP",
    ),
    (
        re.compile(r"(?P<head>the mail server \S+ refused .+?): (?P<code>\d{3})(?:\s.*)?$", re.S),
        lambda found: f"{found['head']}: SMTP {found['code']}",
    ),
    (
        re.compile(rf"(?P<type>{'|'.join(SMTP_ERRORS)}): .*?\((?P<code>-?\d+),.*", re.S),
        _smtp_error,
    ),
    (
        re.compile(r"SMTPException: .*?Last response: .*", re.S),
        lambda found: f"{UNAVAILABLE} could not be used during the login (SMTPException)",
    ),
]
"""Each format that holds a reply, and what to say instead. The reply runs to the end of the
value (after "gave up ...; last error: " too), so a match does, from the format's start."""

MAY_HOLD_A_REPLY = ("%the webhook at %", "%the mail server %", "%Error: %", "%SMTP%")
"""LIKE patterns every value one of the rules rewrites matches (a quick first sieve)."""


def without_replies(error: str) -> str:
    """The value with any reply a peer sent replaced by what we can say ourselves: from the
    format that starts first, since a reply could quote another format."""
    matches = [(found, rewrite) for pattern, rewrite in RULES if (found := pattern.search(error))]
    if not matches:
        return error
    found, rewrite = min(matches, key=lambda match: match[0].start())
    return error[: found.start()] + rewrite(found)


def upgrade() -> None:
    connection = op.get_bind()
    sieve = sa.or_(*(notifications.c.last_error.like(pattern) for pattern in MAY_HOLD_A_REPLY))
    after = 0
    while True:
        rows = connection.execute(
            sa.select(notifications.c.id, notifications.c.last_error)
            .where(notifications.c.id > after, sieve)
            .order_by(notifications.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        for row_id, error in rows:
            kept = without_replies(error)
            if kept != error:
                connection.execute(
                    notifications.update()
                    .where(notifications.c.id == row_id)
                    .values(last_error=kept)
                )
        after = rows[-1][0]


def downgrade() -> None:
    """Nothing to undo: the older code reads the shorter values as they are."""
