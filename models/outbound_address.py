"""Where the worker may connect on a provider's word: a webhook URL or an SMTP host. Providers
are tenants: a host they name must be public, never an address inside the operator's network
(loopback, private, link-local, cloud metadata), whatever form the address is written in; and
a webhook URL must be https.

A host is checked when it is saved, as written (an IP in any form the C resolver reads as one,
or a local name such as `localhost`), and again by the worker on every address the host
resolves to, just before it connects to one of them (activities.outbound_connection).
The operator may exempt named hosts, addresses or networks, for development and tests, and
allow plain http for webhooks (runtime.settings: PARTNERFLOW_WEBHOOK_ALLOWED_HOSTS,
PARTNERFLOW_SMTP_ALLOWED_HOSTS and PARTNERFLOW_WEBHOOK_ALLOW_HTTP).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

PRIVATE = "must not point at a private or local address"
LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "metadata.google.internal"})
LOCAL_SUFFIXES = (".localhost", ".localdomain", ".local", ".internal", ".home.arpa")
"""Names that lead into the operator's own network: RFC 6761's, mDNS, private-use domains."""
NOT_PUBLIC = tuple(
    ipaddress.ip_network(network)
    for network in (
        "0.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT, where some clouds keep their metadata service
        "192.0.0.0/24",
        "198.18.0.0/15",
        "fec0::/10",  # IPv6 site-local, deprecated but still routed inside some networks
    )
)
"""Networks refused although `is_global` lets some of their addresses through."""
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NUMBER = re.compile(r"0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*")
_LABEL = r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?"
_NAME = re.compile(rf"{_LABEL}(\.{_LABEL})*")


def _number(part: str) -> int | None:
    if not _NUMBER.fullmatch(part):
        return None
    if part[:2].lower() == "0x":
        return int(part[2:], 16)
    return int(part, 8) if part.startswith("0") else int(part)


def numeric_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address a host written as numbers means to the C resolver (inet_aton): one to
    four parts, each decimal, octal (leading 0) or hex (0x), the last filling the bytes left;
    so `2130706433`, `0x7f.1`, `017700000001` and `127.1` are all 127.0.0.1."""
    numbers = [_number(part) for part in host.split(".")]
    if not 1 <= len(numbers) <= 4 or None in numbers:
        return None
    *head, last = [n for n in numbers if n is not None]
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):
        return None
    value = last
    for position, byte in enumerate(head):
        value |= byte << (8 * (3 - position))
    return ipaddress.IPv4Address(value)


def literal_address(host: str) -> IpAddress | None:
    """The IP a URL's host names by itself, without a lookup; None for a name."""
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host.replace("%25", "%", 1))
        except ValueError:
            return None
    return numeric_ipv4(host)


def unwrapped(address: IpAddress) -> IpAddress:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64), else the address itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address in NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def is_public(address: IpAddress) -> bool:
    """Reachable on the internet: not loopback, private, link-local, CGNAT, multicast,
    reserved or unspecified, nor an IPv6 address that carries such an IPv4 one."""
    plain = unwrapped(address)
    if not plain.is_global or plain.is_multicast or plain.is_reserved:
        return False
    return not any(plain in network for network in NOT_PUBLIC)


def _normal(host: str) -> str:
    return host.lower().removesuffix(".")


def _network(entry: str) -> IpNetwork | None:
    literal = literal_address(entry)
    if literal is not None:
        return ipaddress.ip_network(unwrapped(literal))
    try:
        return ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return None


@dataclass(frozen=True)
class OutboundPolicy:
    """What the operator allows one channel beyond public hosts: hosts (by name, address or
    network) that may be private or local, and for webhooks plain http."""

    allow_http: bool = False
    allowed_names: frozenset[str] = frozenset()
    allowed_networks: tuple[IpNetwork, ...] = ()

    @classmethod
    def of(cls, allow_http: bool, allowed_hosts: Iterable[str]) -> OutboundPolicy:
        """From the operator's list: each entry a host name, an IP (any form) or a CIDR."""
        names: set[str] = set()
        networks: list[IpNetwork] = []
        for entry in filter(None, (_normal(raw.strip()) for raw in allowed_hosts)):
            network = _network(entry)
            if network is not None:
                networks.append(network)
            elif _NAME.fullmatch(entry):
                names.add(entry)
            else:
                raise ValueError(f"{entry!r} is not a host name, an IP address or a network")
        return cls(allow_http, frozenset(names), tuple(networks))

    def allows_name(self, host: str) -> bool:
        return _normal(host) in self.allowed_names

    def allows_address(self, address: IpAddress) -> bool:
        plain = unwrapped(address)
        return is_public(plain) or any(plain in network for network in self.allowed_networks)


def scheme_refusal(scheme: str, policy: OutboundPolicy) -> str | None:
    """Why a URL with this scheme may not be used, or None."""
    if scheme == "https" or (scheme == "http" and policy.allow_http):
        return None
    if scheme == "http":
        return "must be an https:// URL: plain http:// is not allowed"
    return "must be an https:// URL"


def _is_local_name(name: str) -> bool:
    return "." not in name or name in LOCAL_NAMES or name.endswith(LOCAL_SUFFIXES)


def host_refusal(host: str, policy: OutboundPolicy) -> str | None:
    """Why a host (a URL's, or an SMTP server), as written, may not be connected to: an IP that
    is not public, or a name that only resolves inside the operator's network (no dot,
    `localhost`, `.internal`...)."""
    name = _normal(host)
    if policy.allows_name(name):
        return None
    address = literal_address(name)
    if address is None:
        return f"{PRIVATE} ({name})" if _is_local_name(name) else None
    if policy.allows_address(address):
        return None
    meaning = unwrapped(address)
    if str(meaning) == name or (meaning is address and ":" in name):
        return f"{PRIVATE} ({name})"
    return f"{PRIVATE} ({name} is {meaning})"


def resolved_refusal(host: str, address: IpAddress, policy: OutboundPolicy) -> str | None:
    """Why the worker may not connect to `address`, which `host` resolved to, or None."""
    if policy.allows_name(host) or policy.allows_address(address):
        return None
    return f"{PRIVATE} ({_normal(host)} resolves to {unwrapped(address)})"


def url_refusal(url: str, policy: OutboundPolicy) -> str | None:
    """Why a webhook URL (already a valid http(s) URL, see models.delivery) may not be saved,
    or None: a scheme the policy refuses, or a host that is not public as written."""
    parts = urlsplit(url)
    return scheme_refusal(parts.scheme, policy) or host_refusal(parts.hostname or "", policy)
