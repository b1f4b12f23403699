"""Delivery channels for rendered notifications. Logging is the default, for local runs."""

from __future__ import annotations

import logging
from typing import Protocol

from models.notifications import Recipient

logger = logging.getLogger("partnerflow.notifications")


class NotificationChannel(Protocol):
    name: str

    def deliver(
        self, *, idempotency_key: str, recipient: Recipient, address: str, subject: str, body: str
    ) -> None:
        """Deliver one message; raise to have the activity retried."""


class LogChannel:
    """Writes each message to the log: the channel of the local stack and the tests."""

    name = "log"

    def deliver(
        self, *, idempotency_key: str, recipient: Recipient, address: str, subject: str, body: str
    ) -> None:
        logger.info(
            "to %s %s [%s]: %s\n%s", recipient.value, address, idempotency_key, subject, body
        )
