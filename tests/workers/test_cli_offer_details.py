"""`partnerflow offers create|update` with the program documents' offer fields: category,
status, internal name, description, tier prices and early access; an early-access offer's
launch follows each save as the API's does, and a plain offer still needs no Temporal."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError

from clients.partners import PartnerPrograms
from models.contract import offer_launch_workflow_id
from models.database import Database
from models.program import ProgramSettings
from services.offers import get_offer
from tests.helpers import Program
from tests.workers.cli_runner import cli_on


def test_an_offer_takes_the_documents_fields_without_temporal(db: Database) -> None:
    program = Program(db, None, ProgramSettings()).create()
    pid = program.provider_id
    cli = cli_on(db)
    nowhere = {"TEMPORAL_ADDRESS": "127.0.0.1:1"}
    created = cli(
        "offers", "create", pid, "tv-north", "--name", "TV North", "--price", "40",
        "--category", "tv", "--status", "draft", "--internal-name", "TVN-MARGIN",
        "--description", "120 channels.", "--silver-price", "38", "--gold-price", "35",
        **nowhere,
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    with db.transaction() as session:
        record = get_offer(session, pid, "tv-north")
    assert (record.category, record.status.value, record.internal_name) == (
        "tv",
        "draft",
        "TVN-MARGIN",
    )
    assert record.description == "120 channels."
    assert record.tier_prices is not None
    assert (record.tier_prices.silver, record.tier_prices.gold) == (Decimal("38"), Decimal("35"))

    updated = cli("offers", "update", pid, "tv-north", "--status", "active", **nowhere)
    assert updated.exit_code == 0, updated.output
    with db.transaction() as session:
        record = get_offer(session, pid, "tv-north")
    assert record.status.value == "active" and record.category == "tv"

    bad = cli("offers", "update", pid, "tv-north", "--silver-price", "-1", **nowhere)
    assert bad.exit_code == 1 and "silver" in bad.output


async def test_an_early_access_offer_launch_follows_the_cli(
    env, db: Database, programs: PartnerPrograms
) -> None:
    program = Program(db, env, ProgramSettings()).create()
    pid = program.provider_id
    cli = cli_on(db)
    temporal = {
        "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "PARTNERFLOW_TASK_QUEUE": programs.task_queue,
    }
    launch = (await program.now() + timedelta(days=30)).date().isoformat()

    async def offers(*args: str) -> None:
        result = await asyncio.to_thread(cli, "offers", *args, **temporal)
        assert result.exit_code == 0, result.output

    await offers(
        "create", pid, "fiber-2g", "--name", "Fiber 2 Gig", "--price", "99",
        "--early-access", "--public-launch-date", launch,
    )  # fmt: skip
    handle = env.client.get_workflow_handle(offer_launch_workflow_id(pid, "fiber-2g"))
    assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING

    await offers("update", pid, "fiber-2g", "--no-early-access")
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    assert (await handle.describe()).status is WorkflowExecutionStatus.CANCELED
