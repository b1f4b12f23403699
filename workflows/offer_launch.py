"""An early-access offer's public launch, under `offer/{provider_id}/{offer_id}`.

Started when an offer is saved with `metadata.earlyAccess` and a `publicLaunchDate`: a
durable timer until the date, which the `move_launch` signal moves (the API sends it with
every save, and starts the workflow with it where none runs). At the date one activity makes
the offer public, if the database still holds that date; if the date has moved, the
workflow waits for the new one. With `metadata.announceLaunch`, the partners on the list
who gained the offer are then told through an announcement of their own. Retiring the offer
or withdrawing its early access cancels it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from temporalio import workflow

from workflows.common import run_activity

with workflow.unsafe.imports_passed_through():
    from activities.offer_launch import OfferLaunchActivities
    from models.contract import OFFER_LAUNCH_WORKFLOW, SignalName
    from models.offers import LaunchAnnouncement, LaunchResult, LaunchStatus, OfferLaunch

ANNOUNCE_TIMEOUT = timedelta(minutes=2)
"""Recording the announcement and starting its workflow: its own workflow sends it."""


def _day(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC"


@workflow.defn(name=OFFER_LAUNCH_WORKFLOW)
class OfferLaunchWorkflow:
    @workflow.init
    def __init__(self, launch: OfferLaunch) -> None:
        self._launch_at = launch.launch_at

    @workflow.run
    async def run(self, launch: OfferLaunch) -> LaunchResult:
        name = f"offer {launch.offer_id} of {launch.provider_id}"
        while True:
            await self._until_launch(name)
            asked = launch.model_copy(update={"launch_at": self._launch_at})
            result = await run_activity(
                OfferLaunchActivities.launch_offer,
                asked,
                summary=f"make {name} public, if {_day(asked.launch_at)} is still its launch",
            )
            if result.status is not LaunchStatus.MOVED or result.launch_at is None:
                break
            if self._launch_at == asked.launch_at:  # no signal has moved it meanwhile
                self._launch_at = result.launch_at
        if result.status is LaunchStatus.LAUNCHED and result.announce and result.gained:
            workflow.set_current_details(f"{name}: **public; telling the partners who gained it**")
            await run_activity(
                OfferLaunchActivities.announce_launch,
                LaunchAnnouncement(
                    provider_id=launch.provider_id,
                    offer_id=launch.offer_id,
                    launch_at=asked.launch_at,
                    reseller_team_ids=result.gained,
                ),
                summary=f"announce the launch of {name} to the {len(result.gained)} partners "
                "who gained it",
                timeout=ANNOUNCE_TIMEOUT,
            )
        workflow.set_current_details(f"{name}: **{result.status.value}**")
        return result

    async def _until_launch(self, name: str) -> None:
        while (wait := self._launch_at - workflow.now()) > timedelta(0):
            at = self._launch_at
            workflow.set_current_details(f"{name}: **early access until {_day(at)}**")
            try:
                await workflow.wait_condition(
                    partial(self._moved_from, at),
                    timeout=wait,
                    timeout_summary=f"until {_day(at)}",
                )
            except TimeoutError:
                pass

    def _moved_from(self, at: datetime) -> bool:
        return self._launch_at != at

    @workflow.signal(name=SignalName.MOVE_LAUNCH)
    def move_launch(self, launch: OfferLaunch) -> None:
        """The launch date the offer has now."""
        self._launch_at = launch.launch_at
