"""Delivery settings, contacts and the outbox as the CLI prints them; secrets only as set or not."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from cli.support import when
from models.delivery import ChannelKind, DeliverySettings, OutboxEntry, OutboxStatus
from services.delivery import ContactRecord

_STATUS_STYLE = {
    OutboxStatus.SENT: "green",
    OutboxStatus.SENDING: "yellow",
    OutboxStatus.PENDING: "yellow",
    OutboxStatus.BOUNCED: "bold red",
    OutboxStatus.FAILED: "bold red",
}


def _set(flag: bool) -> str:
    return "set" if flag else "not set"


def _or_dash(value: object) -> str:
    return "-" if value is None else escape(str(value))


def delivery_table(provider_id: str, settings: DeliverySettings) -> Table:
    table = Table(title=f"delivery of {provider_id}", title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("channel", settings.channel.value)
    if settings.channel is ChannelKind.EMAIL or settings.smtp_host:
        table.add_row("SMTP server", f"{_or_dash(settings.smtp_host)}:{settings.smtp_port}")
        table.add_row("TLS", settings.smtp_security.value)
        table.add_row("SMTP username", _or_dash(settings.smtp_username))
        table.add_row("SMTP password", _set(settings.smtp_password is not None))
        table.add_row("from", _or_dash(settings.from_address))
    table.add_row("webhook signing secret", _set(settings.webhook_secret is not None))
    table.add_row("provider's email", _or_dash(settings.provider_email))
    table.add_row("provider's webhook URL", _or_dash(settings.provider_webhook_url))
    table.add_row("updated", when(settings.updated_at))
    return table


def contact_table(provider_id: str, record: ContactRecord) -> Table:
    title = f"contact of {record.reseller_team_id} for {provider_id}"
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    email = record.contact.email
    fallback = f"{_or_dash(record.reseller_email)} (the reseller's, used when none is set)"
    table.add_row("email", escape(email) if email else fallback)
    table.add_row("webhook URL", _or_dash(record.contact.webhook_url))
    table.add_row("updated", when(record.updated_at))
    return table


def _status(entry: OutboxEntry) -> str:
    return f"[{_STATUS_STYLE[entry.status]}]{entry.status.value}[/]"


def outbox_table(provider_id: str, entries: list[OutboxEntry], total: int, page: int) -> Table:
    table = Table(
        title=f"outbox of {provider_id}: {total} message(s), page {page}", title_justify="left"
    )
    for column in ("id", "created", "partner", "kind", "channel", "to", "status", "tries"):
        table.add_column(column)
    table.add_column("subject / last error")
    for entry in entries:
        problem = entry.status.undelivered
        detail = entry.last_error if problem and entry.last_error else entry.subject
        table.add_row(
            str(entry.id),
            when(entry.created_at),
            escape(entry.reseller_team_id),
            entry.kind.value,
            entry.channel,
            _or_dash(entry.address),
            _status(entry),
            str(entry.attempts),
            escape(detail),
        )
    return table


def message_table(entry: OutboxEntry) -> Table:
    table = Table(title=f"message {entry.id}", title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("key", escape(entry.idempotency_key))
    table.add_row("partner", escape(entry.reseller_team_id))
    table.add_row("recipient", entry.recipient.value)
    table.add_row("kind", entry.kind.value)
    table.add_row("channel", entry.channel)
    table.add_row("to", _or_dash(entry.address))
    table.add_row("status", _status(entry))
    table.add_row("tries", str(entry.attempts))
    table.add_row("last error", _or_dash(entry.last_error))
    table.add_row("recorded", when(entry.created_at))
    table.add_row("last try", when(entry.last_attempt_at))
    table.add_row("sent", when(entry.sent_at))
    if entry.resent_at is not None:
        table.add_row("sent again", when(entry.resent_at))
    table.add_row("subject", escape(entry.subject))
    table.add_row("text", escape(entry.body))
    return table
