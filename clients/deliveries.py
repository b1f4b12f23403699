"""Messages sent again from outside: each through a MessageDeliveryWorkflow of its own."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from clients.requests import RequestRejected
from models.contract import MESSAGE_DELIVERY_WORKFLOW, TASK_QUEUE, delivery_workflow_id
from models.delivery import MessageDeliveryInput, OutboxEntry
from models.search_attributes import PROVIDER_ID, RESELLER_TEAM_ID


class DeliveryUnderWay(RequestRejected):
    """The message is being delivered already; the message says which."""


class MessageDeliveries:
    """Send bounced or failed messages again, once the provider has fixed what stopped them."""

    def __init__(self, client: Client, task_queue: str = TASK_QUEUE) -> None:
        self.client = client
        self.task_queue = task_queue

    async def resend(self, provider_id: str, entry: OutboxEntry) -> str:
        """Start sending `entry` again and return the workflow ID that does it; a message whose
        delivery is under way is refused with DeliveryUnderWay."""
        workflow_id = delivery_workflow_id(entry.idempotency_key)
        try:
            await self.client.start_workflow(
                MESSAGE_DELIVERY_WORKFLOW,
                MessageDeliveryInput(idempotency_key=entry.idempotency_key, resend=True),
                id=workflow_id,
                task_queue=self.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(PROVIDER_ID, provider_id),
                        SearchAttributePair(RESELLER_TEAM_ID, entry.reseller_team_id),
                    ]
                ),
                static_summary=(
                    f"send {entry.kind.value} to {entry.reseller_team_id} again "
                    f"(message {entry.id} of {provider_id})"
                ),
            )
        except WorkflowAlreadyStartedError:
            raise DeliveryUnderWay(
                f"message {entry.id} is being delivered already ({workflow_id})"
            ) from None
        return workflow_id
