"""Fixtures of the channels' address checks: DNS answered from a table with every connection
recorded, and certificates for names that resolve to loopback."""

from __future__ import annotations

import socket
import ssl
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CERTIFICATE_NAMES = ("hooks.partner.test", "mail.partner.test", "other.partner.test")


@dataclass
class Network:
    """DNS mocked from a table (a name with no addresses does not exist), and every TCP
    connection the process opens, recorded."""

    answers: dict[str, list[str]]
    lookups: list[str] = field(default_factory=list)
    connections: list[tuple[str, int]] = field(default_factory=list)


@pytest.fixture
def network(monkeypatch: pytest.MonkeyPatch) -> Network:
    recorded = Network({})
    real_lookup, real_connect = socket.getaddrinfo, socket.create_connection

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in recorded.answers:
            return real_lookup(host, port, *args, **kwargs)
        recorded.lookups.append(host)
        if not recorded.answers[host]:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (
                socket.AF_INET6 if ":" in ip else socket.AF_INET,
                socket.SOCK_STREAM,
                socket.IPPROTO_TCP,
                "",
                (ip, port, 0, 0) if ":" in ip else (ip, port),
            )
            for ip in recorded.answers[host]
        ]

    def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        recorded.connections.append(address)
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    return recorded


def _certificate(folder: Path, name: str) -> tuple[Path, Path]:
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Self-signed certificates, made with the openssl command, for each of CERTIFICATE_NAMES."""
    folder = tmp_path_factory.mktemp("tls")
    return {name: _certificate(folder, name) for name in CERTIFICATE_NAMES}


def tls_server_context(
    certificates: dict[str, tuple[Path, Path]],
    trusted: str,
    name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> ssl.SSLContext:
    """A server's TLS context for `name`'s certificate; the channels trust `trusted`'s
    certificate as they trust a CA's."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates[trusted][0]))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificates[name])
    return context
