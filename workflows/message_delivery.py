"""One message delivered on its own, apart from the workflow that recorded it.

A partner's or an agreement's run that closes hands the deliveries it has not
seen finish to a MessageDeliveryWorkflow each (`delivery/{idempotency_key}`);
a provider who fixed an address, a contact or the channel sends a bounced or
failed message again through one. The key is the message's idempotency key,
so a message has at most one delivery under way, and the receiver can still
drop a duplicate by it.
"""

from __future__ import annotations

from temporalio import workflow

from workflows.common import run_activity
from workflows.deliveries import deliver, event_of

with workflow.unsafe.imports_passed_through():
    from activities.notifications import NotificationActivities
    from models.contract import MESSAGE_DELIVERY_WORKFLOW
    from models.delivery import DeliveryOutcome, DeliveryRequest, MessageDeliveryInput
    from models.notifications import NotificationReceipt
    from models.summaries import one_line


@workflow.defn(name=MESSAGE_DELIVERY_WORKFLOW)
class MessageDeliveryWorkflow:
    @workflow.run
    async def run(self, input: MessageDeliveryInput) -> DeliveryOutcome:
        key = input.idempotency_key
        event = event_of(key)
        if input.resend:
            receipt: NotificationReceipt = await run_activity(
                NotificationActivities.requeue_notification,
                DeliveryRequest(idempotency_key=key),
                summary=one_line(f"send {event} again: back to pending, two more days of tries"),
            )
            workflow.set_current_details(f"sending {event} again to {receipt.address or '?'}")
        outcome = await deliver(key, one_line(f"deliver {event}"))
        said = f": {outcome.reason}" if outcome.reason else ""
        workflow.set_current_details(one_line(f"{event}: {outcome.status.value}{said}"))
        return outcome
