"""A signed webhook: each message is POSTed as JSON to the partner's URL.

The receiver verifies it (see README, "Webhook signatures"): the
`Partnerflow-Signature` header is `v1=` and the hex HMAC-SHA256, keyed by the
provider's signing secret, of the `Partnerflow-Timestamp` header's value, a
dot, and the raw body. The `Idempotency-Key` header is the same on every try
of one message, so a receiver that keeps the keys it has seen drops a retry.
A 2xx answer delivers the message; 408, 429 and 5xx are retried; any other
answer (a 4xx, a redirect) bounces it for good.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx

from activities.channels import DeliveryRefused
from models.delivery import OutgoingMessage

TIMESTAMP_HEADER = "Partnerflow-Timestamp"
SIGNATURE_HEADER = "Partnerflow-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SIGNATURE_VERSION = "v1"
WEBHOOK_TIMEOUT = 10.0
RETRIED_STATUSES = frozenset({408, 429})


class WebhookUnavailable(Exception):
    """The receiver answered with a status that says: try again later."""


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The `Partnerflow-Signature` header's value for this timestamp and body."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={digest.hexdigest()}"


def payload(message: OutgoingMessage) -> bytes:
    """The JSON body of one message."""
    return json.dumps(
        {
            "id": message.idempotency_key,
            "kind": message.kind.value,
            "providerId": message.provider_id,
            "resellerTeamId": message.reseller_team_id,
            "recipient": message.recipient.value,
            "subject": message.subject,
            "text": message.body,
            "createdAt": message.created_at.isoformat(),
        },
        ensure_ascii=False,
    ).encode()


class WebhookChannel:
    """POSTs each message, signed with one provider's secret, to the address it is sent to."""

    name = "webhook"

    def __init__(self, secret: str, timeout: float = WEBHOOK_TIMEOUT) -> None:
        self._secret = secret
        self._timeout = timeout

    def deliver(self, message: OutgoingMessage) -> None:
        body = payload(message)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "partnerflow-webhook/1",
            IDEMPOTENCY_HEADER: message.idempotency_key,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(self._secret, timestamp, body),
        }
        response = httpx.post(
            message.address,
            content=body,
            headers=headers,
            timeout=self._timeout,
            follow_redirects=False,
        )
        code = response.status_code
        if 200 <= code < 300:
            return
        answer = f"HTTP {code} {response.text[:200]}".strip()
        if code in RETRIED_STATUSES or code >= 500:
            raise WebhookUnavailable(f"the webhook at {message.address} answered {answer}")
        if 300 <= code < 400:
            answer += f" (redirect to {response.headers.get('location', '?')}: set that URL)"
        raise DeliveryRefused(f"the webhook at {message.address} refused the message: {answer}")
