"""An early-access offer's launch on the time-skipping server, with the real worker and
database: public at its date, at the new date when it moves, never when it is cancelled."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.offer_launch import OfferLaunchActivities
from clients.offer_launches import OfferLaunches
from clients.partners import PartnerPrograms
from devstack.demo_data import GOOD
from models.contract import announcement_workflow_id, offer_launch_workflow_id
from models.database import Database
from models.offers import (
    LaunchResult,
    LaunchStatus,
    OfferLaunch,
    Visibility,
    launch_announcement_id,
)
from models.program import ProgramSettings
from models.search_attributes import PROVIDER_ID
from services.offers import (
    NewOffer,
    OfferChange,
    OfferRecord,
    create_offer,
    get_offer,
    update_offer,
)
from tests.helpers import Program, listed_partner, replay_histories

OFFER = "fiber-2g-early"
SECRET = "FIBER-2G-MARGIN-TEST"
ANNOUNCEMENT = "announcement"
PARTNER = "team-partner"
"""On the provider's list at silver."""
STRANGER = "team-stranger"
"""A reseller off the list: it sees public offers alone."""


@pytest.fixture
async def program(db: Database, env: WorkflowEnvironment) -> Program:
    program = Program(db, env, ProgramSettings()).create()
    for team in (PARTNER, STRANGER):
        await program.add_reseller(team, GOOD)
    with db.transaction() as session:
        session.add(listed_partner(program.provider_id, PARTNER))
    return program


@pytest.fixture
def launches(env: WorkflowEnvironment, programs: PartnerPrograms) -> OfferLaunches:
    return OfferLaunches(env.client, programs.task_queue)


async def create(program: Program, launches: OfferLaunches, **body: Any) -> OfferRecord:
    """What `POST /provider/offers` does: save the offer, then make its launch follow it."""
    new = NewOffer.model_validate(
        {"offer_id": OFFER, "name": "Fiber 2 Gig", "monthly_price": 99, **body}
    )
    with program.db.transaction() as session:
        record = create_offer(session, program.provider_id, new)
    await launches.follow(program.provider_id, record, created=True)
    return record


async def change(program: Program, launches: OfferLaunches, **fields: Any) -> OfferRecord:
    """What `PATCH /provider/offers/{id}` does."""
    with program.db.transaction() as session:
        record = update_offer(
            session, program.provider_id, OFFER, OfferChange.model_validate(fields)
        )
    await launches.follow(program.provider_id, record)
    return record


async def launch_in(program: Program, days: int) -> str:
    return (await program.now() + timedelta(days=days)).isoformat()


def offer(program: Program) -> OfferRecord:
    with program.db.transaction() as session:
        return get_offer(session, program.provider_id, OFFER)


def seen_by(program: Program, team: str) -> bool:
    return OFFER in program.visible_offers(team)


async def test_an_early_access_offer_goes_public_on_its_date(env, db, program, launches):
    launch_at = await launch_in(program, 30)
    early = {"earlyAccess": True, "publicLaunchDate": launch_at, "announceLaunch": True}
    saved = await create(program, launches, visibility="public", min_tier=None, metadata=early)
    assert saved.visibility is Visibility.PREFERRED
    assert seen_by(program, PARTNER) and not seen_by(program, STRANGER)

    handle = env.client.get_workflow_handle(offer_launch_workflow_id(program.provider_id, OFFER))
    described = await handle.describe()
    assert described.id == f"offer/{program.provider_id}/{OFFER}"
    assert described.typed_search_attributes.get(PROVIDER_ID) == program.provider_id
    await env.sleep(timedelta(days=29))
    assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
    assert not seen_by(program, STRANGER)

    await env.sleep(timedelta(days=2))
    result = LaunchResult.model_validate(await handle.result())
    assert result.status is LaunchStatus.LAUNCHED
    launched = offer(program)
    assert (launched.visibility, launched.min_tier) == (Visibility.PUBLIC, None)
    assert launched.metadata.launched_at is not None
    assert seen_by(program, PARTNER) and seen_by(program, STRANGER)
    assert await replay_histories(env.client, {handle.id}, label="offer-launch-on-its-date") == 1

    # The activity again, as a retry would run it: nothing changes twice.
    activities = OfferLaunchActivities(db)
    asked = OfferLaunch.model_validate(
        {"provider_id": program.provider_id, "offer_id": OFFER, "launch_at": launch_at}
    )
    again = ActivityEnvironment().run(activities.launch_offer, asked)
    assert again.status is LaunchStatus.ALREADY_LAUNCHED
    assert offer(program).metadata.launched_at == launched.metadata.launched_at

    # A save afterwards (the dashboard's form sends every field again) starts nothing.
    await change(program, launches, name="Fiber 2 Gig+", metadata=early)
    assert offer(program).visibility is Visibility.PUBLIC


async def test_the_partners_who_gain_it_at_the_launch_are_told_if_the_provider_asks(
    env, program, launches
):
    launch_at = await program.now() + timedelta(days=10)
    early = {"earlyAccess": True, "publicLaunchDate": launch_at.isoformat(), "announceLaunch": True}
    await create(
        program,
        launches,
        visibility="preferred",
        min_tier="gold",
        internal_name=SECRET,
        description="2 Gbps, no data caps.",
        metadata=early,
    )
    assert not seen_by(program, PARTNER)
    handle = env.client.get_workflow_handle(offer_launch_workflow_id(program.provider_id, OFFER))
    await env.sleep(timedelta(days=11))
    result = LaunchResult.model_validate(await handle.result())
    assert (result.status, result.gained, result.announce) == (
        LaunchStatus.LAUNCHED,
        [PARTNER],
        True,
    )
    assert seen_by(program, PARTNER) and seen_by(program, STRANGER)

    announcement_id = launch_announcement_id(OFFER, launch_at)
    told = env.client.get_workflow_handle(
        announcement_workflow_id(program.provider_id, announcement_id)
    )
    await told.result()
    [message] = await program.sent(PARTNER, ANNOUNCEMENT)
    assert "Fiber 2 Gig" in message.subject and "2 Gbps, no data caps." in message.body
    assert SECRET not in message.subject + message.body
    assert program.notifications(STRANGER, ANNOUNCEMENT) == []
    assert await replay_histories(env.client, {handle.id}, label="offer-launch-announced") == 1


async def test_a_moved_date_moves_the_launch_later_and_earlier(env, program, launches):
    early = {"earlyAccess": True, "publicLaunchDate": await launch_in(program, 30)}
    await create(program, launches, visibility="public", metadata=early)
    handle = env.client.get_workflow_handle(offer_launch_workflow_id(program.provider_id, OFFER))

    await change(program, launches, metadata={"publicLaunchDate": await launch_in(program, 60)})
    await env.sleep(timedelta(days=35))
    assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
    assert not seen_by(program, STRANGER)
    assert offer(program).visibility is Visibility.PREFERRED

    await change(program, launches, metadata={"publicLaunchDate": await launch_in(program, 5)})
    await env.sleep(timedelta(days=4))
    assert not seen_by(program, STRANGER)
    await env.sleep(timedelta(days=2))
    result = LaunchResult.model_validate(await handle.result())
    assert result.status is LaunchStatus.LAUNCHED
    assert seen_by(program, STRANGER)
    assert await replay_histories(env.client, {handle.id}, label="offer-launch-moved") == 1


async def test_a_launch_date_moved_into_the_past_launches_at_once(env, program, launches):
    early = {"earlyAccess": True, "publicLaunchDate": await launch_in(program, 30)}
    await create(program, launches, visibility="public", metadata=early)
    handle = env.client.get_workflow_handle(offer_launch_workflow_id(program.provider_id, OFFER))
    await change(program, launches, metadata={"publicLaunchDate": await launch_in(program, -1)})
    result = LaunchResult.model_validate(await handle.result())
    assert result.status is LaunchStatus.LAUNCHED
    assert seen_by(program, STRANGER)


async def test_retiring_the_offer_cancels_its_launch(env, program, launches):
    early = {"earlyAccess": True, "publicLaunchDate": await launch_in(program, 30)}
    await create(program, launches, visibility="public", metadata=early)
    handle = env.client.get_workflow_handle(offer_launch_workflow_id(program.provider_id, OFFER))
    await change(program, launches, status="retired")
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    assert (await handle.describe()).status is WorkflowExecutionStatus.CANCELED
    await env.sleep(timedelta(days=31))
    assert offer(program).visibility is Visibility.PREFERRED
    assert not seen_by(program, PARTNER) and not seen_by(program, STRANGER)


async def test_withdrawing_early_access_cancels_the_launch_and_keeps_the_audience(
    env, program, launches
):
    early = {"earlyAccess": True, "publicLaunchDate": await launch_in(program, 30)}
    await create(program, launches, visibility="public", metadata=early)
    handle = env.client.get_workflow_handle(offer_launch_workflow_id(program.provider_id, OFFER))
    await change(program, launches, metadata={"earlyAccess": None})
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    assert (await handle.describe()).status is WorkflowExecutionStatus.CANCELED
    await env.sleep(timedelta(days=31))
    assert seen_by(program, PARTNER) and not seen_by(program, STRANGER)

    # Early access again, with a date: a new run of the same workflow ID launches it.
    await change(
        program,
        launches,
        metadata={"earlyAccess": True, "publicLaunchDate": await launch_in(program, 3)},
    )
    await env.sleep(timedelta(days=4))
    result = LaunchResult.model_validate(await handle.result())
    assert result.status is LaunchStatus.LAUNCHED
    assert seen_by(program, STRANGER)
