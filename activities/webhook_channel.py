"""A signed webhook: each message is POSTed as JSON to the partner's URL.

The receiver verifies it (see README, "Webhook signatures"): the
`Partnerflow-Signature` header is `v1=` and the hex HMAC-SHA256, keyed by the
provider's signing secret, of the `Partnerflow-Timestamp` header's value, a
dot, and the raw body. The `Idempotency-Key` header is the same on every try
of one message, so a receiver that keeps the keys it has seen drops a retry.
A 2xx answer delivers the message; 408, 429 and 5xx are retried; any other
answer (a 4xx, a redirect, which is not followed) bounces it for good. Only
the status code is read: a receiver's reply never reaches the provider.

The URL is checked again here (models.outbound_address): the host is resolved
once, every address it resolves to must be allowed (activities.outbound_connection),
and the request goes to one of those addresses (the URL's host swapped for it)
with the name kept in the Host header and as TLS's server name, so the
certificate is checked for the name and a DNS answer that changes after the
check is never used. A URL the worker may not use bounces the message, saying
why.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx

from activities.channels import DeliveryRefused
from activities.outbound_connection import (
    ADDRESSES_TRIED,
    AddressNotAllowed,
    HostUnresolved,
    failure_reason,
    vetted_addresses,
)
from models.delivery import OutgoingMessage
from models.outbound_address import IpAddress, OutboundPolicy, literal_address, scheme_refusal
from runtime.settings import Settings

TIMESTAMP_HEADER = "Partnerflow-Timestamp"
SIGNATURE_HEADER = "Partnerflow-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SIGNATURE_VERSION = "v1"
WEBHOOK_TIMEOUT = 10.0
RETRIED_STATUSES = frozenset({408, 429})


class WebhookUnavailable(Exception):
    """The receiver answered with a status that says: try again later, or could not be
    reached."""


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


def _host(url: httpx.URL) -> str:
    return url.raw_host.decode("ascii").lower()


def _target(address: str, policy: OutboundPolicy) -> httpx.URL:
    """The URL to send to, if the policy allows its scheme; its host is checked with its
    addresses (_allowed_addresses)."""
    try:
        url = httpx.URL(address)
        host = _host(url)
    except (httpx.InvalidURL, UnicodeError):
        raise DeliveryRefused(f"the webhook URL {address} is not a valid URL") from None
    if not host:
        refusal: str | None = "must name a host"
    elif url.userinfo:
        refusal = "must not carry a user name or password"
    else:
        refusal = scheme_refusal(url.scheme, policy)
    if refusal is not None:
        raise DeliveryRefused(f"the webhook URL {address} {refusal}")
    return url


def _allowed_addresses(address: str, url: httpx.URL, policy: OutboundPolicy) -> list[IpAddress]:
    """Every address the URL's host leads to, if the policy allows the host and them all."""
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        return vetted_addresses(_host(url), port, policy)
    except AddressNotAllowed as refused:
        raise DeliveryRefused(f"the webhook URL {address} {refused}") from None
    except HostUnresolved as unresolved:
        raise WebhookUnavailable(str(unresolved)) from None


def _connect_reason(error: httpx.TransportError) -> str:
    """Why a connection failed, from our side's own error: never text the peer sent."""
    if isinstance(error, httpx.TimeoutException):
        return "timed out"
    return failure_reason(error) or f"the connection failed ({type(error).__name__})"


def _pinned(url: httpx.URL, address: IpAddress) -> tuple[httpx.URL, dict[str, str]]:
    """The URL with its host replaced by the vetted address, and the extensions that keep the
    name as TLS's server name (SNI and the certificate check)."""
    if literal_address(_host(url)) is not None:
        return url.copy_with(host=str(address)), {}
    return url.copy_with(host=str(address)), {"sni_hostname": _host(url)}


class WebhookChannel:
    """POSTs each message, signed with one provider's secret, to the address it is sent to, if
    the operator's policy (PARTNERFLOW_WEBHOOK_*) allows that address."""

    name = "webhook"

    def __init__(
        self,
        secret: str,
        timeout: float = WEBHOOK_TIMEOUT,
        *,
        policy: OutboundPolicy | None = None,
    ) -> None:
        self._secret = secret
        self._timeout = timeout
        self._policy = policy if policy is not None else Settings().webhook_policy()

    def deliver(self, message: OutgoingMessage) -> None:
        url = _target(message.address, self._policy)
        addresses = _allowed_addresses(message.address, url, self._policy)
        body = payload(message)
        code = self._post(url, addresses, self._headers(message, body), body)
        _judge(message.address, code)

    def _headers(self, message: OutgoingMessage, body: bytes) -> dict[str, str]:
        timestamp = str(int(time.time()))
        return {
            "Content-Type": "application/json",
            "User-Agent": "partnerflow-webhook/1",
            IDEMPOTENCY_HEADER: message.idempotency_key,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(self._secret, timestamp, body),
        }

    def _post(
        self, url: httpx.URL, addresses: list[IpAddress], headers: dict[str, str], body: bytes
    ) -> int:
        """The status the first address that takes the connection answers; the body of the
        answer is not read. A transport given explicitly keeps proxies from the environment
        out: a proxy would resolve the name again."""
        headers = {**headers, "Host": url.netloc.decode("ascii")}
        failure: httpx.TransportError | None = None
        with httpx.Client(
            transport=httpx.HTTPTransport(), timeout=self._timeout, follow_redirects=False
        ) as client:
            for address in addresses[:ADDRESSES_TRIED]:
                pinned, extensions = _pinned(url, address)
                try:
                    with client.stream(
                        "POST", pinned, content=body, headers=headers, extensions=extensions
                    ) as response:
                        return response.status_code
                except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                    failure = error
                except httpx.TransportError as error:
                    raise WebhookUnavailable(
                        f"the webhook at {_host(url)} did not answer: {_connect_reason(error)}"
                    ) from None
        assert failure is not None, "_resolved returns at least one address"
        raise WebhookUnavailable(f"could not connect to {_host(url)}: {_connect_reason(failure)}")


def _judge(address: str, code: int) -> None:
    """Deliver on 2xx; retry on 408, 429 and 5xx; bounce on anything else. The status code is
    all that is told: a receiver's reply is never shown to the provider."""
    if 200 <= code < 300:
        return
    if code in RETRIED_STATUSES or code >= 500:
        raise WebhookUnavailable(f"the webhook at {address} answered HTTP {code}")
    refused = f"the webhook at {address} refused the message: HTTP {code}"
    if 300 <= code < 400:
        refused += " (a redirect, which is not followed: set the URL it leads to)"
    raise DeliveryRefused(refused)
