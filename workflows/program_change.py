"""One change of a provider's program, under `program-change/{provider_id}/{version}`.

Started when the change is saved, if it has something to do over time:

1. announce (a change that tightens the criteria): record a notice for each partner it
   would take below its tier, then deliver them through the outbox, retried apart;
2. wait (a change with an effective date): a durable timer until the date;
3. apply: put the version in force, only if it is still the scheduled one.

Cancelling the change (`DELETE /provider/program/scheduled`) marks it cancelled in the
database and cancels this workflow; the apply step would find it cancelled anyway.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.workflow import ActivityHandle

from workflows.common import OUTBOX_DELIVERY_TIMEOUT, OUTBOX_HEARTBEAT_TIMEOUT, run_activity
from workflows.deliveries import DELIVERY_RETRY

with workflow.unsafe.imports_passed_through():
    from activities.notifications import NotificationActivities
    from activities.program_changes import ProgramChangeActivities
    from models.contract import PROGRAM_CHANGE_WORKFLOW
    from models.delivery import OutboxBatch, OutboxDelivered
    from models.program_change import (
        NoticesRecorded,
        ProgramChangeOutcome,
        ProgramChangeRef,
        ProgramChangeRequest,
        ProgramChangeStatus,
        program_change_summary,
    )

NOTICE_TIMEOUT = timedelta(minutes=30)
HEARTBEAT_TIMEOUT = timedelta(seconds=30)
"""Recording heartbeats before each partner's notice."""


@workflow.defn(name=PROGRAM_CHANGE_WORKFLOW)
class ProgramChangeWorkflow:
    @workflow.run
    async def run(self, request: ProgramChangeRequest) -> ProgramChangeOutcome:
        ref = ProgramChangeRef(provider_id=request.provider_id, version=request.version)
        self._summary = program_change_summary(
            request.provider_id, request.version, request.effective_at
        )
        notices = 0
        delivery: ActivityHandle[OutboxDelivered] | None = None
        if request.announce:
            self._stage("telling the partners it affects")
            recorded: NoticesRecorded = await run_activity(
                ProgramChangeActivities.record_program_notices,
                ref,
                summary=f"put a notice of version {request.version} in the outbox for each "
                f"partner of {request.provider_id} it would take below its tier",
                timeout=NOTICE_TIMEOUT,
                heartbeat_timeout=HEARTBEAT_TIMEOUT,
            )
            notices = recorded.partners
            if notices:
                delivery = workflow.start_activity_method(
                    NotificationActivities.deliver_outbox,
                    OutboxBatch(provider_id=request.provider_id, key_prefix=recorded.key_prefix),
                    start_to_close_timeout=OUTBOX_DELIVERY_TIMEOUT,
                    heartbeat_timeout=OUTBOX_HEARTBEAT_TIMEOUT,
                    retry_policy=DELIVERY_RETRY,
                    summary=f"deliver the {notices} notices of version {request.version}",
                )
        status = ProgramChangeStatus.APPLIED
        applied_at = None
        if request.effective_at is not None:
            wait = request.effective_at - workflow.now()
            if wait > timedelta(0):
                self._stage(f"{notices} partners told; waiting for the effective date")
                await workflow.sleep(
                    wait, summary=f"until {request.effective_at:%Y-%m-%d %H:%M} UTC"
                )
            applied = await run_activity(
                ProgramChangeActivities.apply_program_change,
                ref,
                summary=f"put version {request.version} of the program of "
                f"{request.provider_id} in force, if it is still the one scheduled",
            )
            status = applied.status
            applied_at = workflow.now() if applied.changed else None
        if delivery is not None:
            self._stage(f"version {status.value}; delivering the notices")
            await delivery
        workflow.set_current_details(
            f"{self._summary}: **done**\n\nversion {request.version} {status.value}; "
            f"{notices} partners told."
        )
        return ProgramChangeOutcome(
            version=request.version, status=status, notices=notices, applied_at=applied_at
        )

    def _stage(self, what: str) -> None:
        workflow.set_current_details(f"{self._summary}: **{what}**")
