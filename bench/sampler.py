"""A small CPU profiler for the worker process: where its CPU time goes, by purpose and library.

A thread samples every Python thread's stack and charges it the CPU time that
thread used since the last sample (from the thread's own CPU clock), so idle
threads cost nothing and a busy one is charged what it really burnt. The time
the process used outside Python threads (the Temporal SDK core's Rust threads)
is what remains of the process's CPU time.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from types import FrameType
from typing import Any

SAMPLE_INTERVAL = 0.007
"""Seconds between samples: off the 10 ms rhythm of timers, cheap enough to leave on."""
_REPO = str(Path(__file__).resolve().parents[1])
_OWN_CODE = (
    "activities",
    "workflows",
    "api",
    "models",
    "services",
    "workers",
    "clients",
    "cli",
    "devstack",
    "runtime",
    "store",
)
STACK_LIMIT = 400
OTHER = "other Python"


def _library(filename: str) -> str:
    """`sqlalchemy`, `pydantic_core`, `partnerflow activities`, `stdlib asyncio`, …"""
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if filename.startswith(_REPO):
        top = filename[len(_REPO) + 1 :].split("/", 1)[0]
        return f"partnerflow {top}" if top in _OWN_CODE else top
    if filename.startswith("<"):
        return filename  # <frozen ...>, the sandbox's generated code
    parts = filename.split("/")
    if "lib" in parts:
        rest = parts[len(parts) - parts[::-1].index("lib") :]
        module = rest[1] if len(rest) > 1 else rest[0]
        return f"stdlib {module.removesuffix('.py')}"
    return filename


WORKFLOW_TASKS = "workflow activations (workflow code in the sandbox, payloads)"
NEW_INSTANCE = "new workflow instances: the sandbox re-imports the workflow (on the event loop)"


def thread_group(name: str) -> str:
    """The kind of thread a name says: the event loop, activity, workflow or API threads."""
    if name == "MainThread":
        return "event loop thread"
    if name.startswith("activity"):
        return "activity threads"
    if name.startswith("temporal_workflow"):
        return "workflow threads"
    if name.startswith("AnyIO worker"):
        return "API threads"
    return "other threads"


def _activity(frames: list[tuple[str, str]]) -> str | None:
    """`activity {function}`: the outermost frame in partnerflow's activities, if any."""
    for filename, function in frames:
        if f"{_REPO}/activities/" in filename:
            return f"activity {function}"
    return None


def _purpose(group: str, frames: list[tuple[str, str]]) -> str:
    """What the thread was doing, from its group and its frames (outermost first)."""
    if group == "workflow threads":
        return WORKFLOW_TASKS
    if any(function == "_create_workflow_instance" for _, function in frames):
        return NEW_INSTANCE
    if group == "activity threads":
        return _activity(frames) or "activity dispatch (SDK)"
    if group == "event loop thread" and (running := _activity(frames)):
        return f"{running} (async, on the event loop)"
    if group == "API threads" or any(
        f"site-packages/{lib}/" in filename
        for filename, _ in frames
        for lib in ("fastapi", "starlette", "uvicorn")
    ):
        return "API requests"
    if any("site-packages/temporalio/" in filename for filename, _ in frames):
        return "Temporal SDK on the event loop (client, pollers, payloads)"
    if group == "event loop thread":
        return "event loop (asyncio callbacks, I/O)"
    return f"{OTHER}: {group}"


_IDLE = {
    ("stdlib selectors", "select"),  # the event loop, waiting for I/O
    ("stdlib concurrent", "_worker"),  # a pool thread, waiting for work
    ("stdlib threading", "wait"),
    ("stdlib queue", "get"),
}


class CpuSampler:
    """Samples while started; `stop()` returns where the process's CPU went since `start()`.

    CPU a thread used since the previous sample is charged to the stack it is in now. A
    thread found idle (the event loop in select, a pool thread waiting for work) has
    finished the work that used it, so its CPU is spread over what the same group of
    threads was seen doing, in proportion.
    """

    def __init__(self, interval: float = SAMPLE_INTERVAL) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._own_cpu = 0.0
        self._reset()

    def _reset(self) -> None:
        self._by_library: dict[tuple[str, str, str], float] = defaultdict(float)
        self._idle: dict[str, float] = defaultdict(float)
        self._process_cpu = time.process_time()
        self._wall = time.perf_counter()
        self._own_cpu = 0.0

    def start(self) -> None:
        with self._lock:
            self._reset()
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)
            self._thread.start()

    def stop(self) -> dict[str, Any]:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        with self._lock:
            return self.report()

    def report(self) -> dict[str, Any]:
        """Seconds of CPU: by purpose, by (purpose, library), and outside Python threads."""
        process = time.process_time() - self._process_cpu
        seen: dict[str, float] = defaultdict(float)
        for (group, _, _), seconds in self._by_library.items():
            seen[group] += seconds
        by_library: dict[tuple[str, str], float] = defaultdict(float)
        unplaced = 0.0
        for group, idle in self._idle.items():
            if not seen[group]:
                unplaced += idle
        for (group, purpose, library), seconds in self._by_library.items():
            scale = 1 + self._idle[group] / seen[group]
            by_library[(purpose, library)] += seconds * scale
        if unplaced:
            by_library[("idle threads (no work seen)", "")] += unplaced
        by_purpose: dict[str, float] = defaultdict(float)
        for (purpose, _), seconds in by_library.items():
            by_purpose[purpose] += seconds
        python = sum(by_purpose.values()) + self._own_cpu
        return {
            "wall": time.perf_counter() - self._wall,
            "process_cpu": process,
            "python_cpu": python,
            "native_cpu": max(process - python, 0.0),
            "sampler_cpu": self._own_cpu,
            "idle_spread": sum(self._idle.values()),
            "by_purpose": dict(by_purpose),
            "by_library": [[p, lib, s] for (p, lib), s in by_library.items()],
        }

    def _run(self) -> None:
        own = threading.get_ident()
        started = time.thread_time()
        last: dict[int, float] = {}
        while not self._stop.wait(self.interval):
            names = {thread.ident: thread.name for thread in threading.enumerate()}
            for ident, frame in sys._current_frames().items():
                if ident == own:
                    continue
                try:
                    cpu = time.clock_gettime(time.pthread_getcpuclockid(ident))
                except (OSError, OverflowError):
                    continue
                used = cpu - last.get(ident, cpu)
                last[ident] = cpu
                if used > 0:
                    self._charge(thread_group(names.get(ident, "")), frame, used)
            with self._lock:
                self._own_cpu = time.thread_time() - started

    def _charge(self, group: str, frame: FrameType, used: float) -> None:
        frames: list[tuple[str, str]] = []
        current: FrameType | None = frame
        while current is not None and len(frames) < STACK_LIMIT:
            frames.append((current.f_code.co_filename, current.f_code.co_name))
            current = current.f_back
        inner_file, inner_function = frames[0]
        library = _library(inner_file)
        with self._lock:
            if (library, inner_function) in _IDLE:
                self._idle[group] += used
            else:
                self._by_library[(group, _purpose(group, frames[::-1]), library)] += used
