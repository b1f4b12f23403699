"""Outbox rows put in place in bulk, each idempotency key at most once: shared by every message
sent to many partners at once (announcements, newsletters)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models.announcement import delivery_batch
from models.delivery import OutboxStatus
from models.notifications import NotificationContext, NotificationKind
from models.program import Tier
from models.schema import Notification, Provider
from store.delivery_settings import configured_channel
from store.message_variables import MessageFacts, message_variables
from store.messages import message_facts, override_in_force, render_variables

RECORD_CHUNK = 500
"""Recipients rendered and inserted per statement."""

T = TypeVar("T")


def insert_absent(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert the outbox rows whose key is not there yet, in one statement."""
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(Notification).on_conflict_do_nothing(
        index_elements=[Notification.idempotency_key]
    )
    session.execute(statement, rows)


def chunks(items: Sequence[T], size: int = RECORD_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True)
class Recipient:
    reseller_team_id: str
    tier: Tier
    name: str


class BulkRenderer:
    """One kind of message for many partners of a provider: the provider's own templates
    where it saved some, with what is the same for every partner of a tier read once."""

    def __init__(self, session: Session, provider_id: str, kind: NotificationKind) -> None:
        self._session = session
        self._provider_id = provider_id
        self._kind = kind
        provider = session.get(Provider, provider_id)
        self._provider_name = provider.name if provider else provider_id
        self._override = override_in_force(session, provider_id, kind)
        self._facts: dict[Tier, MessageFacts] = {}

    def _facts_for(self, tier: Tier) -> MessageFacts:
        if tier not in self._facts:
            self._facts[tier] = message_facts(
                self._session, self._provider_id, tier, self._provider_name, ""
            )
        return self._facts[tier]

    def render(self, recipient: Recipient, context: NotificationContext) -> tuple[str, str]:
        facts = replace(self._facts_for(recipient.tier), reseller_name=recipient.name)
        return render_variables(self._kind, message_variables(context, facts), self._override)


def outbox_row(
    provider_id: str,
    key: str,
    recipient: Recipient,
    kind: NotificationKind,
    channel: str,
    rendered: tuple[str, str],
) -> dict[str, Any]:
    """A pending outbox row for one partner, as insert_absent takes it."""
    subject, body = rendered
    return {
        "idempotency_key": key,
        "provider_id": provider_id,
        "reseller_team_id": recipient.reseller_team_id,
        "recipient": "partner",
        "kind": kind.value,
        "channel": channel,
        "subject": subject,
        "body": body,
        "status": OutboxStatus.PENDING.value,
    }


def channel_of(session: Session, provider_id: str) -> str:
    return configured_channel(session, provider_id).value


def recorded_under(session: Session, provider_id: str, prefix: str) -> tuple[int, list[str]]:
    """How many messages the outbox holds under the key `prefix`, and the delivery batches
    they fall in."""
    teams = list(
        session.scalars(
            select(Notification.reseller_team_id).where(
                Notification.provider_id == provider_id,
                Notification.idempotency_key.startswith(prefix, autoescape=True),
            )
        )
    )
    return len(teams), sorted({delivery_batch(team) for team in teams})
