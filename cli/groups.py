"""The command groups of `partnerflow`, each imported only when it is the one used.

`partnerflow --help` lists every group from the names and one-line helps here;
`partnerflow partners list` imports `cli.partners` and nothing of the others, so
neither waits on the API, the worker or the local stack being loaded.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    # Typer carries its own copy of Click; its groups take that copy's types.
    from typer import _click as click


@dataclass(frozen=True)
class LazyGroup:
    module: str
    app: str
    help: str

    def load(self) -> typer.Typer:
        loaded: typer.Typer = getattr(importlib.import_module(self.module), self.app)
        return loaded


LAZY_GROUPS: dict[str, LazyGroup] = {
    "db": LazyGroup("cli.db", "db_app", "The program database: its schema migrations (Alembic)."),
    "partners": LazyGroup("cli.partners", "partners_app", "Partners of a provider's program."),
    "offers": LazyGroup("cli.offers", "offers_app", "A provider's offers and who can see them."),
    "orders": LazyGroup("cli.orders", "orders_app", "Orders sent in for metrics."),
    "reviews": LazyGroup(
        "cli.reviews",
        "reviews_app",
        "Program reviews of a provider: run one, read the reports, see the Schedules.",
    ),
    "program": LazyGroup(
        "cli.program",
        "program_app",
        "A provider's program: preview a change of its criteria on today's figures.",
    ),
    "templates": LazyGroup(
        "cli.templates",
        "templates_app",
        "The messages partners receive, and the provider's own templates for them.",
    ),
    "delivery": LazyGroup(
        "cli.delivery",
        "delivery_app",
        "How a provider's messages are delivered: log, email (SMTP) or a signed webhook.",
    ),
    "contacts": LazyGroup("cli.delivery", "contacts_app", "Where each partner's messages go."),
    "outbox": LazyGroup(
        "cli.delivery", "outbox_app", "Every message sent, to whom, and how its delivery went."
    ),
    "resellers": LazyGroup(
        "cli.resellers",
        "resellers_app",
        "The marketplace's resellers: register them from a file, find them, issue portal keys.",
    ),
    "announcements": LazyGroup(
        "cli.announcements",
        "announcements_app",
        "Announcements to a provider's partners: send or schedule one, follow it, cancel it.",
    ),
    "newsletter": LazyGroup(
        "cli.newsletter",
        "newsletter_app",
        "A provider's monthly newsletter: turn it on or off, send a month, preview it.",
    ),
    "keys": LazyGroup("cli.keys", "keys_app", "A provider's API keys: list, create, revoke."),
    "secrets": LazyGroup(
        "cli.secrets",
        "secrets_app",
        "The key that encrypts stored secrets (PARTNERFLOW_SECRET_KEY), and its rotation.",
    ),
}

ORDER = (
    "worker", "dev", "api", "db", "partners", "agreements", "offers", "orders", "providers",
    "keys", "resellers", "reviews", "templates", "delivery", "contacts", "outbox",
    "announcements", "newsletter", "secrets",
)  # fmt: skip


class LazyGroups(TyperGroup):
    """The top-level command: a group of LAZY_GROUPS is loaded when a command line names it."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = [*self.commands, *(name for name in LAZY_GROUPS if name not in self.commands)]
        return sorted(names, key=lambda name: ORDER.index(name) if name in ORDER else len(ORDER))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in LAZY_GROUPS:
            return super().get_command(ctx, cmd_name)
        # Listed in a help page: its name and help are all that is shown.
        return TyperGroup(name=cmd_name, help=LAZY_GROUPS[cmd_name].help)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] in LAZY_GROUPS and args[0] not in self.commands:
            self.add_command(typer.main.get_group(LAZY_GROUPS[args[0]].load()), args[0])
        return super().resolve_command(ctx, args)
