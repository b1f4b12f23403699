"""The figures of a run as tables: printed with Rich, and written into bench/README.md."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from statistics import median
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.figures import ENROLLMENT_SHAPE, NOTHING, HttpSample, Latencies, Results
from bench.histories import HISTORY_SAMPLE, SEGMENT_ORDER, TOTAL, WFT_COUNT
from bench.server_metrics import ServerWork

README = Path(__file__).with_name("README.md")
TARGET_P50 = 1.5
TARGET_P99 = 2.0
TARGET_RATE = 150.0
PROFILE_TOP = 14


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


Row = tuple[str, ...]
Section = tuple[str, Sequence[str], list[Row]]
"""A table: its title, its header and its rows."""


def summary_rows(results: Results) -> list[Row]:
    """(measure, floor, partnerflow, ratio, target, verdict)."""
    rows: list[Row] = []
    for label, floor, ours in (
        ("new partner", results.floor_new, results.pf_new),
        ("repeated request", results.floor_repeat, results.pf_repeat),
    ):
        for stat, target in (("p50", TARGET_P50), ("p99", TARGET_P99)):
            f = floor.p50_ms if stat == "p50" else floor.p99_ms
            p = ours.p50_ms if stat == "p50" else ours.p99_ms
            rows.append(
                (
                    f"{label}, {stat} (ms)",
                    f"{f:.1f}",
                    f"{p:.1f}",
                    f"{p / f:.2f}×",
                    f"≤ {target}×",
                    verdict(p / f <= target),
                )
            )
    floor_rate, pf_rate = results.floor_rate, results.pf_rate
    assert floor_rate is not None and pf_rate is not None
    # Sustained means the welcomes that leave after the answers keep up too.
    sustained = pf_rate.count / pf_rate.span
    rows.append(
        (
            f"sustained enrollments, {pf_rate.count} new, {results.clients} in flight, "
            "welcomes sent (/s)",
            f"{floor_rate.per_second:.1f}",
            f"{sustained:.1f}",
            f"{sustained / floor_rate.per_second:.2f}×",
            f"≥ {TARGET_RATE:.0f}/s",
            verdict(sustained >= TARGET_RATE),
        )
    )
    return rows


def reference_rows(results: Results) -> list[Row]:
    """Figures without a target that help read the others: (measure, floor, partnerflow)."""
    floor_rate, pf_rate = results.floor_rate, results.pf_rate
    assert floor_rate is not None and pf_rate is not None
    return [
        (
            "plain update of an existing workflow, p50 / p99 (ms)",
            f"{results.floor_update.p50_ms:.1f} / {results.floor_update.p99_ms:.1f}",
            "",
        ),
        (
            f"latency with {results.clients} in flight, p50 / p99 (ms)",
            f"{floor_rate.latencies.p50_ms:.0f} / {floor_rate.latencies.p99_ms:.0f}",
            f"{pf_rate.latencies.p50_ms:.0f} / {pf_rate.latencies.p99_ms:.0f}",
        ),
        (
            f"answers per second with {results.clients} in flight (welcomes still leaving)",
            f"{floor_rate.per_second:.1f}",
            f"{pf_rate.per_second:.1f}",
        ),
    ]


def shape_rows(results: Results) -> list[Row]:
    """New workflows one at a time: the floor doing an enrollment's steps, and partnerflow.

    Each shape is compared with the plain floor measured in the same phase: the dev
    server's latency drifts over a run (it rises after the first few dozen workflows).
    The last column is the rate at which these CPUs would be used up by that CPU per
    request: the throughput phases ran close to it.
    """
    cores = int(results.machine["cpus"])
    beside = results.shapes.get(NOTHING)

    def row(
        label: str,
        latencies: Latencies,
        reference: Latencies,
        workflow: dict[str, float],
        calls: float,
        cpu: float,
    ) -> Row:
        return (
            label,
            f"{latencies.p50_ms:.1f}",
            f"{latencies.p99_ms:.1f}",
            f"{latencies.p50_ms / reference.p50_ms:.2f}×",
            f"{workflow.get(WFT_COUNT, float('nan')):.0f}",
            f"{calls:.0f}",
            f"{cpu * 1000:.0f}",
            f"{cores / cpu:.0f}",
        )

    rows = []
    for shape, found in results.shapes.items():
        rows.append(
            row(
                f"floor + {shape.label}" if shape != NOTHING else f"floor: {shape.label}",
                found.latencies,
                beside.latencies if beside else results.floor_new,
                found.workflow,
                found.server.persistence_calls / len(found.latencies.seconds),
                found.cpu_per_request,
            )
        )
    if results.pf_server is not None and results.pf_rate is not None:
        rows.append(
            row(
                "partnerflow enrollment over HTTP (its own phase)",
                results.pf_new,
                results.floor_new,
                results.pf_workflow,
                results.pf_server.persistence_calls / results.pf_rate.count,
                results.pf_new_cpu,
            )
        )
    return rows


def split_rows(results: Results) -> list[Row]:
    """Median milliseconds of each part of a request, new and repeated."""

    def med(samples: list[HttpSample], part: Callable[[HttpSample], float]) -> str:
        return f"{median(part(s) for s in samples):.1f}"

    parts: list[tuple[str, Callable[[HttpSample], float]]] = [
        ("client latency (httpx over TCP)", lambda s: s.client_ms),
        ("  HTTP: httpx, TCP, uvicorn outside the app", lambda s: s.client_ms - s.app_ms),
        ("  the app (FastAPI), of which:", lambda s: s.app_ms),
        ("    its database: API key, reseller", lambda s: s.db_ms),
        ("    FastAPI, validation, view", lambda s: s.app_ms - s.db_ms - s.temporal_ms),
        ("    the update-with-start call", lambda s: s.temporal_ms),
    ]
    return [
        (label, med(results.pf_new_split, part), med(results.pf_repeat_split, part))
        for label, part in parts
    ]


def workflow_rows(results: Results) -> list[Row]:
    shape = results.shapes.get(ENROLLMENT_SHAPE)
    columns = (
        results.floor_workflow,
        shape.workflow if shape else {},
        results.pf_workflow,
    )
    names = [TOTAL, WFT_COUNT, *SEGMENT_ORDER]
    names += sorted(n for n in results.pf_workflow if n.startswith("  "))
    names.append("between events (server)")
    rows: list[Row] = []
    for name in names:
        fmt = "{:.0f}" if name == WFT_COUNT else "{:.1f}"
        rows.append((name, *(fmt.format(c[name]) if name in c else "" for c in columns)))
    return rows


def cpu_rows(results: Results) -> list[Row]:
    floor_rate, pf_rate = results.floor_rate, results.pf_rate
    assert floor_rate is not None and pf_rate is not None
    rows: list[Row] = [
        (
            name,
            f"{floor_rate.cpu[name] / floor_rate.count * 1000:.1f}",
            f"{pf_rate.cpu[name] / pf_rate.count * 1000:.1f}",
        )
        for name in pf_rate.cpu
    ]
    rows.append(
        (
            "all processes",
            f"{sum(floor_rate.cpu.values()) / floor_rate.count * 1000:.1f}",
            f"{sum(pf_rate.cpu.values()) / pf_rate.count * 1000:.1f}",
        )
    )
    cores = int(results.machine["cpus"])
    rows.append(
        (
            f"busy share of the {cores} CPUs during the phase",
            f"{sum(floor_rate.cpu.values()) / floor_rate.span / cores:.0%}",
            f"{sum(pf_rate.cpu.values()) / pf_rate.span / cores:.0%}",
        )
    )
    return rows


def server_rows(results: Results) -> list[Row]:
    floor_rate, pf_rate = results.floor_rate, results.pf_rate
    assert floor_rate is not None and pf_rate is not None
    floor, ours = results.floor_server, results.pf_server
    if floor is None or ours is None:
        return []

    def per(work: ServerWork, count: int, name: str, scale: float = 1.0) -> str:
        return f"{getattr(work, name) / count * scale:.1f}"

    fields = [
        ("workflow tasks completed", "workflow_tasks", 1.0),
        ("activity tasks completed", "activity_tasks", 1.0),
        ("persistence calls", "persistence_calls", 1.0),
        ("persistence time (ms, summed over concurrent calls)", "persistence_seconds", 1000.0),
        ("visibility writes (search attributes)", "visibility_writes", 1.0),
        ("visibility write time (ms)", "visibility_seconds", 1000.0),
    ]
    rows: list[Row] = [
        (label, per(floor, floor_rate.count, name, scale), per(ours, pf_rate.count, name, scale))
        for label, name, scale in fields
    ]
    rows.append(
        (
            "persistence calls per second, all requests",
            f"{floor.persistence_calls / floor_rate.span:.0f}",
            f"{ours.persistence_calls / pf_rate.span:.0f}",
        )
    )
    return rows


def profile_rows(results: Results) -> tuple[list[Row], list[Row]]:
    """CPU ms per enrollment in the API + worker process: by purpose, and the top libraries."""
    profile, pf_rate = results.profile, results.pf_rate
    if not profile or pf_rate is None:
        return [], []
    return profile_breakdown(profile, pf_rate.count)


def profile_breakdown(
    profile: dict[str, Any], count: float = 1, top: int = PROFILE_TOP
) -> tuple[list[Row], list[Row]]:
    """A bench/sampler.py profile as CPU ms (per `count` of something): by purpose, and the
    `top` (purpose, library) pairs."""

    def ms(seconds: float) -> str:
        return f"{seconds / count * 1000:.1f}"

    purposes: list[Row] = [("all (process CPU time)", ms(profile["process_cpu"]))]
    purposes.append(("  outside Python: the SDK core (Rust), C", ms(profile["native_cpu"])))
    for name, seconds in sorted(profile["by_purpose"].items(), key=lambda kv: -kv[1]):
        purposes.append((f"  {name}", ms(seconds)))
    purposes.append(("  the sampler itself (what profiling cost)", ms(profile["sampler_cpu"])))
    libraries: list[Row] = [
        (purpose, library, ms(seconds))
        for purpose, library, seconds in sorted(profile["by_library"], key=lambda r: -r[2])[:top]
    ]
    return purposes, libraries


def _table(title: str, header: Sequence[str], rows: Sequence[Row]) -> Table:
    table = Table(title=title, title_justify="left")
    for index, column in enumerate(header):
        table.add_column(column, justify="left" if index == 0 else "right")
    for row in rows:
        style = "green" if row[-1] == "PASS" else "red" if row[-1] == "MISS" else None
        table.add_row(*row, style=style)
    return table


def sections(results: Results) -> list[Section]:
    purposes, libraries = profile_rows(results)
    parts: list[tuple[str, Sequence[str], list[Row]]] = [
        (
            "Targets (issue 4)",
            ["measure", "floor", "partnerflow", "ratio", "target", ""],
            summary_rows(results),
        ),
        ("For reading them", ["measure", "floor", "partnerflow"], reference_rows(results)),
        (
            "New workflows one at a time: Temporal alone doing an enrollment's steps as no-op "
            "activities, and partnerflow (CPU: all processes, per request; the last column "
            "is the CPUs divided by it)",
            [
                "the update",
                "p50 ms",
                "p99 ms",
                "p50 / floor beside it",
                "workflow tasks",
                "persistence calls",
                "CPU ms",
                "≈ CPU-bound max/s",
            ],
            shape_rows(results),
        ),
        (
            "Where an enrollment request's time goes (median ms)",
            ["part", "new", "repeated"],
            split_rows(results),
        ),
        (
            "Inside the update-with-start, from the workflow's start to the update's completion "
            f"(median ms over up to {HISTORY_SAMPLE} histories of each)",
            ["segment", "floor", f"floor + {ENROLLMENT_SHAPE.label}", "partnerflow"],
            workflow_rows(results),
        ),
        (
            "CPU per request during the throughput phases (ms)",
            ["process", "floor", "partnerflow"],
            cpu_rows(results),
        ),
        (
            "Temporal server work per request during the throughput phases",
            ["", "floor", "partnerflow"],
            server_rows(results),
        ),
    ]
    if purposes:
        parts.append(
            (
                "CPU of the API + worker process per enrollment, sampled during the throughput "
                "phase (ms)",
                ["spent on", "ms"],
                purposes,
            )
        )
        parts.append(
            (
                "Its biggest consumers (the innermost Python frame's library, ms per enrollment)",
                ["spent on", "library", "ms"],
                libraries,
            )
        )
    return parts


def print_sections(parts: Sequence[Section], console: Console) -> None:
    """The tables that have rows, printed with Rich."""
    for title, header, rows in parts:
        if rows:
            console.print(_table(title, header, rows))


def markdown_sections(parts: Sequence[Section]) -> list[str]:
    """The tables that have rows, as Markdown lines, each after its title."""
    lines: list[str] = []
    for title, header, rows in parts:
        if rows:
            lines += ["", f"{title}:", "", markdown_table(header, rows)]
    return lines


def print_report(results: Results, console: Console) -> None:
    print_sections(sections(results), console)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell or " " for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(results: Results) -> str:
    m = results.machine
    lines = [
        f"### {results.database}, {m['date']}, partnerflow {m['commit']}",
        "",
        f"`{results.command.strip()}` on {m['cpus']} × {m['cpu_model']}, "
        f"Python {m['python']}, temporalio {m['temporalio']}, {m['temporal_cli']} "
        f"(dev server in memory), worker "
        + ("in its own process" if results.separate_worker else "in the API's process")
        + f". {results.partners} partners enrolled; {results.orders} orders seeded in "
        f"{results.seed_seconds:.1f} s; whole run {results.wall_seconds:.0f} s.",
    ]
    lines += markdown_sections(sections(results))
    return "\n".join(lines)


def update_readme(results: Results, path: Path = README) -> None:
    """Replace this database's block of results between its markers, or append one."""
    write_block(f"results:{results.database}", markdown(results), path)


def write_block(key: str, text: str, path: Path = README, before: str | None = None) -> None:
    """Replace the block between `<!-- {key}:start -->` and `<!-- {key}:end -->` with `text`;
    without one yet, put it just before the line `before` (if present), else at the end."""
    start, end = f"<!-- {key}:start -->", f"<!-- {key}:end -->"
    block = f"{start}\n{text}\n{end}"
    current = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(current):
        updated = pattern.sub(lambda _: block, current)
    elif before is not None and f"\n{before}\n" in current:
        updated = current.replace(f"\n{before}\n", f"\n{block}\n\n{before}\n", 1)
    else:
        updated = current.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(updated, encoding="utf-8")
