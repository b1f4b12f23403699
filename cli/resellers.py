"""`partnerflow resellers ...`: register the marketplace's resellers from a file, and find them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cli.support import console, fail, print_keys, program_database, when
from models.reseller import MAX_IMPORT_BYTES, MAX_IMPORT_ROWS, RecordsRefused, parse_records

resellers_app = typer.Typer(
    help="The marketplace's resellers: register them from a file, find them, issue portal keys.",
    no_args_is_help=True,
)


def _rows_of_csv(text: str) -> list[Any]:
    """Each data row as an object keyed by the header; an empty cell is left out, so that the
    reseller keeps that field's value."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header:
        raise RecordsRefused("the file is empty: it needs a header row, then one row a reseller")
    names = [name.strip() for name in header]
    rows: list[Any] = []
    for number, cells in enumerate(reader, start=1):
        if not any(cell.strip() for cell in cells):
            continue  # a blank line
        if len(cells) > len(names):
            raise RecordsRefused(f"row {number}: has {len(cells)} cells, the header {len(names)}")
        rows.append({name: cell for name, cell in zip(names, cells, strict=False) if cell != ""})
        if len(rows) > MAX_IMPORT_ROWS:
            break  # parse_records names the limit
    return rows


def read_rows(path: Path, data: bytes) -> list[Any]:
    """The file's rows: JSON (a list of objects) by its `.json` extension or a first `[`,
    CSV with a header row otherwise."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RecordsRefused("the file is not UTF-8 text") from None
    if path.suffix.lower() == ".json" or text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except ValueError as error:
            raise RecordsRefused(f"the file is not valid JSON: {error}") from None
        if not isinstance(rows, list):
            raise RecordsRefused("a JSON file must hold a list of resellers, one object each")
        return rows
    return _rows_of_csv(text)


@resellers_app.command("import")
def import_resellers(
    file: Annotated[Path, typer.Argument(help="A CSV file with a header row, or a JSON list.")],
) -> None:
    """Add or update resellers by team ID from FILE, all or none.

    Fields: resellerTeamId, name, email, contactName, phone, region, joinedAt (a date or an
    ISO time); snake_case names work too. A field left out (or an empty CSV cell) keeps the
    reseller's value; a new reseller needs a name. One row that does not fit refuses the whole
    file, naming its row (from 1, the header not counted) and field: nothing is written. At
    most 20,000 rows and 10 MiB a file.
    """
    try:
        size = file.stat().st_size
        if size > MAX_IMPORT_BYTES:
            raise fail(
                f"{file} is {size} bytes, more than {MAX_IMPORT_BYTES} (10 MiB), the most "
                "one import reads: split it"
            )
        data = file.read_bytes()
    except OSError as error:
        raise fail(f"cannot read {file}: {error.strerror or error}") from None
    try:
        records = parse_records(read_rows(file, data), limit=MAX_IMPORT_ROWS)
    except RecordsRefused as refused:
        raise fail(f"nothing was imported: {refused}") from None
    from services.errors import InputError
    from services.resellers import upsert_resellers

    with program_database() as session:
        try:
            done = upsert_resellers(session, records)
        except InputError as error:
            raise fail(f"nothing was imported: {error}") from None
    console.print(
        f"{done.added} reseller(s) added, {done.updated} updated, {done.unchanged} unchanged",
        highlight=False,
    )


@resellers_app.command("find")
def find(
    provider_id: Annotated[str, typer.Argument(help="The provider, e.g. acme.")],
    query: Annotated[str | None, typer.Argument(help="Part of the team ID or name.")] = None,
    page: Annotated[int, typer.Option(min=1, help="The page, 50 a page.")] = 1,
) -> None:
    """The marketplace's resellers whose team ID or name holds QUERY, with their standing in
    the provider's program."""
    from services.resellers import search_resellers

    with program_database() as session:
        found, total = search_resellers(session, provider_id, query, page=page, page_size=50)
    table = Table(title=f"resellers, as {provider_id} sees them", title_justify="left")
    for column in ("reseller", "name", "contact", "region", "joined", "status · tier"):
        table.add_column(column)
    for r in found:
        contact = " · ".join(v for v in (r.contact_name, r.email, r.phone) if v)
        standing = f"{r.partner_status} · {r.partner_tier}" if r.partner_status else "-"
        table.add_row(
            r.reseller_team_id, r.name, contact, r.region or "-", when(r.joined_at), standing
        )
    console.print(table)
    console.print(f"{total} reseller(s); page {page}")


Team = Annotated[str, typer.Argument(help="The reseller team, e.g. team-northwind.")]


@resellers_app.command("key")
def issue_key(
    team_id: Team,
    label: Annotated[
        str | None, typer.Option(help="Who or what the key is for, e.g. 'Ana, sales'.")
    ] = None,
) -> None:
    """A key for the reseller team's portal and API, printed once.

    The team signs in with it at /portal/sign-in, or sends it as the x-reseller-key header to
    the `/reseller/` API. Its other keys keep working.
    """
    from pydantic import TypeAdapter

    from cli.support import valid
    from models.reseller import ShortLine
    from services.reseller_keys import issue_reseller_key

    if label is not None:
        label = valid(lambda: TypeAdapter(ShortLine).validate_python(label))
    with program_database() as session:
        issued = issue_reseller_key(session, team_id, label)
    console.print(f"reseller key {issued.id}  {issued.label or ''}".rstrip(), highlight=False)
    console.print(f"Reseller key   {issued.key}", soft_wrap=True, highlight=False)
    console.print(
        f"[dim]The key is shown once: keep it now. {team_id} signs in with it at "
        "/portal/sign-in, or sends it as the x-reseller-key header to /reseller/.[/]",
        highlight=False,
    )


@resellers_app.command("keys")
def list_keys(team_id: Team) -> None:
    """The reseller team's keys: prefix, label, created, last used, revoked. Never the keys."""
    from services.reseller_keys import list_reseller_keys

    with program_database() as session:
        keys = list_reseller_keys(session, team_id)
    print_keys(f"reseller keys of {team_id}", keys)


@resellers_app.command("revoke-key")
def revoke_key(
    team_id: Team,
    key_id: Annotated[int, typer.Argument(help="The key's ID, as `resellers keys` shows it.")],
) -> None:
    """Revoke one of the reseller team's keys at once.

    Its next request and its portal sessions are refused.
    """
    from services.reseller_keys import revoke_reseller_key

    with program_database() as session:
        revoked = revoke_reseller_key(session, team_id, key_id)
    console.print(
        f"reseller key {revoked.id} ({revoked.prefix}…) of {team_id} revoked at "
        f"{when(revoked.revoked_at)}",
        highlight=False,
    )
