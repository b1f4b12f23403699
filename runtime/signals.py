"""Stopping a process cleanly: SIGTERM and SIGINT set an event instead of interrupting."""

from __future__ import annotations

import asyncio
import signal
from datetime import timedelta

SHUTDOWN_GRACE = timedelta(seconds=20)
"""How long in-flight work may run on after SIGTERM; compose allows 30 s to stop."""


def stop_on_signals() -> asyncio.Event:
    """An event that SIGTERM and SIGINT set, instead of interrupting whatever is running."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return stop
