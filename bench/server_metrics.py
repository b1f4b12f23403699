"""What the Temporal dev server did for a phase of the benchmark, from its Prometheus metrics."""

from __future__ import annotations

import re
import urllib.request
from dataclasses import dataclass

_LINE = re.compile(r"^(\w+)\{(.*)\} ([0-9.eE+-]+|NaN)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class ServerWork:
    """Counts and seconds summed over the server's services."""

    workflow_tasks: float = 0.0
    activity_tasks: float = 0.0
    persistence_calls: float = 0.0
    persistence_seconds: float = 0.0
    visibility_writes: float = 0.0
    visibility_seconds: float = 0.0

    def __sub__(self, other: ServerWork) -> ServerWork:
        return ServerWork(
            *(
                getattr(self, name) - getattr(other, name)
                for name in self.__dataclass_fields__  # same order as the fields
            )
        )


def parse(text: str) -> ServerWork:
    totals: dict[str, float] = dict.fromkeys(ServerWork.__dataclass_fields__, 0.0)
    for line in text.splitlines():
        found = _LINE.match(line)
        if found is None:
            continue
        name, raw_labels, raw_value = found.groups()
        value = float(raw_value)
        if value != value:  # NaN
            continue
        labels = dict(_LABEL.findall(raw_labels))
        operation = labels.get("operation", "")
        if name == "service_latency_count" and labels.get("service_name") == "frontend":
            if operation == "RespondWorkflowTaskCompleted":
                totals["workflow_tasks"] += value
            elif operation == "RespondActivityTaskCompleted":
                totals["activity_tasks"] += value
        elif name == "persistence_latency_count":
            totals["persistence_calls"] += value
        elif name == "persistence_latency_sum":
            totals["persistence_seconds"] += value
        elif name == "visibility_persistence_latency_count":
            totals["visibility_writes"] += value
        elif name == "visibility_persistence_latency_sum":
            totals["visibility_seconds"] += value
    return ServerWork(**totals)


def scrape(port: int) -> ServerWork:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        return parse(response.read().decode())
