"""What a benchmark run measured: latencies, throughputs, and the run's figures together."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.server_metrics import ServerWork

SHAPE = 5
"""Activities an enrollment ran in its update before 01d895d: context, metrics, transition,
offers, welcome. Since, it runs one local activity and sends the welcome after answering."""


class BenchError(RuntimeError):
    """The benchmark could not run or got a wrong answer; the message says what."""


@dataclass(frozen=True)
class Shape:
    """The floor's update doing some of an enrollment's steps as no-op activities."""

    label: str
    activities: int = 0
    local_activities: int = 0


NOTHING = Shape("nothing (the floor again, beside the others)")
ENROLLMENT_SHAPE = Shape("1 local activity (an enrollment's shape)", local_activities=1)
SHAPES = (
    NOTHING,
    ENROLLMENT_SHAPE,
    Shape("1 activity", activities=1),
    Shape(f"{SHAPE} activities (an enrollment's shape before 01d895d)", activities=SHAPE),
)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), interpolated between the closest ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class Latencies:
    seconds: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.seconds.append(value)

    @property
    def p50_ms(self) -> float:
        return percentile(self.seconds, 50) * 1000

    @property
    def p99_ms(self) -> float:
        return percentile(self.seconds, 99) * 1000


@dataclass
class Throughput:
    count: int
    elapsed: float
    """Seconds from the first request to the last answer."""
    latencies: Latencies
    cpu: dict[str, float]
    """CPU seconds of each process over the phase, trailing work included."""
    drained: float | None = None
    """Seconds until the work that trails the answers (the welcomes) was done too."""

    @property
    def per_second(self) -> float:
        return self.count / self.elapsed

    @property
    def span(self) -> float:
        return self.drained if self.drained is not None else self.elapsed


@dataclass
class HttpSample:
    """One HTTP request: the client's latency and the server's split (milliseconds)."""

    client_ms: float
    app_ms: float
    db_ms: float
    temporal_ms: float


@dataclass
class ShapeResult:
    latencies: Latencies
    server: ServerWork
    cpu_per_request: float
    """CPU seconds of all the run's processes per request, one request at a time."""
    workflow: dict[str, float] = field(default_factory=dict)


@dataclass
class Results:
    machine: dict[str, str]
    command: str
    database: str
    clients: int
    separate_worker: bool
    floor_new: Latencies = field(default_factory=Latencies)
    floor_repeat: Latencies = field(default_factory=Latencies)
    floor_update: Latencies = field(default_factory=Latencies)
    pf_new: Latencies = field(default_factory=Latencies)
    pf_repeat: Latencies = field(default_factory=Latencies)
    pf_new_split: list[HttpSample] = field(default_factory=list)
    pf_repeat_split: list[HttpSample] = field(default_factory=list)
    floor_rate: Throughput | None = None
    pf_rate: Throughput | None = None
    pf_workflow: dict[str, float] = field(default_factory=dict)
    floor_workflow: dict[str, float] = field(default_factory=dict)
    shapes: dict[Shape, ShapeResult] = field(default_factory=dict)
    floor_server: ServerWork | None = None
    pf_server: ServerWork | None = None
    profile: dict[str, Any] | None = None
    floor_new_cpu: float = float("nan")
    pf_new_cpu: float = float("nan")
    partners: int = 0
    seed_seconds: float = 0.0
    orders: int = 0
    wall_seconds: float = 0.0
