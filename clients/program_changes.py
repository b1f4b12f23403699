"""Program changes from outside: start the workflow that announces a change and applies it at
its date, and cancel it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from models.contract import PROGRAM_CHANGE_WORKFLOW, TASK_QUEUE, program_change_workflow_id
from models.database import Database
from models.program_change import (
    ProgramChangeOutcome,
    ProgramChangeRequest,
    program_change_details,
    program_change_summary,
)
from models.search_attributes import PROVIDER_ID
from services.program import ProgramSaved, cancel_scheduled


class ProgramChanges:
    """Start and cancel program-change workflows, one per version of a provider's program."""

    def __init__(self, client: Client, task_queue: str = TASK_QUEUE) -> None:
        self.client = client
        self.task_queue = task_queue

    async def start(self, request: ProgramChangeRequest) -> str:
        """Start the change's workflow (once: the same version again starts nothing)."""
        workflow_id = program_change_workflow_id(request.provider_id, request.version)
        try:
            await self.client.start_workflow(
                PROGRAM_CHANGE_WORKFLOW,
                request,
                result_type=ProgramChangeOutcome,
                id=workflow_id,
                task_queue=self.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                static_summary=program_change_summary(
                    request.provider_id, request.version, request.effective_at
                ),
                static_details=program_change_details(request),
                search_attributes=TypedSearchAttributes(
                    [SearchAttributePair(PROVIDER_ID, request.provider_id)]
                ),
            )
        except WorkflowAlreadyStartedError:
            pass
        return workflow_id

    async def start_saved(self, db: Database, provider_id: str, saved: ProgramSaved) -> None:
        """Start the workflow a saved change needs: where it has a date to wait for or partners
        to tell. If it cannot start, a change waiting for its date is withdrawn: without a
        timer it must not seem to wait for one."""
        scheduled = saved.scheduled
        if scheduled is None and not saved.announce:
            return
        request = ProgramChangeRequest(
            provider_id=provider_id,
            version=saved.version,
            effective_at=scheduled.effective_at if scheduled else None,
            announce=saved.announce,
        )
        try:
            await self.start(request)
        except Exception:
            if scheduled is not None:
                await asyncio.to_thread(_withdraw, db, provider_id)
            raise

    async def cancel(self, provider_id: str, version: int) -> None:
        """Cancel the change's timer; a workflow already closed (or never started) is fine."""
        handle = self.client.get_workflow_handle(program_change_workflow_id(provider_id, version))
        try:
            await handle.cancel()
        except RPCError as error:
            if error.status not in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
                raise


def _withdraw(db: Database, provider_id: str) -> None:
    with db.transaction() as session:
        cancel_scheduled(session, provider_id, datetime.now(UTC))
