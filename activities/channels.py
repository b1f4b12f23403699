"""Delivery channels for rendered notifications. Logging is the default, for local runs.

A channel delivers one message or raises: `DeliveryRefused` when the address
is bad for good (the message is then bounced and not tried again), anything
else when the channel is down for now (the activity is retried with backoff).
"""

from __future__ import annotations

import logging
from typing import Protocol

from models.delivery import OutgoingMessage

logger = logging.getLogger("partnerflow.notifications")


class DeliveryRefused(Exception):
    """The channel refused the address for good: a retry would be refused the same way."""


class NotificationChannel(Protocol):
    name: str

    def deliver(self, message: OutgoingMessage) -> None:
        """Deliver one message; raise DeliveryRefused for a bad address, anything else to have
        the activity retried."""


class LogChannel:
    """Writes each message to the log: the channel of the local stack and the tests."""

    name = "log"

    def deliver(self, message: OutgoingMessage) -> None:
        logger.info(
            "to %s %s [%s]: %s\n%s",
            message.recipient.value,
            message.address,
            message.idempotency_key,
            message.subject,
            message.body,
        )
