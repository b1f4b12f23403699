"""The partner workflow's side effects: records, offer access, exclusives and messages.

Each helper makes one kind of command (an activity, a signal to an agreement, a search
attribute upsert) on behalf of the workflow and keeps the state in step with it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import workflow
from temporalio.exceptions import FailureError

from workflows.common import ACTIVITY_RETRY, ACTIVITY_TIMEOUT, run_activity
from workflows.deliveries import Deliveries

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from activities.agreements import AgreementActivities
    from activities.metrics import MetricsActivities
    from activities.offers import OfferAccessActivities
    from activities.partners import PartnerRecordActivities
    from models.agreement import PartnerBlocked, PartnerLeft
    from models.agreement_records import PartnerExclusives
    from models.contract import SignalName
    from models.metrics import PartnerMetrics
    from models.notifications import (
        NotificationContext,
        NotificationKind,
        NotificationRequest,
        Recipient,
    )
    from models.offers import OfferAccessChange
    from models.partner import (
        ActorKind,
        Note,
        NoteInput,
        PartnerState,
        PartnerStatus,
        Transition,
    )
    from models.program import ProgramSettings, Tier
    from models.records import (
        MetricsRequest,
        NoteRecord,
        PartnerContext,
        PartnerRef,
        PartnerWrites,
        TransitionRecord,
    )
    from models.search_attributes import (
        GRACE_DEADLINE,
        PARTNER_STATUS,
        PARTNER_TIER,
        PROVIDER_ID,
        RESELLER_TEAM_ID,
    )
    from models.summaries import (
        metrics_summary,
        offer_access_summary,
        one_line,
        partner_details,
        transition_summary,
        writes_summary,
    )

KEPT_IN_STATE = 200
"""Transitions and notes kept in the workflow state; all of them stay in the database."""

Outgoing = tuple[NotificationKind, NotificationContext, int]
"""A message waiting in the outbox: its kind, its context and the sequence that keys it."""


class PartnerEffects:
    """The state the workflow keeps, and the side effects that record and announce it."""

    state: PartnerState
    _lock: asyncio.Lock
    _changes: int
    _outbox: list[Outgoing]
    _deliveries: Deliveries
    _writes: PartnerWrites | None
    """The writes gathered for one local activity (see _in_one_task), or None."""

    # ------------------------------------------------------------------ state

    async def _transition(
        self,
        to_status: PartnerStatus,
        to_tier: Tier,
        reason: str,
        actor: ActorKind,
        actor_id: str | None,
        *,
        initial: bool = False,
    ) -> Transition:
        """Change the state, make it visible (search attributes, details) and record it."""
        s = self.state
        transition = Transition(
            sequence=s.next_sequence(),
            at=workflow.now(),
            from_status=None if initial else s.status,
            to_status=to_status,
            from_tier=s.tier,
            to_tier=to_tier,
            reason=reason,
            actor=actor,
            actor_id=actor_id,
        )
        s.status = to_status
        s.tier = to_tier
        s.transitions = [*s.transitions, transition][-KEPT_IN_STATE:]
        self._changed()
        record = TransitionRecord(
            provider_id=s.provider_id,
            reseller_team_id=s.reseller_team_id,
            idempotency_key=s.idempotency_key(
                workflow.info().workflow_id, "transition", transition.sequence
            ),
            workflow_id=workflow.info().workflow_id,
            partnership_id=s.partnership_id,
            transition=transition,
            status=s.status,
            tier=s.tier,
            enrolled_at=s.enrolled_at,
            grace_deadline=s.grace_deadline,
        )
        if not self._gather(transitions=record):
            await run_activity(
                PartnerRecordActivities.record_transition,
                record,
                summary=transition_summary(s.reseller_team_id, transition),
            )
        return transition

    def _gather(self, **writes: BaseModel) -> bool:
        """Add each write to its list in the writes being gathered, if any: whether it was."""
        if self._writes is None:
            return False
        gathered = self._writes
        self._writes = gathered.model_copy(
            update={name: [*getattr(gathered, name), item] for name, item in writes.items()}
        )
        return True

    async def _in_one_task(self, decide: Callable[[], Awaitable[None]]) -> None:
        """Run `decide` with the writes it makes gathered (transitions, offer access, notes and
        messages), then write them all with one local activity in the same workflow task and
        start the messages' deliveries. `decide` must await nothing else that writes."""
        s = self.state
        self._writes = PartnerWrites(provider_id=s.provider_id, reseller_team_id=s.reseller_team_id)
        try:
            await decide()
            writes = self._writes
        finally:
            self._writes = None
        if not (writes.transitions or writes.access or writes.notes or writes.messages):
            return
        await workflow.execute_local_activity_method(
            PartnerRecordActivities.record_partner_writes,
            writes,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
            summary=writes_summary(writes),
        )
        for message in writes.messages:
            self._deliveries.start_message(message)

    def _clear_at_risk(self) -> None:
        s = self.state
        s.at_risk_since = None
        s.grace_deadline = None
        s.failed_criteria = []
        s.at_risk_reason = None

    def _changed(self) -> None:
        self._changes += 1
        self._publish()

    def _publish(self) -> None:
        """Search attributes and current details, so operators see the state in the UI."""
        s = self.state
        workflow.upsert_search_attributes(
            [
                PROVIDER_ID.value_set(s.provider_id),
                RESELLER_TEAM_ID.value_set(s.reseller_team_id),
                PARTNER_STATUS.value_set(s.status.value),
                PARTNER_TIER.value_set(s.tier.value),
                GRACE_DEADLINE.value_set(s.grace_deadline)
                if s.grace_deadline
                else GRACE_DEADLINE.value_unset(),
            ]
        )
        self._publish_details()

    def _publish_details(self) -> None:
        workflow.set_current_details(partner_details(self.state))

    async def _add_note(self, request: NoteInput) -> None:
        s = self.state
        note = Note(
            sequence=s.next_sequence(),
            at=workflow.now(),
            kind=request.kind,
            text=request.text,
            author=request.requested_by,
            visibility=request.visibility,
        )
        s.notes = [*s.notes, note][-KEPT_IN_STATE:]
        record = NoteRecord(
            provider_id=s.provider_id,
            reseller_team_id=s.reseller_team_id,
            idempotency_key=s.idempotency_key(workflow.info().workflow_id, "note", note.sequence),
            note=note,
        )
        if not self._gather(notes=record):
            await run_activity(
                PartnerRecordActivities.record_note,
                record,
                summary=one_line(
                    f"{request.kind.value} note on {s.reseller_team_id}: {request.text}"
                ),
            )

    # ------------------------------------------------------------------ program and metrics

    async def _load_context(self) -> PartnerContext:
        s = self.state
        context: PartnerContext = await run_activity(
            PartnerRecordActivities.load_partner_context,
            PartnerRef(provider_id=s.provider_id, reseller_team_id=s.reseller_team_id),
            summary=f"read the program of {s.provider_id} and the reseller {s.reseller_team_id}",
        )
        s.program = context.program
        return context

    async def _metrics(self, program: ProgramSettings, purpose: str) -> PartnerMetrics:
        s = self.state
        request = MetricsRequest(
            provider_id=s.provider_id,
            reseller_team_id=s.reseller_team_id,
            as_of=workflow.now(),
            window_days=program.metrics_window_days,
        )
        metrics: PartnerMetrics = await run_activity(
            MetricsActivities.compute_partner_metrics,
            request,
            summary=metrics_summary(
                s.reseller_team_id, request.window_days, request.as_of, purpose
            ),
        )
        return metrics

    # ------------------------------------------------------------------ offers and exclusives

    async def _sync_offer_access(self, reason: str, *, revoke_selected: bool = False) -> None:
        s = self.state
        tier = s.tier if s.status.on_preferred_list else None
        grant_or_revoke = (
            OfferAccessActivities.grant_preferred_offers
            if tier
            else OfferAccessActivities.revoke_offer_access
        )
        change = OfferAccessChange(
            provider_id=s.provider_id,
            reseller_team_id=s.reseller_team_id,
            tier=tier,
            revoke_selected=revoke_selected,
            blocked_offer_ids=s.blocked_offer_ids,
            block_all=s.status is PartnerStatus.BLOCKED,
            reason=reason,
        )
        if not self._gather(access=change):
            await run_activity(grant_or_revoke, change, summary=offer_access_summary(change))

    async def _end_exclusives(self, reason: str) -> None:
        """Tell each of the partner's agreements in force that the partner has left."""
        exclusives = await self._find_exclusives("to end them")
        for workflow_id in exclusives.workflow_ids:
            await self._signal_agreement(
                workflow_id, SignalName.PARTNER_LEFT, PartnerLeft(reason=reason)
            )

    async def _end_blocked_exclusives(self, reason: str, offer_ids: list[str]) -> None:
        """End the partner's agreements on the offers it is now blocked from (all, if none).

        An exclusive makes its offer `selected` for this partner alone, so once the partner
        may not see the offer nobody can. A regional exclusive is served through an offer of
        its own too: a block of that offer ends it like a service exclusive (blocks are by
        offer, not by ZIP code), while a block of other offers leaves either kind alone.
        """
        scope = f"offers {', '.join(offer_ids)}" if offer_ids else "all offers"
        exclusives = await self._find_exclusives(f"to end those on {scope}")
        signal = PartnerBlocked(reason=reason, offer_ids=offer_ids)
        for held in exclusives.agreements:
            if signal.covers(held.offer_id):
                await self._signal_agreement(held.workflow_id, SignalName.PARTNER_BLOCKED, signal)

    async def _find_exclusives(self, purpose: str) -> PartnerExclusives:
        s = self.state
        exclusives: PartnerExclusives = await run_activity(
            AgreementActivities.find_partner_exclusives,
            PartnerRef(provider_id=s.provider_id, reseller_team_id=s.reseller_team_id),
            summary=f"find the exclusive agreements {s.reseller_team_id} holds, {purpose}",
        )
        return exclusives

    async def _signal_agreement(self, workflow_id: str, name: SignalName, arg: BaseModel) -> None:
        try:
            await workflow.get_external_workflow_handle(workflow_id).signal(name, arg)
        except FailureError as error:
            # Already closed: it ended on its own. Its next review would catch it anyway.
            workflow.logger.warning("could not tell %s: %s", workflow_id, error)

    # ------------------------------------------------------------------ messages

    def _context(self, **fields: Any) -> NotificationContext:
        fields.setdefault("tier", self.state.tier)
        return NotificationContext(**fields)

    async def _notify(
        self,
        kind: NotificationKind,
        context: NotificationContext,
        *,
        sequence: int | None = None,
        to_provider: bool = False,
    ) -> None:
        """Send a message keyed by the event it reports: by default the latest transition."""
        if sequence is None:
            sequence = self.state.transitions[-1].sequence
        message = self._message(kind, context, sequence, to_provider)
        if not self._gather(messages=message):
            await self._deliveries.send(message)

    def _message(
        self,
        kind: NotificationKind,
        context: NotificationContext,
        sequence: int,
        to_provider: bool = False,
    ) -> NotificationRequest:
        """The message about the event with this sequence, keyed by it."""
        s = self.state
        return NotificationRequest(
            idempotency_key=s.idempotency_key(workflow.info().workflow_id, kind.value, sequence),
            provider_id=s.provider_id,
            reseller_team_id=s.reseller_team_id,
            kind=kind,
            recipient=Recipient.PROVIDER if to_provider else Recipient.PARTNER,
            context=context,
        )

    async def _send_outbox(self) -> None:
        async with self._lock:
            while self._outbox:
                kind, context, sequence = self._outbox.pop(0)
                await self._notify(kind, context, sequence=sequence)
