"""Program changes from outside: start the workflow that announces a change and applies it at
its date, and cancel it."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from models.contract import PROGRAM_CHANGE_WORKFLOW, TASK_QUEUE, program_change_workflow_id
from models.program_change import (
    ProgramChangeOutcome,
    ProgramChangeRequest,
    program_change_details,
    program_change_summary,
)
from models.search_attributes import PROVIDER_ID


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

    async def cancel(self, provider_id: str, version: int) -> None:
        """Cancel the change's timer; a workflow already closed (or never started) is fine."""
        handle = self.client.get_workflow_handle(program_change_workflow_id(provider_id, version))
        try:
            await handle.cancel()
        except RPCError as error:
            if error.status not in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
                raise
