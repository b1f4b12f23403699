"""Running partnerflow commands as real processes, and waiting on what they print."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONFIG_VARIABLES = (
    "PARTNERFLOW_DATABASE_URL",
    "TEMPORAL_ADDRESS",
    "TEMPORAL_NAMESPACE",
    "PARTNERFLOW_TASK_QUEUE",
    "PARTNERFLOW_DEV_PORT",
    "PARTNERFLOW_DEV_UI_PORT",
    "PARTNERFLOW_STATE_DIR",
    "PARTNERFLOW_METRICS_ADDRESS",
    "PARTNERFLOW_LOG_FORMAT",
    "PARTNERFLOW_LOG_LEVEL",
)


DEV_READY = "Press Ctrl-C to stop."
"""What `partnerflow dev` prints once the demo is loaded and everything answers."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


class Command:
    """`python -m cli ARGS` with its output merged and read line by line."""

    def __init__(self, args: list[str], cwd: Path, env: Mapping[str, str] | None = None) -> None:
        environment = {k: v for k, v in os.environ.items() if k not in CONFIG_VARIABLES}
        environment |= {"PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
        environment |= dict(env or {})
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cli", *args],
            cwd=cwd,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._ended = False
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line)
        self._queue.put(None)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str, timeout: float) -> None:
        """Block until a line containing `text` is printed; fail if the process ends first."""
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {text!r} within {timeout} s; output:\n{self.output}")
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                self._ended = True
                raise AssertionError(f"exited before printing {text!r}; output:\n{self.output}")
            self.lines.append(line)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Send `signum`, wait for the exit, and return the exit code (all output read)."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(
                f"still running {timeout} s after {signum}:\n{self.output}"
            ) from None
        while not self._ended:
            line = self._queue.get(timeout=timeout)
            if line is None:
                self._ended = True
            else:
                self.lines.append(line)
        return code


def dev_stack(
    cwd: Path, port: int, ui_port: int, api_port: int, metrics_port: int | None = None
) -> Command:
    """`partnerflow dev`, what `make run` runs, on these ports with its state under `cwd`.

    Its metrics go to `metrics_port` (by default a free one), not to the fixed default
    port that another stack on this machine may hold.
    """
    ports = ["--port", str(port), "--ui-port", str(ui_port), "--api-port", str(api_port)]
    metrics = f"127.0.0.1:{metrics_port or free_port()}"
    return Command(["dev", *ports], cwd=cwd, env={"PARTNERFLOW_METRICS_ADDRESS": metrics})
