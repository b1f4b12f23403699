"""Heartbeats from a side thread while a sync activity blocks on the network: a worker that
dies mid-call is noticed after the heartbeat timeout, not the whole start-to-close timeout."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from temporalio import activity

HEARTBEAT_EVERY = 2.0
"""Seconds between heartbeats; the SDK sends at most one per 80% of the heartbeat timeout."""


@contextmanager
def heartbeating(every: float = HEARTBEAT_EVERY) -> Iterator[None]:
    """Heartbeat every `every` seconds until the block ends (nothing outside an activity)."""
    if not activity.in_activity():
        yield
        return
    context = contextvars.copy_context()  # the activity's, which activity.heartbeat needs
    done = threading.Event()

    def beat() -> None:
        while not done.wait(every):
            context.run(activity.heartbeat)

    beater = threading.Thread(target=beat, name="activity-heartbeat", daemon=True)
    beater.start()
    try:
        yield
    finally:
        done.set()
        beater.join()
