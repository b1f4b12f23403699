"""Reaching a host a provider named (a webhook receiver, a mail server) without letting it lead
into the operator's network: the host is checked as written, resolved once, every address it
resolves to must be allowed by the operator's policy (models.outbound_address), and the
channel connects to one of those addresses itself, keeping the name for TLS. A DNS answer
that changes after the check (DNS rebinding) is never used: nothing looks the name up again.

Why a connection failed is told from our side's own error (the resolver's, the socket's, the
TLS library's), never from text the peer sent.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl

from models.outbound_address import (
    IpAddress,
    OutboundPolicy,
    host_refusal,
    literal_address,
    resolved_refusal,
)

ADDRESSES_TRIED = 2
"""Addresses of one host tried in turn when a connection fails (an IPv6 one that does not route,
then an IPv4 one), at most: each may take the whole timeout to connect."""


class AddressNotAllowed(Exception):
    """The host, or an address it resolves to, is one the policy refuses; the message says
    which, as the end of a sentence naming the host (`must not point at ...`)."""


class HostUnresolved(Exception):
    """The host's name could not be resolved (for now, perhaps)."""


def lower(reason: str) -> str:
    return reason[:1].lower() + reason[1:]


def resolved(host: str, port: int) -> list[IpAddress]:
    """The addresses a host stands for: itself if it is one (in any form), else what DNS says,
    each once, in the resolver's order."""
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        reason = getattr(error, "strerror", None) or "no address found"
        raise HostUnresolved(f"could not resolve {host}: {lower(reason)}") from None
    unique = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0])) for info in found))
    if not unique:
        raise HostUnresolved(f"could not resolve {host}: no address found")
    return unique


def vetted_addresses(host: str, port: int, policy: OutboundPolicy) -> list[IpAddress]:
    """Every address the host leads to, if the policy allows the host as written and each of
    them; refused as written, the name is not even looked up."""
    refusal = host_refusal(host, policy)
    if refusal is not None:
        raise AddressNotAllowed(refusal)
    addresses = resolved(host, port)
    for address in addresses:
        refusal = resolved_refusal(host, address, policy)
        if refusal is not None:
            raise AddressNotAllowed(refusal)
    return addresses


def failure_reason(error: BaseException) -> str | None:
    """Why a connection failed, from the first of our own errors along the chain of causes (a
    timeout, a refused certificate, a failed handshake, a socket error); None if there is none.
    A certificate's refusal names what OpenSSL found wrong, not what the peer said."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, TimeoutError):
            return "timed out"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"its TLS certificate was refused ({cause.verify_message})"
        if isinstance(cause, ssl.SSLError):
            return "the TLS handshake failed"
        if isinstance(cause, OSError) and cause.strerror:
            return lower(cause.strerror)
        cause = cause.__cause__ or cause.__context__
    return None
