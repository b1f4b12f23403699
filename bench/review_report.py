"""The figures of a program review run (bench/review.py) as tables: printed, and in the README."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.console import Console

from bench.histories import RunSpans
from bench.report import Row, Section, markdown_sections, print_sections, profile_breakdown, verdict
from bench.review_seed import SeedResult
from bench.server_metrics import ServerWork
from models.review import Assessment, ReviewOutcome
from models.standing import WAKING, Standing

TARGET_SECONDS = 60.0
TARGET_RESELLERS = 100_000
TARGET_RATIO = 2.0
README_BEFORE = "<!-- review:results:end -->"
"""The line in bench/README.md before which a size and database's first block goes."""
PROFILE_TOP = 12


@dataclass
class ReviewResults:
    machine: dict[str, str]
    command: str
    database: str
    resellers: int
    requested_orders: int
    period: str = ""
    partners: int = 0
    at_risk: int = 0
    expected: dict[str, int] = field(default_factory=dict)
    """Standings the seed's roles call for."""
    seed: SeedResult | None = None
    enroll_seconds: float = 0.0
    floor_nominations: int = 0
    floor_fan_out: float = 0.0
    """Seconds Temporal alone took to signal-with-start as many new trivial workflows."""
    aggregation_cold: float = 0.0
    aggregation_warm: float = 0.0
    aggregation_rows: int = 0
    plain: dict[str, float] = field(default_factory=dict)
    plain_assessment: Assessment | None = None
    outcome: ReviewOutcome | None = None
    total: float = 0.0
    """The review workflow from its start to its result, seconds."""
    settled: float = 0.0
    """From the review's start until every woken partner recorded its transition and notice."""
    rss_before: int = 0
    peak_review: int = 0
    peak_settled: int = 0
    peak_reset: bool = False
    cpu_review: dict[str, float] = field(default_factory=dict)
    cpu_settle: dict[str, float] = field(default_factory=dict)
    server_review: ServerWork | None = None
    server_settle: ServerWork | None = None
    spans: RunSpans | None = None
    profile: dict[str, Any] | None = None
    settle_profile: dict[str, Any] | None = None
    """The worker's CPU profile after the review answered, until the woken partners settled."""
    wall_seconds: float = 0.0

    @property
    def ratio(self) -> float:
        return self.total / self.plain["total"]

    @property
    def best_ratio(self) -> float:
        """The ratio if the review cost only the plain script plus Temporal's own fan-out."""
        return (self.plain["total"] + self.floor_fan_out) / self.plain["total"]

    @property
    def size(self) -> str:
        orders = self.seed.orders if self.seed else self.requested_orders
        return f"{_count(self.resellers)} resellers / {_count(orders)} orders"


def _count(number: float) -> str:
    for unit, scale in (("M", 1e6), ("k", 1e3)):
        if number >= scale:
            return f"{number / scale:.3g}{unit}"
    return str(int(number))


def block_key(results: ReviewResults) -> str:
    return (
        f"review:{results.database}:{_count(results.resellers)}-{_count(results.requested_orders)}"
    )


def _s(seconds: float) -> str:
    return f"{seconds:.2f}"


def _mib(size: int) -> str:
    return f"{size / 2**20:.0f} MiB"


def target_rows(r: ReviewResults) -> list[Row]:
    applies = r.resellers >= TARGET_RESELLERS and r.database == "postgresql"
    return [
        (
            "review end to end, workflow start → result (s)",
            _s(r.total),
            f"< {TARGET_SECONDS:.0f} s at 100k / 5M on PostgreSQL",
            verdict(r.total < TARGET_SECONDS) if applies else "(other size)",
        ),
        (
            "review ÷ the plain script (open, assess, report, no Temporal)",
            f"{r.ratio:.2f}×",
            f"≤ {TARGET_RATIO:.0f}×",
            verdict(r.ratio <= TARGET_RATIO),
        ),
    ]


def stage_rows(r: ReviewResults) -> list[Row]:
    outcome = r.outcome
    assert outcome is not None
    a, fan = outcome.assessment, outcome.fan_out
    plain = r.plain_assessment
    woken = fan.signalled + fan.nominated
    rows: list[Row] = [
        (
            "SQL aggregation alone, run directly (cold / warm)",
            f"{_s(r.aggregation_cold)} / {_s(r.aggregation_warm)}",
            "",
            f"{r.aggregation_rows} rows",
        ),
        (
            "aggregation (inside assess)",
            _s(a.aggregation_seconds),
            _s(plain.aggregation_seconds) if plain else "",
            f"{a.resellers} resellers assessed",
        ),
        (
            "decisions (inside assess)",
            _s(a.decision_seconds),
            _s(plain.decision_seconds) if plain else "",
            "",
        ),
        (
            "storing the snapshots (inside assess)",
            _s(a.store_seconds),
            _s(plain.store_seconds) if plain else "",
            "",
        ),
        (
            "fan-out: signals and nominations",
            _s(fan.seconds),
            "",
            f"{woken} partners woken in {fan.batches} batches",
        ),
        (
            "Temporal alone: signal-with-start of as many new trivial workflows",
            _s(r.floor_fan_out),
            "",
            f"{r.floor_nominations} workflows; fan-out ÷ this {fan.seconds / r.floor_fan_out:.2f}×"
            if r.floor_fan_out
            else "",
        ),
        ("report", _s(outcome.report_seconds), _s(r.plain.get("report", 0)), ""),
        (
            "total: review start → result / the plain script",
            _s(r.total),
            _s(r.plain["total"]),
            f"ratio {r.ratio:.2f}×",
        ),
        (
            "the plain script + Temporal's own fan-out alone",
            "",
            _s(r.plain["total"] + r.floor_fan_out),
            f"ratio {r.best_ratio:.2f}×: the least Temporal allows here",
        ),
        (
            "until every woken partner recorded its transition and notice",
            _s(r.settled),
            "",
            "from the review's start",
        ),
    ]
    return rows


def standing_rows(r: ReviewResults) -> list[Row]:
    outcome = r.outcome
    assert outcome is not None
    found = outcome.assessment.standings
    rows: list[Row] = []
    for standing in Standing:
        expected, got = r.expected.get(standing.value, 0), found.get(standing.value, 0)
        if expected or got:
            woken = "yes" if standing in WAKING else ""
            rows.append((standing.value, str(expected), str(got), woken))
    fan = outcome.fan_out
    rows.append(
        (
            "partners woken: signalled + nominated (missing)",
            str(sum(n for s, n in r.expected.items() if Standing(s) in WAKING)),
            f"{fan.signalled} + {fan.nominated} ({getattr(fan, 'missing', 0)})",
            "",
        )
    )
    return rows


def memory_rows(r: ReviewResults) -> list[Row]:
    reset = "" if r.peak_reset else " (could not reset: peak since the worker started)"
    return [
        ("worker RSS before the review (after the enrollments)", _mib(r.rss_before)),
        ("peak worker RSS (VmHWM) during the review" + reset, _mib(r.peak_review)),
        ("peak worker RSS until the woken partners settled", _mib(r.peak_settled)),
    ]


def history_rows(r: ReviewResults) -> list[Row]:
    spans = r.spans
    if spans is None:
        return []
    rows: list[Row] = [(name, _s(waited), _s(ran)) for name, waited, ran in spans.steps]
    rows.append(("between events (server)", "", _s(spans.between)))
    rows.append(("the run, started → completed", "", _s(spans.total)))
    return rows


def cpu_rows(r: ReviewResults) -> list[Row]:
    cores = int(r.machine["cpus"])
    rows: list[Row] = [
        (name, _s(r.cpu_review.get(name, 0)), _s(r.cpu_settle.get(name, 0)))
        for name in r.cpu_review
    ]
    settling = r.settled - r.total
    rows.append(
        (
            f"busy share of the {cores} CPUs",
            f"{sum(r.cpu_review.values()) / r.total / cores:.0%}",
            f"{sum(r.cpu_settle.values()) / settling / cores:.0%}" if settling > 0 else "",
        )
    )
    return rows


def server_rows(r: ReviewResults) -> list[Row]:
    """What the dev server did, in all and per woken partner (from its Prometheus metrics)."""
    review, settle, outcome = r.server_review, r.server_settle, r.outcome
    if review is None or settle is None or outcome is None:
        return []
    woken = max(outcome.fan_out.signalled + outcome.fan_out.nominated, 1)
    rows: list[Row] = []
    for label, name in (
        ("workflow tasks completed", "workflow_tasks"),
        ("activity tasks completed", "activity_tasks"),
        ("persistence calls", "persistence_calls"),
        ("visibility writes", "visibility_writes"),
    ):
        during, after = getattr(review, name), getattr(settle, name)
        rows.append((label, f"{during:.0f}", f"{after:.0f}", f"{(during + after) / woken:.1f}"))
    return rows


def sections(r: ReviewResults) -> list[Section]:
    purposes, libraries = profile_breakdown(r.profile, top=PROFILE_TOP) if r.profile else ([], [])
    woken = max(r.outcome.fan_out.signalled + r.outcome.fan_out.nominated, 1) if r.outcome else 1
    settling, settling_libraries = (
        profile_breakdown(r.settle_profile, woken, top=PROFILE_TOP)
        if r.settle_profile
        else ([], [])
    )
    return [
        ("Targets (issue 5)", ["measure", "result", "target", ""], target_rows(r)),
        (
            "Stages (seconds): the review through Temporal, and the plain script",
            ["stage", "review", "plain script", ""],
            stage_rows(r),
        ),
        (
            "Standings: what the seeded roles call for, and what the review decided",
            ["standing", "seeded", "review", "wakes the partner"],
            standing_rows(r),
        ),
        ("Worker memory", ["", ""], memory_rows(r)),
        (
            "The review's history (seconds)",
            ["step", "waiting for the worker", "in the worker / running"],
            history_rows(r),
        ),
        (
            "CPU seconds per process",
            ["process", "during the review", "after it, until the partners settled"],
            cpu_rows(r),
        ),
        (
            "Temporal server work",
            ["", "during the review", "after it, until the partners settled", "per woken partner"],
            server_rows(r),
        ),
        ("Worker CPU during the review (ms, sampled)", ["spent on", "ms"], purposes),
        (
            "Its biggest consumers (the innermost Python frame's library, ms)",
            ["spent on", "library", "ms"],
            libraries,
        ),
        (
            "Worker CPU per woken partner after the review, until they settled (ms, sampled)",
            ["spent on", "ms"],
            settling,
        ),
        (
            "Its biggest consumers, per woken partner (ms)",
            ["spent on", "library", "ms"],
            settling_libraries,
        ),
    ]


def print_report(r: ReviewResults, console: Console) -> None:
    console.print(f"[bold]{r.size}, {r.database}[/]: review of {r.period}")
    print_sections(sections(r), console)


def markdown(r: ReviewResults) -> str:
    m = r.machine
    seed = r.seed
    assert seed is not None
    lines = [
        f"#### {r.size}, {r.database}, {m['date']}, partnerflow {m['commit']}",
        "",
        f"`{r.command.strip()}` on {m['cpus']} × {m['cpu_model']} ({m.get('memory', '?')}), "
        f"Python {m['python']}, temporalio {m['temporalio']}, {m['temporal_cli']} (dev server in "
        f"memory), worker in its own process. Review of {r.period} (monthly). "
        f"{seed.resellers} resellers and {seed.orders} orders seeded in "
        f"{seed.orders_seconds:.0f} s (+ {seed.index_seconds:.0f} s indexes and keys, "
        f"{seed.analyze_seconds:.0f} s vacuum/analyze); {r.partners} partners "
        f"({r.at_risk} at risk) enrolled through their workflows in {r.enroll_seconds:.0f} s; "
        f"whole run {r.wall_seconds:.0f} s.",
    ]
    lines += markdown_sections(sections(r))
    return "\n".join(lines)
