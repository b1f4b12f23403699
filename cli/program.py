"""`partnerflow program ...`: what a change of the program's criteria would do, before saving it.

`preview` takes the body of `PATCH /provider/program` (camelCase JSON, the settings to
change) and judges every reseller under the program in force and under the changed
one, on today's figures, exactly as `POST /provider/program/preview` does. It reads the
program database and writes nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from api.program import ProgramPatch
from cli.support import console, fail, program_database, valid
from services import program
from services.errors import InputError, NotFoundError
from services.program_preview import ProgramPreview, preview_change

program_app = typer.Typer(
    help="A provider's program: preview a change of its criteria on today's figures.",
    no_args_is_help=True,
)

MAX_BODY_BYTES = 64 * 1024
OUTCOMES = ("promoted", "demoted", "at_risk", "candidate", "recovered", "unchanged")


def _patch(path: Path) -> ProgramPatch:
    if not path.is_file():
        raise fail(f"{path}: no such file")
    if path.stat().st_size > MAX_BODY_BYTES:
        raise fail(f"{path}: larger than {MAX_BODY_BYTES} bytes; a program change is smaller")
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise fail(f"{path}: not JSON ({error})") from None
    return valid(lambda: ProgramPatch.model_validate(body))


def _tables(found: ProgramPreview) -> tuple[Table, Table]:
    counts = Table(title="resellers by outcome", title_justify="left")
    for column in ("outcome", "program in force", "changed program"):
        counts.add_column(column, justify="left" if column == "outcome" else "right")
    for outcome in OUTCOMES:
        before = found.counts_in_force.get(outcome, 0)
        after = found.counts_changed_to.get(outcome, 0)
        if before or after:
            counts.add_row(outcome.replace("_", " "), str(before), str(after))
    affected = Table(title=f"resellers the change affects ({found.affected})", title_justify="left")
    for column in ("reseller", "now", "in force", "changed", "would miss"):
        affected.add_column(column)
    for row in found.resellers:
        affected.add_row(
            row.reseller_team_id,
            f"{row.status_before} · {row.tier_before}" if row.status_before else "not a partner",
            row.in_force.outcome.replace("_", " "),
            f"{row.changed_to.outcome.replace('_', ' ')} · {row.changed_to.tier_after}",
            "; ".join(row.changed_to.failed_criteria) or "-",
        )
    return counts, affected


@program_app.command("preview")
def preview(
    provider_id: Annotated[str, typer.Argument(help="The provider, e.g. acme.")],
    change: Annotated[
        Path, typer.Argument(help="A JSON file: the settings to change, as PATCH takes them.")
    ],
    limit: Annotated[int, typer.Option(min=1, max=500, help="Resellers listed at most.")] = 100,
) -> None:
    """What the change would do on today's figures: nothing is saved, signalled or sent."""
    patch = _patch(change)
    try:
        with program_database() as session:
            current = program.current_program(session, provider_id).settings
            changed = valid(lambda: patch.applied_to(current).settings())
            found = preview_change(
                session, provider_id, current, changed, datetime.now(UTC), limit=limit
            )
    except (InputError, NotFoundError) as error:
        raise fail(str(error)) from None
    console.print(
        f"A preview on the figures of {found.window_start:%Y-%m-%d} to "
        f"{found.window_end:%Y-%m-%d}, against version {found.version_in_force}: nothing saved.",
        highlight=False,
    )
    for table in _tables(found):
        console.print(table)
    if found.affected > len(found.resellers):
        console.print(f"{found.affected - len(found.resellers)} more; raise --limit to see them")
