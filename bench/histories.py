"""Where a workflow's time went before its first update completed, read from its history."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory

from bench.figures import BenchError

HISTORY_SAMPLE = 40
"""Histories read of each kind: enough for a steady median, quick to fetch."""
TOTAL = "start → update completed"
WFT_COUNT = "workflow tasks (count)"


def _seconds(event: Any) -> float:
    return float(event.event_time.ToMicroseconds()) / 1e6


def update_segments(history: WorkflowHistory) -> dict[str, float]:
    """Where the time from the workflow's start to its first update's completion went."""
    segments: dict[str, float] = defaultdict(float)
    events = list(history.events)
    start = _seconds(events[0])
    task_scheduled = task_started = start
    activities: dict[int, tuple[str, float]] = {}
    started_at: dict[int, float] = {}
    for event in events:
        kind = event.event_type
        at = _seconds(event)
        which = "first" if segments[WFT_COUNT] <= 1 else "later"
        if kind == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
            task_scheduled = at
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            task_started = at
            segments[WFT_COUNT] += 1
            which = "first" if segments[WFT_COUNT] <= 1 else "later"
            segments[f"{which} workflow task: waiting for the worker"] += at - task_scheduled
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            segments[f"{which} workflow task: in the worker"] += at - task_started
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            name = event.activity_task_scheduled_event_attributes.activity_type.name
            activities[event.event_id] = (name, at)
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            scheduled_id = event.activity_task_started_event_attributes.scheduled_event_id
            name, scheduled = activities[scheduled_id]
            started_at[scheduled_id] = at
            segments["activities: waiting for the worker"] += at - scheduled
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            scheduled_id = event.activity_task_completed_event_attributes.scheduled_event_id
            name, _ = activities[scheduled_id]
            segments["activities: running"] += at - started_at[scheduled_id]
            segments[f"  {name}"] += at - started_at[scheduled_id]
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
            segments[TOTAL] = at - start
            break
    if TOTAL not in segments:
        raise BenchError(f"{history.workflow_id}: no update completed in its history")
    counted = sum(
        value
        for name, value in segments.items()
        if name not in (TOTAL, WFT_COUNT) and not name.startswith("  ")
    )
    segments["between events (server)"] = segments[TOTAL] - counted
    return segments


SEGMENT_ORDER = (
    "first workflow task: waiting for the worker",
    "first workflow task: in the worker",
    "later workflow task: waiting for the worker",
    "later workflow task: in the worker",
    "activities: waiting for the worker",
    "activities: running",
)


async def median_segments(client: Client, workflow_ids: Sequence[str]) -> dict[str, float]:
    """Median milliseconds of each segment over the workflows (the count stays a count)."""
    samples: dict[str, list[float]] = defaultdict(list)
    for workflow_id in workflow_ids:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        for name, value in update_segments(history).items():
            samples[name].append(value)
    return {
        name: median(values + [0.0] * (len(workflow_ids) - len(values)))
        * (1 if name == WFT_COUNT else 1000)
        for name, values in samples.items()
    }


@dataclass(frozen=True)
class RunSpans:
    """Where a workflow run's time went, from its history, step by step in order."""

    steps: list[tuple[str, float, float]]
    """(step, seconds waiting for a worker, seconds in the worker or running)."""
    total: float
    """From the run's start to its completion."""

    @property
    def between(self) -> float:
        """What is left: the server between one event and the next."""
        return self.total - sum(waited + ran for _, waited, ran in self.steps)


@dataclass(frozen=True)
class Step:
    """One workflow task or activity of a run: when it was scheduled, how long it waited for a
    worker, how long it ran (all its attempts), and how many attempts it took."""

    name: str
    scheduled: float
    """Seconds since the epoch."""
    waited: float
    ran: float
    attempts: int = 1


def steps_of(history: WorkflowHistory) -> list[Step]:
    """The workflow tasks and the completed activities of a history, in order."""
    scheduled: dict[int, tuple[str, float]] = {}
    started: dict[int, tuple[float, int]] = {}
    steps: list[Step] = []
    tasks, task_scheduled, task_started = 0, 0.0, 0.0
    for event in history.events:
        kind, at = event.event_type, _seconds(event)
        if kind == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
            task_scheduled = at
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            task_started = at
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            tasks += 1
            steps.append(
                Step(
                    f"workflow task {tasks}",
                    task_scheduled,
                    task_started - task_scheduled,
                    at - task_started,
                )
            )
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            name = event.activity_task_scheduled_event_attributes.activity_type.name
            scheduled[event.event_id] = (name, at)
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            attributes = event.activity_task_started_event_attributes
            started[attributes.scheduled_event_id] = (at, attributes.attempt)
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            scheduled_id = event.activity_task_completed_event_attributes.scheduled_event_id
            name, queued = scheduled[scheduled_id]
            began, attempts = started.get(scheduled_id, (queued, 1))
            steps.append(Step(f"activity {name}", queued, began - queued, at - began, attempts))
    return steps


def run_spans(history: WorkflowHistory) -> RunSpans:
    events = list(history.events)
    steps = [(step.name, step.waited, step.ran) for step in steps_of(history)]
    return RunSpans(steps, _seconds(events[-1]) - _seconds(events[0]))
