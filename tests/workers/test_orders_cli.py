"""`partnerflow orders import FILE.csv` against the API served for real by uvicorn."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
import uvicorn
from sqlalchemy import select
from typer.testing import CliRunner, Result

from api.app import create_app
from api.deps import Services
from cli.orders import orders_app
from devstack.demo_data import add_reseller
from models.database import Database
from models.program import ProgramSettings
from models.schema import Order
from services.providers import issue_key
from tests.helpers import Program
from tests.workers.processes import free_port

pytestmark = pytest.mark.both_databases  # the order import's SQL

runner = CliRunner()
# `partnerflow orders`, as cli/app.py mounts it, without the rest of the CLI.
app = typer.Typer()
app.add_typer(orders_app, name="orders")
COLUMNS = [
    "itemId",
    "offerId",
    "resellerTeamId",
    "zipCode",
    "monthlyPrice",
    "status",
    "createdAt",
    "acceptedAt",
]
CREATED = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)


@dataclass
class Api:
    """The API on a real port, and a provider with a key and a reseller."""

    url: str
    key: str
    program: Program
    team: str

    @property
    def env(self) -> dict[str, str | None]:
        return {"PARTNERFLOW_API_URL": self.url, "PARTNERFLOW_API_KEY": self.key}

    def orders(self) -> list[Order]:
        with self.program.db.transaction() as session:
            return list(session.scalars(select(Order).order_by(Order.id)))


@pytest.fixture
async def api(env: Any, db: Database, task_queue: str) -> AsyncIterator[Api]:
    program = Program(db, env, ProgramSettings()).create()
    with db.transaction() as session:
        key = issue_key(session, program.provider_id)
        add_reseller(session, "team-csv")
    application = create_app(Services(db=db, client=env.client, task_queue=task_queue))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    async with asyncio.timeout(10):
        while not server.started:
            assert not serving.done(), "uvicorn stopped before it started"
            await asyncio.sleep(0.01)
    try:
        yield Api(f"http://127.0.0.1:{port}", key, program, "team-csv")
    finally:
        server.should_exit = True
        await serving


def row(api: Api, index: int, **values: str) -> dict[str, str]:
    return {
        "itemId": f"csv-{index:03d}",
        "offerId": api.program.public_offer,
        "resellerTeamId": api.team,
        "zipCode": "98101-1234",
        "monthlyPrice": "49.90",
        "status": "accepted",
        "createdAt": CREATED.isoformat(),
        "acceptedAt": "",
        **values,
    }


def write_csv(path: Path, rows: list[dict[str, str]], columns: list[str] = COLUMNS) -> Path:
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


async def run_import(path: Path, env: dict[str, str | None], *args: str) -> Result:
    """The command runs in a thread: the API it talks to is served on the test's event loop."""
    return await asyncio.to_thread(
        runner.invoke, app, ["orders", "import", str(path), *args], env={"COLUMNS": "200", **env}
    )


async def test_import_sends_every_row_in_batches(api, tmp_path):
    rows = [row(api, i) for i in range(25)]
    rows[0] |= {"status": "cancelled", "acceptedAt": (CREATED + timedelta(hours=2)).isoformat()}
    rows[1] |= {"status": "pending", "monthlyPrice": "10"}
    path = write_csv(tmp_path / "orders.csv", rows)

    result = await run_import(path, api.env, "--batch-size", "10")
    assert result.exit_code == 0, result.output
    assert "25/25" in result.output
    assert "Imported 25 orders" in result.output and "25 created, 0 updated" in result.output

    stored = api.orders()
    assert [o.id for o in stored] == [f"csv-{i:03d}" for i in range(25)]
    assert {o.zip_code for o in stored} == {"98101"}
    assert (stored[0].status, stored[0].accepted_at) == ("cancelled", CREATED + timedelta(hours=2))
    assert (stored[1].status, str(stored[1].monthly_price), stored[1].accepted_at) == (
        "pending",
        "10.00",
        None,
    )
    assert stored[2].accepted_at == CREATED  # accepted, no acceptedAt: when it was created

    rows[1]["status"] = "accepted"
    write_csv(path, rows)
    again = await run_import(path, api.env)
    assert again.exit_code == 0, again.output
    assert "0 created, 1 updated, 24 unchanged" in again.output
    assert len(api.orders()) == 25


async def test_a_bad_row_sends_nothing_and_names_its_line(api, tmp_path):
    rows = [row(api, i) for i in range(6)]
    rows[1]["status"] = "lost"
    rows[2] |= {"createdAt": "2026-01-05 10:00", "zipCode": "981"}
    rows[4]["itemId"] = "csv-000"
    path = write_csv(tmp_path / "bad.csv", rows)

    result = await run_import(path, api.env)
    assert result.exit_code == 1
    assert "3 bad rows, nothing was sent" in result.output
    assert "line 3: status: Input should be 'pending'" in result.output
    assert "line 4: zipCode: '981' is not a ZIP code" in result.output
    assert "createdAt: Input should have timezone info" in result.output
    assert "line 6: itemId csv-000 repeats line 2" in result.output
    assert api.orders() == []

    short = tmp_path / "short.csv"
    short.write_text(",".join(COLUMNS) + "\ncsv-1,offer,team\n")
    result = await run_import(short, api.env)
    assert result.exit_code == 1 and "line 2: fewer fields than the header" in result.output

    header = write_csv(tmp_path / "header.csv", [], ["itemId", "offerId", "price"])
    result = await run_import(header, api.env)
    assert result.exit_code == 1
    assert "missing columns resellerTeamId, zipCode" in result.output
    assert "unknown columns price" in result.output


async def test_a_refused_batch_says_why_by_line_and_what_was_stored(api, tmp_path):
    rows = [row(api, i) for i in range(15)]
    rows[12]["offerId"] = "no-such-offer"
    path = write_csv(tmp_path / "orders.csv", rows)

    result = await run_import(path, api.env, "--batch-size", "10")
    assert result.exit_code == 1
    assert "the API refused lines 12-16" in result.output
    assert (
        f"line 14 (itemId csv-012): provider {api.program.provider_id} has no offer "
        "'no-such-offer'" in result.output
    )
    assert "The 10 rows before them are stored" in result.output
    assert len(api.orders()) == 10


async def test_the_key_is_required_and_checked(api, tmp_path):
    path = write_csv(tmp_path / "orders.csv", [row(api, 0)])
    missing = await run_import(path, {**api.env, "PARTNERFLOW_API_KEY": None})
    assert missing.exit_code == 1
    assert "no API key: pass --api-key or set PARTNERFLOW_API_KEY" in missing.output

    wrong = await run_import(path, api.env, "--api-key", "pf_wrong")
    assert wrong.exit_code == 1
    assert "the API refused the key: unknown or revoked API key" in wrong.output
    assert api.orders() == []


def test_without_the_api_says_how_to_start_it(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(
        ",".join(COLUMNS) + "\ncsv-1,offer,team,98101,60,pending,2026-01-05T10:00:00Z,\n"
    )
    url = f"http://127.0.0.1:{free_port()}"
    result = runner.invoke(
        app,
        ["orders", "import", str(path)],
        env={"PARTNERFLOW_API_URL": url, "PARTNERFLOW_API_KEY": "pf_any", "COLUMNS": "200"},
    )
    assert result.exit_code == 1
    assert f"could not reach the partnerflow API at {url}" in result.output
    assert "`partnerflow api`" in result.output and "make run" in result.output


def test_an_empty_file_imports_nothing(tmp_path):
    path = write_csv(tmp_path / "empty.csv", [])
    result = runner.invoke(
        app, ["orders", "import", str(path)], env={"PARTNERFLOW_API_KEY": "pf_any", "COLUMNS": "80"}
    )
    assert result.exit_code == 0, result.output
    assert "has no rows: nothing to import" in result.output
