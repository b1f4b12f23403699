"""What the agreement does beyond its state: its activities, its notices, what the UI shows.

The rules decide; these carry it out, each command in the order its caller awaits them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.common import InvalidRequest, run_activity
from workflows.deliveries import Deliveries
from workflows.exclusive_agreement.rules import missed
from workflows.patches import PATCH_PROVIDER_TOLD_OF_END

with workflow.unsafe.imports_passed_through():
    from activities.agreements import AgreementActivities
    from models.agreement import (
        KEPT_IN_STATE,
        AgreementEvent,
        AgreementEventKind,
        AgreementState,
        AgreementStatus,
        AgreementTerms,
        AgreementWorkflowInput,
        Scorecard,
        ScorecardKind,
        score,
    )
    from models.agreement_records import (
        AgreementEventRecord,
        AgreementMetricsRequest,
        AgreementRef,
        ExclusiveGrant,
        ExclusiveRelease,
        GrantResult,
        PartnerListing,
        ScorecardRecord,
    )
    from models.metrics import PartnerMetrics
    from models.notifications import (
        AgreementNotice,
        NotificationContext,
        NotificationKind,
        NotificationRequest,
        Recipient,
    )
    from models.partner import ActorKind
    from models.program import Tier
    from models.records import PartnerRef
    from models.search_attributes import AGREEMENT_STATUS, PROVIDER_ID, RESELLER_TEAM_ID
    from models.summaries import day, one_line


def _refusal(error: ActivityError) -> str | None:
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.type == "AgreementRefused":
        return cause.message
    return None


def _scope(terms: AgreementTerms) -> str:
    """`regional exclusive on 9 ZIP codes`, `service exclusive`."""
    zips = f" on {len(terms.zip_codes)} ZIP codes" if terms.zip_codes else ""
    return f"{terms.kind.value} exclusive{zips}"


def _ref(s: AgreementState) -> AgreementRef:
    return AgreementRef(
        provider_id=s.provider_id, agreement_id=s.agreement_id, agreement_uid=s.agreement_uid
    )


class AgreementEffects:
    """What one run of the agreement does beyond its state, in the order its caller awaits.

    `changes` counts the events recorded: the run loop wakes on it to look at its deadline
    again. Notices go out through the run's deliveries.
    """

    def __init__(self, deliveries: Deliveries) -> None:
        self.changes = 0
        self._deliveries = deliveries

    async def grant(
        self,
        input: AgreementWorkflowInput,
        terms: AgreementTerms,
        starts_at: datetime,
        term_end: datetime,
    ) -> GrantResult:
        """Make the offer selected for the partner alone; terms refused there raise
        InvalidRequest."""
        info = workflow.info()
        try:
            return await run_activity(
                AgreementActivities.grant_exclusive,
                ExclusiveGrant(
                    provider_id=input.provider_id,
                    agreement_id=input.agreement_id,
                    agreement_uid=info.run_id,
                    workflow_id=info.workflow_id,
                    terms=terms,
                    starts_at=starts_at,
                    term_end=term_end,
                ),
                summary=one_line(
                    f"make offer {terms.offer_id} selected for {terms.reseller_team_id} "
                    f"alone: {_scope(terms)} until {day(term_end)}"
                ),
            )
        except ActivityError as error:
            message = _refusal(error)
            if message is None:
                raise
            raise InvalidRequest(message) from error

    async def partner_listing(self, s: AgreementState) -> PartnerListing:
        return await run_activity(
            AgreementActivities.check_partner_listing,
            PartnerRef(provider_id=s.provider_id, reseller_team_id=s.reseller_team_id),
            summary=f"check that {s.reseller_team_id} is still on {s.provider_id}'s preferred "
            f"list, before scoring period {s.period_number} of term {s.term_number}",
        )

    async def scorecard(
        self,
        s: AgreementState,
        kind: ScorecardKind,
        start: datetime,
        end: datetime,
        min_monthly_orders: int,
    ) -> Scorecard:
        """Score the partner's orders under the agreement in [start, end), and store it."""
        metrics: PartnerMetrics = await run_activity(
            AgreementActivities.compute_agreement_metrics,
            AgreementMetricsRequest(
                provider_id=s.provider_id,
                reseller_team_id=s.reseller_team_id,
                offer_id=s.terms.offer_id,
                zip_codes=s.terms.zip_codes,
                window_start=start,
                window_end=end,
            ),
            summary=one_line(
                f"count {s.reseller_team_id}'s orders under {s.agreement_id} "
                f"({_scope(s.terms)}), {day(start)} to {day(end)}, for its {kind.value} scorecard"
            ),
        )
        lines = score(metrics, min_monthly_orders, s.terms.standards)
        card = Scorecard(
            sequence=s.next_sequence(),
            kind=kind,
            term_number=s.term_number,
            period_number=0 if kind is ScorecardKind.TERM else s.period_number,
            period_start=start,
            period_end=end,
            lines=lines,
            met=all(line.met for line in lines),
            metrics=metrics,
        )
        s.scorecards = [*s.scorecards, card][-KEPT_IN_STATE:]
        await run_activity(
            AgreementActivities.record_scorecard,
            ScorecardRecord(
                **_ref(s).model_dump(),
                reseller_team_id=s.reseller_team_id,
                idempotency_key=s.idempotency_key(
                    workflow.info().workflow_id, "scorecard", card.sequence
                ),
                scorecard=card,
            ),
            summary=one_line(
                f"{kind.value} scorecard of {s.agreement_id}, {day(start)} to {day(end)}: "
                + ("met every term" if card.met else f"missed {missed(card)}")
            ),
        )
        return card

    def publish(self, s: AgreementState) -> None:
        """The agreement's search attributes and current details, as it now stands."""
        workflow.upsert_search_attributes(
            [
                PROVIDER_ID.value_set(s.provider_id),
                RESELLER_TEAM_ID.value_set(s.reseller_team_id),
                AGREEMENT_STATUS.value_set(s.status.value),
            ]
        )
        lines = [
            f"Exclusive {s.agreement_id} of provider {s.provider_id}: **{s.status.value}**, "
            f"{s.terms.kind.value}, {s.reseller_team_id} on offer {s.terms.offer_id}",
            f"term {s.term_number}: {day(s.term_start)} to {day(s.term_end)}, "
            f"period {s.period_number} of {s.periods_in_term}",
        ]
        if s.status.is_closed:
            lines.append(f"ended {day(s.ended_at)}: {s.end_reason}")
        else:
            lines.append(f"next review: {day(s.next_review_at)}")
        if s.cure_deadline:
            lines.append(f"cure period ends: {day(s.cure_deadline)}")
        if s.pending_terms:
            lines.append(f"amended terms apply from {day(s.next_review_at)}")
        if s.renewal_confirmed_by:
            lines.append(f"renewed early by {s.renewal_confirmed_by}")
        if s.scorecards:
            card = s.scorecards[-1]
            lines.append(
                f"last review: {card.kind.value} scorecard {day(card.period_start)} to "
                f"{day(card.period_end)}, " + ("met" if card.met else f"missed {missed(card)}")
            )
        else:
            lines.append("last review: none yet")
        workflow.set_current_details("\n\n".join(lines))

    async def event(
        self,
        s: AgreementState,
        kind: AgreementEventKind,
        summary: str,
        actor: ActorKind,
        actor_id: str | None,
    ) -> None:
        """Record what happened, in the state, the database and the UI."""
        event = AgreementEvent(
            sequence=s.next_sequence(),
            at=workflow.now(),
            kind=kind,
            status=s.status,
            summary=summary,
            actor=actor,
            actor_id=actor_id,
        )
        s.events = [*s.events, event][-KEPT_IN_STATE:]
        self.changes += 1
        self.publish(s)
        await run_activity(
            AgreementActivities.record_agreement_event,
            AgreementEventRecord(
                **_ref(s).model_dump(),
                idempotency_key=s.idempotency_key(
                    workflow.info().workflow_id, "event", event.sequence
                ),
                event=event,
                terms=s.terms,
                term_number=s.term_number,
                term_end=s.term_end,
                breaches_in_term=s.breaches_in_term,
            ),
            summary=one_line(f"{s.agreement_id}: {kind.value} ({s.status.value}): {summary}"),
        )

    async def notify(
        self,
        s: AgreementState,
        kind: NotificationKind,
        recipient: Recipient = Recipient.PARTNER,
        **notice: Any,
    ) -> None:
        """Tell the partner (or the provider), keyed by the latest event so a retry never sends
        twice."""
        reason = notice.pop("reason", None)
        fields: dict[str, Any] = {
            "agreement_id": s.agreement_id,
            "kind": s.terms.kind,
            "offer_id": s.terms.offer_id,
            "zip_codes": s.terms.zip_codes,
            "term_number": s.term_number,
            "term_end": s.term_end,
            "cure_deadline": s.cure_deadline,
        }
        fields.update(notice)
        request = NotificationRequest(
            idempotency_key=s.idempotency_key(
                workflow.info().workflow_id, kind.value, s.events[-1].sequence
            ),
            provider_id=s.provider_id,
            reseller_team_id=s.reseller_team_id,
            kind=kind,
            recipient=recipient,
            context=NotificationContext(
                tier=Tier.SILVER, reason=reason, agreement=AgreementNotice(**fields)
            ),
        )
        await self._deliveries.send(request)

    async def end(
        self,
        s: AgreementState,
        status: AgreementStatus,
        reason: str,
        actor: ActorKind,
        actor_id: str | None,
        card: Scorecard | None = None,
    ) -> None:
        """Give the offer back its previous visibility, then close and tell the partner."""
        previous = s.previous_offer.visibility.value if s.previous_offer else "as it was"
        await run_activity(
            AgreementActivities.end_exclusive,
            ExclusiveRelease(
                **_ref(s).model_dump(), status=status, reason=reason, at=workflow.now()
            ),
            summary=one_line(
                f"end {s.agreement_id} ({status.value}): offer {s.terms.offer_id} back to "
                f"{previous}; {reason}"
            ),
        )
        s.status = status
        s.ended_at = workflow.now()
        s.end_reason = reason
        s.cure_deadline = None
        expired = status is AgreementStatus.EXPIRED
        await self.event(
            s,
            AgreementEventKind.EXPIRED if expired else AgreementEventKind.TERMINATED,
            reason,
            actor,
            actor_id,
        )
        await self.notify(
            s,
            NotificationKind.EXCLUSIVE_EXPIRED
            if expired
            else NotificationKind.EXCLUSIVE_TERMINATED,
            reason=reason,
            scorecard=card,
        )
        if actor is not ActorKind.PROVIDER and workflow.patched(PATCH_PROVIDER_TOLD_OF_END):
            await self.notify(
                s,
                NotificationKind.EXCLUSIVE_ENDED_NOTICE,
                reason=reason,
                scorecard=card,
                ended_as=status,
                recipient=Recipient.PROVIDER,
            )
