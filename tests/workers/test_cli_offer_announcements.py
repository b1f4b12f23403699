"""`partnerflow offers create|update --announce`: the offer and its announcement saved together
once its workflow started, on the time-skipping server and the real worker; without Temporal,
neither."""

from __future__ import annotations

import asyncio
import re

import pytest
from sqlalchemy import func, select

from clients.partners import PartnerPrograms
from devstack.demo_data import add_reseller
from models.announcement import AnnouncementOutcome, AnnouncementStatus
from models.database import Database
from models.program import ProgramSettings
from models.schema import Announcement, Offer
from tests.helpers import Program, listed_partner
from tests.workers.cli_runner import cli_on

pytestmark = pytest.mark.both_databases  # the offer's own SQL and the announcement's


async def test_offers_create_and_update_announce_to_those_who_see_the_offer(
    env, db: Database, programs: PartnerPrograms
) -> None:
    program = Program(db, env, ProgramSettings()).create()
    pid = program.provider_id
    with db.transaction() as session:
        add_reseller(session, "team-a")
        session.flush()
        session.add(listed_partner(pid, "team-a"))
    cli = cli_on(db)
    temporal = {
        "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "PARTNERFLOW_TASK_QUEUE": programs.task_queue,
    }

    async def offers(*args: str) -> str:
        result = await asyncio.to_thread(cli, "offers", *args, **temporal)
        assert result.exit_code == 0, result.output
        return result.output

    async def outcome(output: str) -> AnnouncementOutcome:
        found = re.search(r"workflow (announcement/\S+)", output)
        assert found, output
        handle = env.client.get_workflow_handle(found.group(1))
        return AnnouncementOutcome.model_validate(await handle.result())

    created = await offers(
        "create", pid, "tv-north", "--name", "TV North", "--price", "39.5", "--announce"
    )
    assert "(new service) sent to the partners who see tv-north" in created
    assert (await outcome(created)).recipients == 1

    updated = await offers("update", pid, "tv-north", "--price", "35", "--announce")
    assert "(pricing change)" in updated
    done = await outcome(updated)
    assert (done.status, done.sent) == (AnnouncementStatus.SENT, 1)

    plain = await offers("update", pid, "tv-north", "--name", "TV North+")
    assert "announcement" not in plain

    unsaid = cli_on(db)(
        "offers", "update", pid, "tv-north", "--name", "TV North 2", "--announce"
    )  # fmt: skip
    assert unsaid.exit_code != 0
    assert "give --announce-kind" in unsaid.output and "announce.kind" not in unsaid.output
    assert "--silver-price" in unsaid.output


def test_offers_create_announced_without_temporal_saves_nothing(db: Database) -> None:
    program = Program(db, None, ProgramSettings()).create()
    cli = cli_on(db)
    result = cli(
        "offers", "create", program.provider_id, "tv-south", "--name", "TV South",
        "--price", "20", "--announce", TEMPORAL_ADDRESS="127.0.0.1:1",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    with db.transaction() as session:
        assert session.get(Offer, "tv-south") is None
        assert session.scalar(select(func.count()).select_from(Announcement)) == 0
