"""`partnerflow orders import FILE.csv`: a marketplace export sent to the API in batches.

Every row is checked before anything is sent, so a file with a bad row sends
nothing. Each batch is stored whole or not at all by the API, and sending rows
again only updates them, so a failed import can simply be run again.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from models.orders import MAX_BATCH, MAX_LISTED, BatchResult, OrderItem

orders_app = typer.Typer(help="Orders sent in for metrics.", no_args_is_help=True)

DEFAULT_API_URL = "http://127.0.0.1:8000"
REQUIRED_COLUMNS = (
    "itemId",
    "offerId",
    "resellerTeamId",
    "zipCode",
    "monthlyPrice",
    "status",
    "createdAt",
)
OPTIONAL_COLUMNS = ("acceptedAt", "updatedAt")
REQUEST_TIMEOUT = httpx.Timeout(120.0, connect=10.0)

console = Console()
errors = Console(stderr=True)


class ImportFailed(Exception):
    """Something the user can fix: the message says what."""


@dataclass(frozen=True)
class Row:
    line: int
    item: OrderItem


def _fail(message: str) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code=1)


def _row_problems(error: ValidationError) -> str:
    """A row's pydantic errors, each named by its CSV column."""
    problems = []
    for detail in error.errors():
        column = str(detail["loc"][-1]) if detail["loc"] else ""
        message = detail["msg"].removeprefix("Value error, ")
        problems.append(f"{column}: {message}" if column else message)
    return "; ".join(problems)


def _as_item(record: dict[str | Any, str | Any]) -> OrderItem:
    values = {name: (value or "").strip() for name, value in record.items()}
    fields: dict[str, Any] = {name: values[name] for name in REQUIRED_COLUMNS if name != "zipCode"}
    fields["serviceAddress"] = {"zipCode": values["zipCode"]}
    for name in OPTIONAL_COLUMNS:
        if values.get(name):
            fields[name] = values[name]
    return OrderItem.model_validate(fields)


def _check_header(path: Path, header: Sequence[str] | None) -> None:
    if not header:
        raise ImportFailed(f"{path} is empty: it needs a header line with the columns")
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    unknown = [name for name in header if name not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if missing or unknown:
        problems = [f"missing columns {', '.join(missing)}"] if missing else []
        problems += [f"unknown columns {', '.join(unknown)}"] if unknown else []
        expected = ", ".join(REQUIRED_COLUMNS) + " and optionally " + ", ".join(OPTIONAL_COLUMNS)
        raise ImportFailed(f"{path}: {'; '.join(problems)} (expected {expected})")


def _read_records(path: Path) -> Iterator[tuple[int, dict[str | Any, str | Any]]]:
    """The file's rows with the line each ends on; a malformed file raises ImportFailed."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as file:
            reader = csv.DictReader(file)
            _check_header(path, reader.fieldnames)
            for record in reader:
                yield reader.line_num, record
    except UnicodeDecodeError as error:
        raise ImportFailed(f"{path} is not UTF-8 text: {error}") from None
    except csv.Error as error:
        raise ImportFailed(f"{path} is not a CSV file the importer can read: {error}") from None


def read_rows(path: Path) -> list[Row]:
    """Every row of the file as an order item, or ImportFailed naming each bad line (a few)."""
    rows: list[Row] = []
    bad: list[str] = []
    first_line: dict[str, int] = {}
    for line, record in _read_records(path):
        if None in record:
            bad.append(f"line {line}: more fields than the header has columns")
            continue
        if any(value is None for value in record.values()):
            bad.append(f"line {line}: fewer fields than the header has columns")
            continue
        try:
            item = _as_item(record)
        except ValidationError as error:
            bad.append(f"line {line}: {_row_problems(error)}")
            continue
        if item.item_id in first_line:
            bad.append(
                f"line {line}: itemId {item.item_id} repeats line {first_line[item.item_id]}"
            )
            continue
        first_line[item.item_id] = line
        rows.append(Row(line, item))
    if bad:
        listed = "\n  ".join(bad[:MAX_LISTED])
        more = f"\n  and {len(bad) - MAX_LISTED} more" if len(bad) > MAX_LISTED else ""
        raise ImportFailed(
            f"{path}: {len(bad)} bad rows, nothing was sent:\n  {listed}{more}",
        )
    return rows


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:2000]
    detail = body.get("detail") if isinstance(body, dict) else None
    return detail if isinstance(detail, str) else response.text[:2000]


def _refused(response: httpx.Response, batch: Sequence[Row], stored: int) -> ImportFailed:
    """Why the API refused a batch, with the batch's item indexes turned into the file's lines."""
    if response.status_code == 401:
        return ImportFailed(
            f"the API refused the key: {_detail(response)}. "
            "Pass the provider's key with --api-key or PARTNERFLOW_API_KEY."
        )

    def line_of(match: re.Match[str]) -> str:
        index = int(match.group(1))
        return f"line {batch[index].line}" if index < len(batch) else match.group(0)

    detail = re.sub(r"orders\[(\d+)\]", line_of, _detail(response))
    where = f"lines {batch[0].line}-{batch[-1].line}"
    if response.status_code >= 500:
        message = f"the API failed on {where} ({response.status_code}): {detail}"
    else:
        message = f"the API refused {where}: {detail}"
    if stored:
        message += (
            f"\nThe {stored} rows before them are stored; fix the file and import it again "
            "(rows already stored are updated, not duplicated)."
        )
    return ImportFailed(message)


def send_rows(client: httpx.Client, rows: Sequence[Row], batch_size: int) -> BatchResult:
    """POST the rows in batches, with a progress bar; the API's counts, added up."""
    total = BatchResult()
    columns = (
        TextColumn("sending orders"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("orders", total=len(rows))
        for start in range(0, len(rows), batch_size):
            batch = rows[start : start + batch_size]
            orders = [row.item.model_dump(mode="json", by_alias=True) for row in batch]
            response = client.post("/provider/orders", json={"orders": orders})
            if response.status_code != 200:
                raise _refused(response, batch, stored=start)
            total += BatchResult.model_validate(response.json())
            progress.advance(task, len(batch))
    return total


def import_file(path: Path, api_url: str, api_key: str, batch_size: int) -> BatchResult:
    rows = read_rows(path)
    if not rows:
        return BatchResult()
    try:
        with httpx.Client(
            base_url=api_url, headers={"x-api-key": api_key}, timeout=REQUEST_TIMEOUT
        ) as client:
            return send_rows(client, rows, batch_size)
    except httpx.ConnectError as error:
        raise ImportFailed(
            f"could not reach the partnerflow API at {api_url} ({error}): start it with "
            "`partnerflow api` (or the whole stack with `make run`), or point --api-url or "
            "PARTNERFLOW_API_URL at it"
        ) from None
    except httpx.TimeoutException:
        raise ImportFailed(f"the API at {api_url} did not answer in time") from None
    except httpx.HTTPError as error:
        raise ImportFailed(f"could not talk to the API at {api_url}: {error}") from None


@orders_app.command("import")
def import_orders(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="A CSV with the columns "
            + ", ".join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
            + f" ({', '.join(OPTIONAL_COLUMNS)} may be left out or empty).",
        ),
    ],
    api_url: Annotated[
        str, typer.Option(envvar="PARTNERFLOW_API_URL", help="Where `partnerflow api` serves.")
    ] = DEFAULT_API_URL,
    api_key: Annotated[
        str | None,
        typer.Option(
            envvar="PARTNERFLOW_API_KEY",
            help="The provider's API key (`partnerflow providers create` prints one).",
            show_default=False,
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=MAX_BATCH, help="Rows per request.")] = 1000,
) -> None:
    """Send a CSV export of order items to the API, in batches, with a progress bar.

    Rows already stored are updated, so running an import again is safe.
    """
    if not api_key:
        raise _fail(
            "no API key: pass --api-key or set PARTNERFLOW_API_KEY "
            "(`partnerflow providers create` prints one)"
        )
    try:
        result = import_file(file, api_url, api_key, batch_size)
    except ImportFailed as error:
        raise _fail(str(error)) from None
    if not result.received:
        console.print(f"{file} has no rows: nothing to import.", markup=False, soft_wrap=True)
        return
    console.print(
        f"Imported {result.received} orders from {file}: {result.created} created, "
        f"{result.updated} updated, {result.unchanged} unchanged, "
        f"{result.stale} skipped as older than what is stored.",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
