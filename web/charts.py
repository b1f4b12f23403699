"""Charts drawn on the server as inline SVG: no script, nothing fetched. Every chart's numbers
are also in a table on the page; the SVG carries a title and a description for screen
readers, and a tooltip per bar."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from models.metrics import CriterionResult
from models.review import ProgramReport

BAR_COLOUR = "#2f6fb0"
MET_COLOUR = "#2e8540"
MISSED_COLOUR = "#c0392b"
NO_DATA_COLOUR = "#9aa5b1"


def column_chart(
    title: str, points: Sequence[tuple[str, float]], *, height: int = 180, bar: int = 36
) -> Markup:
    """Vertical bars, one per (label, value), the value above each, the label below."""
    gap, top, bottom = 12, 20, 34
    width = max(len(points), 1) * (bar + gap) + gap
    highest = max((value for _, value in points), default=0) or 1
    plot = height - top - bottom
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line x1="0" y1="{top + plot}" x2="{width}" y2="{top + plot}" stroke="#ccd" />',
    ]
    for index, (label, value) in enumerate(points):
        x = gap + index * (bar + gap)
        tall = round(plot * value / highest, 1)
        y = top + plot - tall
        shown = f"{value:g}"
        parts += [
            f'<rect x="{x}" y="{y}" width="{bar}" height="{tall}" fill="{BAR_COLOUR}">'
            f"<title>{escape(label)}: {shown}</title></rect>",
            f'<text x="{x + bar / 2}" y="{y - 4}" text-anchor="middle" font-size="11">'
            f"{shown}</text>",
            f'<text x="{x + bar / 2}" y="{height - bottom + 16}" text-anchor="middle" '
            f'font-size="10">{escape(label)}</text>',
        ]
    parts.append("</svg>")
    return Markup("".join(parts))


def criterion_bars(title: str, results: Sequence[CriterionResult], *, width: int = 420) -> Markup:
    """One horizontal bar per criterion: the partner's value against the threshold, drawn at
    the same place on every row (the dashed line), green where met, red where missed, grey
    where there is nothing to measure yet."""
    row, label_width, top = 26, 150, 6
    plot = width - label_width - 10
    threshold_x = label_width + plot * 2 / 3  # a value 1.5 times the threshold fills the row
    height = top + row * max(len(results), 1) + 6
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for index, result in enumerate(results):
        y = top + index * row
        actual, required = result.formatted()
        if result.actual is None or result.required <= 0:
            share, colour = 0.0, NO_DATA_COLOUR
        else:
            share = min(result.actual / result.required, 1.5) / 1.5
            colour = MET_COLOUR if result.met else MISSED_COLOUR
        parts += [
            f'<text x="0" y="{y + 15}" font-size="12">{escape(result.label)}</text>',
            f'<rect x="{label_width}" y="{y + 3}" width="{plot}" height="16" fill="#eef1f5" />',
            f'<rect x="{label_width}" y="{y + 3}" width="{round(plot * share, 1)}" height="16" '
            f'fill="{colour}"><title>{escape(result.label)}: {escape(actual)} against '
            f"{escape(required)}</title></rect>",
        ]
    parts.append(
        f'<line x1="{threshold_x}" y1="0" x2="{threshold_x}" y2="{height}" stroke="#333" '
        'stroke-dasharray="4 3" />'
    )
    parts.append("</svg>")
    return Markup("".join(parts))


def report_charts(report: ProgramReport) -> dict[str, Markup]:
    """A program report's charts: orders and listed partners by tier, resellers by standing."""
    return {
        "orders": column_chart(
            "Orders by tier", [(figures.tier, figures.orders) for figures in report.by_tier]
        ),
        "enrollment": column_chart("Partners by tier", list(report.enrollment_by_tier.items())),
        "standings": column_chart(
            "Resellers by standing", sorted(report.standings.items()), bar=96
        ),
    }
