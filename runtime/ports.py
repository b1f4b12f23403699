"""The HTTP API's address, and whether its port is free before a server starts on it."""

from __future__ import annotations

import socket

DEFAULT_API_HOST = "127.0.0.1"
DEFAULT_API_PORT = 8000
DEFAULT_TEMPORAL_PORT = 7233
"""The Temporal dev server's gRPC port in the local stack."""
DEFAULT_UI_PORT = 8233
"""The Temporal Web UI's port in the local stack."""


class ApiPortTaken(Exception):
    """Something else already listens on the API's port."""


def check_port_free(host: str, port: int) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise ApiPortTaken(
                f"port {port} on {host} is taken ({error.strerror}): stop what uses it, or "
                "choose another with --port"
            ) from None
