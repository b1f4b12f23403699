"""Announcements from outside: record one and start the workflow that sends it at its time,
and cancel it while it waits. `Announcements.send` is what any other part of partnerflow calls
to announce something (`to_partners` for a list of partners)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from models.announcement import (
    AnnouncementKind,
    AnnouncementOutcome,
    AnnouncementRequest,
    AnnouncementStart,
    Audience,
    announcement_summary,
)
from models.contract import ANNOUNCEMENT_WORKFLOW, TASK_QUEUE, announcement_workflow_id
from models.database import Database
from models.search_attributes import PROVIDER_ID
from services.announcements import (
    AnnouncementRecord,
    cancel_announcement,
    create_announcement,
    withdraw_announcement,
)


class Announcements:
    """Record, start and cancel announcements, one workflow each."""

    def __init__(self, client: Client, task_queue: str = TASK_QUEUE) -> None:
        self.client = client
        self.task_queue = task_queue

    async def start(self, provider_id: str, record: AnnouncementRecord) -> str:
        """Start the announcement's workflow (once: the same announcement again starts nothing)."""
        start = AnnouncementStart(
            provider_id=provider_id,
            announcement_id=record.announcement_id,
            send_at=record.send_at,
        )
        try:
            await self.client.start_workflow(
                ANNOUNCEMENT_WORKFLOW,
                start,
                result_type=AnnouncementOutcome,
                id=record.workflow_id,
                task_queue=self.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                static_summary=announcement_summary(
                    provider_id, record.announcement_id, record.send_at
                ),
                static_details=f"{record.kind.label}: {record.subject}\n\n"
                f"to {record.audience.describe()}",
                search_attributes=TypedSearchAttributes(
                    [SearchAttributePair(PROVIDER_ID, provider_id)]
                ),
            )
        except WorkflowAlreadyStartedError:
            pass
        return record.workflow_id

    async def send(
        self,
        db: Database,
        provider_id: str,
        request: AnnouncementRequest,
        now: datetime | None = None,
    ) -> AnnouncementRecord:
        """Record the announcement and start its workflow; if the workflow cannot start, the
        announcement is withdrawn (nothing of it was sent) and the error raised."""
        at = now or datetime.now(UTC)
        record = await asyncio.to_thread(_create, db, provider_id, request, at)
        try:
            await self.start(provider_id, record)
        except Exception:
            await asyncio.to_thread(_withdraw, db, provider_id, record.announcement_id)
            raise
        return record

    async def to_partners(
        self,
        db: Database,
        provider_id: str,
        reseller_team_ids: list[str],
        *,
        kind: AnnouncementKind,
        subject: str,
        body: str,
        send_at: datetime | None = None,
        announcement_id: str | None = None,
        created_by: str = "partnerflow",
    ) -> AnnouncementRecord:
        """Announce to these partners of the provider (at most 10,000), now or at `send_at`."""
        request = AnnouncementRequest(
            kind=kind,
            subject=subject,
            body=body,
            audience=Audience(reseller_team_ids=reseller_team_ids),
            send_at=send_at,
            announcement_id=announcement_id,
            created_by=created_by,
        )
        return await self.send(db, provider_id, request)

    async def cancel(
        self, db: Database, provider_id: str, announcement_id: str
    ) -> AnnouncementRecord:
        """Mark the announcement cancelled (a ConflictError once its time came), then cancel
        its timer; a workflow already closed is fine."""
        record = await asyncio.to_thread(
            _cancel, db, provider_id, announcement_id, datetime.now(UTC)
        )
        handle = self.client.get_workflow_handle(
            announcement_workflow_id(provider_id, announcement_id)
        )
        try:
            await handle.cancel()
        except RPCError as error:
            if error.status not in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
                raise
        return record


def _create(
    db: Database, provider_id: str, request: AnnouncementRequest, now: datetime
) -> AnnouncementRecord:
    with db.transaction() as session:
        return create_announcement(session, provider_id, request, now)


def _withdraw(db: Database, provider_id: str, announcement_id: str) -> None:
    with db.transaction() as session:
        withdraw_announcement(session, provider_id, announcement_id)


def _cancel(
    db: Database, provider_id: str, announcement_id: str, now: datetime
) -> AnnouncementRecord:
    with db.transaction() as session:
        return cancel_announcement(session, provider_id, announcement_id, now)
