"""The newsletter's Schedule on the Temporal dev server (the time-skipping server has none):
turned on through the API it exists, at 09:00 UTC on the 1st; triggered, it sends the month just
ended once as newsletter/{provider}/{month}; turned off, it is gone. The worker's start makes the
Schedule of each provider that sends the newsletter and lacks one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.deps import Services
from clients.newsletters import Newsletters, ensure_every_subscriber
from clients.requests import poll_until
from devstack.demo_data import SLIPPING
from devstack.dev_server import DevConfig
from models.contract import newsletter_schedule_id
from models.database import Database
from models.newsletter import month_before
from models.program import ProgramSettings
from models.schema import Notification
from services.providers import issue_key
from store.newsletters import set_newsletter
from tests.helpers import Program, listed_partner, replay_histories
from tests.workers.dev_temporal import DevTemporal, closed_status, dev_temporal

SEND_TIMEOUT = 60


@pytest.fixture
async def temporal(dev_server_config: DevConfig, db: Database) -> AsyncIterator[DevTemporal]:
    async with dev_temporal(dev_server_config, db) as temporal:
        yield temporal


@pytest.fixture
def program(db: Database, temporal: DevTemporal) -> Program:
    return Program(db, WorkflowEnvironment.from_client(temporal.client), ProgramSettings()).create()


async def test_the_newsletter_turned_on_is_sent_by_its_schedule_and_off_is_gone(
    temporal: DevTemporal, program: Program, db: Database
) -> None:
    pid = program.provider_id
    for team in ("team-a", "team-b"):
        await program.add_reseller(team, SLIPPING, days=90)
    with db.transaction() as session:
        session.add_all(listed_partner(pid, team) for team in ("team-a", "team-b"))
        key = issue_key(session, pid)
    app = create_app(Services(db=db, client=temporal.client, task_queue=temporal.task_queue))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://partnerflow",
        headers={"x-api-key": key},
    ) as http:
        turned = await http.put("/provider/newsletter", json={"enabled": True})
        assert turned.status_code == 200, turned.text
        assert turned.json()["enabled"] is True
        schedule = temporal.client.get_schedule_handle(newsletter_schedule_id(pid))
        described = await schedule.describe()
        (calendar,) = described.schedule.spec.calendars
        assert (calendar.hour[0].start, calendar.day_of_month[0].start) == (9, 1)
        next_run = described.info.next_action_times[0]
        assert (next_run.day, next_run.hour) == (1, 9)
        assert turned.json()["nextSendAt"] == next_run.isoformat().replace("+00:00", "Z")

        month = month_before(datetime.now(UTC))
        await schedule.trigger()
        child = f"newsletter/{pid}/{month}"
        status = await poll_until(
            lambda: closed_status(temporal.client, child),
            lambda s: s is not None,
            timeout=SEND_TIMEOUT,
            interval=0.2,
        )
        assert status is WorkflowExecutionStatus.COMPLETED
        with db.transaction() as session:
            teams = session.scalars(
                select(Notification.reseller_team_id).where(
                    Notification.provider_id == pid, Notification.kind == "newsletter"
                )
            ).all()
        assert sorted(teams) == ["team-a", "team-b"]
        # The Schedule's own run started the month as a child; both replay.
        (run,) = (await schedule.describe()).info.recent_actions
        parent = run.action.workflow_id  # type: ignore[attr-defined]
        assert parent.startswith(f"newsletter/{pid}-")
        assert await replay_histories(temporal.client, {parent, child}, label="newsletter") == 2
        [sent] = (await http.get("/provider/newsletter")).json()["months"]
        assert (sent["month"], sent["status"], sent["recipients"]) == (month, "sent", 2)

        off = await http.put("/provider/newsletter", json={"enabled": False})
        assert off.status_code == 200 and off.json()["nextSendAt"] is None
        with pytest.raises(RPCError) as gone:
            await schedule.describe()
        assert gone.value.status is RPCStatusCode.NOT_FOUND

    # Turned on in the database alone (a Schedule lost): the worker's start makes it again.
    with db.transaction() as session:
        set_newsletter(session, pid, True, datetime.now(UTC))
    newsletters = Newsletters(temporal.client, temporal.task_queue)
    assert newsletter_schedule_id(pid) in await ensure_every_subscriber(newsletters, db)
    assert await ensure_every_subscriber(newsletters, db) == []
    await schedule.delete()
