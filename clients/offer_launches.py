"""Early-access offers from outside: start, move and cancel the workflow that makes an offer
public at its launch date; and the announcer its activity tells the partners with."""

from __future__ import annotations

import asyncio

from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from clients.announcements import Announcements
from models.announcement import AnnouncementKind
from models.contract import (
    OFFER_LAUNCH_WORKFLOW,
    TASK_QUEUE,
    SignalName,
    offer_launch_workflow_id,
)
from models.database import Database
from models.offers import LaunchResult, OfferLaunch, OfferStatus
from models.search_attributes import PROVIDER_ID
from services.announcements import AnnouncementRecord, get_announcement
from services.errors import ConflictError
from services.offers import OfferRecord


class OfferLaunches:
    """One launch workflow per offer, following what the offer's record says."""

    def __init__(self, client: Client, task_queue: str = TASK_QUEUE) -> None:
        self.client = client
        self.task_queue = task_queue

    async def schedule(self, launch: OfferLaunch) -> str:
        """Give the offer's launch workflow this date, starting one where none runs."""
        workflow_id = offer_launch_workflow_id(launch.provider_id, launch.offer_id)
        await self.client.start_workflow(
            OFFER_LAUNCH_WORKFLOW,
            launch,
            result_type=LaunchResult,
            id=workflow_id,
            task_queue=self.task_queue,
            start_signal=SignalName.MOVE_LAUNCH,
            start_signal_args=[launch],
            static_summary=f"launch of offer {launch.offer_id} of {launch.provider_id}",
            search_attributes=TypedSearchAttributes(
                [SearchAttributePair(PROVIDER_ID, launch.provider_id)]
            ),
        )
        return workflow_id

    async def cancel(self, provider_id: str, offer_id: str) -> None:
        """Cancel the offer's launch; a workflow already closed (or never started) is fine."""
        handle = self.client.get_workflow_handle(offer_launch_workflow_id(provider_id, offer_id))
        try:
            await handle.cancel()
        except RPCError as error:
            if error.status not in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
                raise

    async def follow(self, provider_id: str, record: OfferRecord, *, created: bool = False) -> None:
        """Make the launch workflow match a saved offer: waiting for its date while it is
        early access not yet launched, cancelled once the offer is retired or its early
        access withdrawn before the launch. An offer that never had early access, or a new
        one without it, costs no call."""
        step = launch_step(record, created=created)
        launch_at = record.metadata.launch_at
        if step == "schedule" and launch_at is not None:
            await self.schedule(
                OfferLaunch(provider_id=provider_id, offer_id=record.offer_id, launch_at=launch_at)
            )
        elif step == "cancel":
            await self.cancel(provider_id, record.offer_id)


def launch_step(record: OfferRecord, *, created: bool = False) -> str | None:
    """What following a saved offer asks of Temporal: "schedule" its launch, "cancel" it, or
    nothing (None: no call at all)."""
    metadata = record.metadata
    if metadata.launched_at is not None:
        return None
    if metadata.launch_at is not None and record.status is not OfferStatus.RETIRED:
        return "schedule"
    if not created and (
        metadata.early_access is not None or metadata.public_launch_date is not None
    ):
        return "cancel"
    return None


class LaunchAnnouncements:
    """Launch announcements through the announcements' own workflow, once per ID: the
    worker's LaunchAnnouncer."""

    def __init__(self, db: Database, client: Client, task_queue: str = TASK_QUEUE) -> None:
        self._db = db
        self._announcements = Announcements(client, task_queue)

    async def announce_once(
        self,
        provider_id: str,
        announcement_id: str,
        reseller_team_ids: list[str],
        subject: str,
        body: str,
    ) -> None:
        try:
            await self._announcements.to_partners(
                self._db,
                provider_id,
                reseller_team_ids,
                kind=AnnouncementKind.NEW_SERVICE,
                subject=subject,
                body=body,
                announcement_id=announcement_id,
                created_by="offer launch",
            )
        except ConflictError:
            # Recorded by an earlier attempt: make sure its workflow runs.
            record = await asyncio.to_thread(_recorded, self._db, provider_id, announcement_id)
            await self._announcements.start(provider_id, record)


def _recorded(db: Database, provider_id: str, announcement_id: str) -> AnnouncementRecord:
    with db.transaction() as session:
        return get_announcement(session, provider_id, announcement_id)
