"""`partnerflow delivery|contacts|outbox ...`: how a provider's messages reach partners, and
what was sent. They read and write the program database (PARTNERFLOW_DATABASE_URL); the
worker uses a change from the next message it delivers."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.delivery_tables import contact_table, delivery_table, message_table, outbox_table
from cli.support import console, program_database, run, valid
from clients.connection import connect_temporal
from clients.deliveries import DeliveryUnderWay, MessageDeliveries
from models.delivery import (
    ChannelKind,
    DeliveryChange,
    OutboxEntry,
    OutboxFilter,
    OutboxStatus,
    PartnerContact,
    SmtpSecurity,
)
from models.notifications import NotificationKind
from runtime.settings import Settings
from services import delivery, outbox
from services.delivery import DeliveryUpdate
from store.delivery_settings import delivery_settings

delivery_app = typer.Typer(
    help="How a provider's messages are delivered: log, email (SMTP) or a signed webhook.",
    no_args_is_help=True,
)
contacts_app = typer.Typer(help="Where each partner's messages go.", no_args_is_help=True)
outbox_app = typer.Typer(
    help="Every message sent, to whom, and how its delivery went.", no_args_is_help=True
)

ProviderArgument = Annotated[str, typer.Argument(help="The provider, e.g. acme.")]
TeamArgument = Annotated[str, typer.Argument(help="The partner's team ID, e.g. team-maple.")]
CLEARS = 'An empty value ("") clears it.'


def _given(**options: Any) -> dict[str, Any]:
    """The options given on the command line; an empty string clears its setting."""
    return {
        name: (None if value == "" else value)
        for name, value in options.items()
        if value is not None
    }


def _print_update(provider_id: str, update: DeliveryUpdate) -> None:
    console.print(delivery_table(provider_id, update.settings))
    if update.new_webhook_secret:
        console.print(
            f"webhook signing secret  {update.new_webhook_secret}", soft_wrap=True, highlight=False
        )
        console.print("[dim]The secret is shown once: give it to the partners' receivers now.[/]")


@delivery_app.command("show")
def delivery_show(provider_id: ProviderArgument) -> None:
    """The provider's channel and its settings (secrets only as set or not)."""
    with program_database() as session:
        settings = delivery_settings(session, provider_id)
    console.print(delivery_table(provider_id, settings))


@delivery_app.command("set")
def delivery_set(
    provider_id: ProviderArgument,
    channel: Annotated[ChannelKind | None, typer.Option(help="log, email or webhook.")] = None,
    smtp_host: Annotated[str | None, typer.Option(help=f"The mail server. {CLEARS}")] = None,
    smtp_port: Annotated[int | None, typer.Option(help="Its port (587 by default).")] = None,
    smtp_security: Annotated[
        SmtpSecurity | None, typer.Option(help="none, starttls (587) or tls (465).")
    ] = None,
    smtp_username: Annotated[str | None, typer.Option(help=f"The login. {CLEARS}")] = None,
    smtp_password: Annotated[
        str | None,
        typer.Option(
            envvar="PARTNERFLOW_SMTP_PASSWORD",
            help=f"The password (better from PARTNERFLOW_SMTP_PASSWORD). {CLEARS}",
            show_default=False,
        ),
    ] = None,
    from_address: Annotated[str | None, typer.Option(help=f"The mails' From. {CLEARS}")] = None,
    provider_email: Annotated[
        str | None, typer.Option(help=f"Where mails for the provider go. {CLEARS}")
    ] = None,
    provider_webhook_url: Annotated[
        str | None,
        typer.Option(help=f"Where webhooks for the provider go: a public https:// URL. {CLEARS}"),
    ] = None,
) -> None:
    """Change the settings given; the others keep their values. Switching to the webhook
    channel makes a signing secret, printed once."""
    options = _given(
        channel=channel,
        smtp_host=smtp_host,
        smtp_port=smtp_port,
        smtp_security=smtp_security,
        smtp_username=smtp_username,
        smtp_password=smtp_password,
        from_address=from_address,
        provider_email=provider_email,
        provider_webhook_url=provider_webhook_url,
    )
    change = valid(lambda: DeliveryChange.model_validate(options))
    with program_database() as session:
        update = valid(lambda: delivery.change_delivery(session, provider_id, change))
    _print_update(provider_id, update)


@delivery_app.command("rotate-secret")
def delivery_rotate_secret(provider_id: ProviderArgument) -> None:
    """Make a new webhook signing secret, printed once; the old one stops working at once."""
    with program_database() as session:
        update = delivery.rotate_webhook_secret(session, provider_id)
    _print_update(provider_id, update)


@contacts_app.command("show")
def contacts_show(provider_id: ProviderArgument, team_id: TeamArgument) -> None:
    """Where the partner's messages go."""
    with program_database() as session:
        record = delivery.partner_contact(session, provider_id, team_id)
    console.print(contact_table(provider_id, record))


@contacts_app.command("set")
def contacts_set(
    provider_id: ProviderArgument,
    team_id: TeamArgument,
    email: Annotated[str | None, typer.Option(help=f"Its email address. {CLEARS}")] = None,
    webhook_url: Annotated[
        str | None, typer.Option(help=f"Its webhook URL: a public https:// URL. {CLEARS}")
    ] = None,
) -> None:
    """Change the partner's email address or webhook URL; the one not given keeps its value."""
    given = _given(email=email, webhook_url=webhook_url)
    with program_database() as session:
        current = delivery.partner_contact(session, provider_id, team_id).contact
        contact = valid(lambda: PartnerContact.model_validate({**dict(current), **given}))
        record = delivery.set_partner_contact(session, provider_id, team_id, contact)
    console.print(contact_table(provider_id, record))


@outbox_app.command("list")
def outbox_list(
    provider_id: ProviderArgument,
    partner: Annotated[str | None, typer.Option(help="Only this partner's messages.")] = None,
    kind: Annotated[NotificationKind | None, typer.Option(help="Only this kind.")] = None,
    status: Annotated[
        OutboxStatus | None,
        typer.Option(help="Only this status: bounced and failed did not reach the partner."),
    ] = None,
    page: Annotated[int, typer.Option(min=1)] = 1,
    page_size: Annotated[int, typer.Option(min=1, max=500)] = 50,
) -> None:
    """The provider's messages, the latest first."""
    where = OutboxFilter(reseller_team_id=partner, kind=kind, status=status)
    with program_database() as session:
        entries, total = outbox.outbox_page(
            session, provider_id, where, page=page, page_size=page_size
        )
    console.print(outbox_table(provider_id, entries, total, page))


@outbox_app.command("show")
def outbox_show(
    provider_id: ProviderArgument,
    notification_id: Annotated[
        int, typer.Argument(min=1, max=2**31 - 1, help="The message's id (outbox list).")
    ],
) -> None:
    """One message, with its whole text and how its delivery went."""
    with program_database() as session:
        entry = outbox.outbox_entry(session, provider_id, notification_id)
    console.print(message_table(entry))


@outbox_app.command("resend")
def outbox_resend(
    provider_id: ProviderArgument,
    notification_id: Annotated[
        int | None,
        typer.Argument(min=1, max=2**31 - 1, help="One message's id; none for every match."),
    ] = None,
    partner: Annotated[str | None, typer.Option(help="Only this partner's messages.")] = None,
    kind: Annotated[NotificationKind | None, typer.Option(help="Only this kind.")] = None,
    status: Annotated[
        OutboxStatus | None, typer.Option(help="Only bounced, or only failed (both if unset).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many.")] = 100,
) -> None:
    """Send bounced or failed messages again, once the address, contact or channel is fixed:
    each goes back to pending with two more days of tries (Temporal and a worker needed)."""
    with program_database() as session:
        if notification_id is not None:
            entries = [outbox.resendable_entry(session, provider_id, notification_id)]
            total = 1
        else:
            where = OutboxFilter(reseller_team_id=partner, kind=kind, status=status)
            entries, total = outbox.resendable_entries(session, provider_id, where, limit=limit)
    if not entries:
        console.print(f"No bounced or failed message of {provider_id} matches.")
        return
    settings = Settings()

    async def resend_all() -> list[tuple[OutboxEntry, str]]:
        deliveries = MessageDeliveries(await connect_temporal(settings), settings.task_queue)
        started = []
        for entry in entries:
            try:
                started.append((entry, await deliveries.resend(provider_id, entry)))
            except DeliveryUnderWay as error:
                if notification_id is not None:
                    raise
                console.print(f"[yellow]{error}[/]", highlight=False)
        return started

    for entry, workflow_id in run(resend_all()):
        console.print(
            f"message {entry.id} ({entry.kind.value} to {entry.reseller_team_id}) is on its "
            f"way again: {workflow_id}",
            highlight=False,
            soft_wrap=True,
        )
    if total > len(entries):
        console.print(f"{total - len(entries)} more match: run the command again for them.")
