"""Candidates and enrollment: a nomination, an enrollment now or at its effective date."""

from __future__ import annotations

from functools import partial

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.common import ACTIVITY_RETRY, ACTIVITY_TIMEOUT, InvalidRequest
from workflows.partner_lifecycle.effects import KEPT_IN_STATE, PartnerEffects
from workflows.partner_lifecycle.rules import enrollment_reason
from workflows.patches import (
    PATCH_CONTEXT_LOADED_ONCE,
    PATCH_ENROLL_IN_ONE_TASK,
    PATCH_NOMINATION_IN_ONE_TASK,
    PATCH_WELCOME_WITH_ENROLLMENT,
)

with workflow.unsafe.imports_passed_through():
    from activities.partners import PartnerRecordActivities
    from models.notifications import NotificationKind
    from models.offers import OfferAccessChange
    from models.partner import (
        ActorKind,
        EnrollmentRequest,
        Nomination,
        Note,
        NoteInput,
        NoteKind,
        PartnerStatus,
        Transition,
    )
    from models.program import Tier
    from models.records import (
        EnrollmentWrite,
        EnrollmentWritten,
        NoteRecord,
        PartnerContext,
        TransitionRecord,
    )
    from models.summaries import by, one_line, standing


class Enrollment(PartnerEffects):
    """Enrollment, now or at the effective date, by the provider or by a nomination."""

    async def _schedule_enrollment(self, request: EnrollmentRequest) -> None:
        """Keep the request for its effective date, which the run loop's timer waits for."""
        s = self.state
        s.scheduled_enrollment = request
        self._changed()
        if request.notes:
            await self._add_note(NoteInput(text=request.notes, requested_by=request.requested_by))
        await self._notify(
            NotificationKind.ENROLLMENT_SCHEDULED,
            self._context(tier=request.tier, effective_date=request.effective_date),
            sequence=s.next_sequence(),
        )

    async def _nominate(self, nomination: Nomination) -> None:
        """Make the reseller a candidate: enrolled at once if the program enrolls candidates
        itself, else the provider is told of it. A review's nomination carries its program,
        and the candidate is then written in the task that took it."""
        s = self.state
        context: PartnerContext | None = None
        if nomination.program is not None and workflow.patched(PATCH_NOMINATION_IN_ONE_TASK):
            program = s.program = nomination.program
        else:
            context = await self._load_context()
            program = context.program
        s.nominated = True
        s.candidate_since = workflow.now()
        if nomination.metrics:
            s.last_metrics = nomination.metrics
        become = partial(self._become_candidate, nomination, tell_provider=not program.auto_enroll)
        if context is None:
            await self._in_one_task(become)
        else:
            await become()
        if program.auto_enroll:
            await self._enroll(
                EnrollmentRequest(tier=nomination.tier, requested_by="auto-enroll"),
                ActorKind.REVIEW,
                nomination.review_id,
                context,
            )

    async def _become_candidate(self, nomination: Nomination, *, tell_provider: bool) -> None:
        await self._transition(
            PartnerStatus.CANDIDATE,
            Tier.BRONZE,
            f"nominated: {nomination.reason}",
            ActorKind.REVIEW,
            nomination.review_id,
            initial=True,
        )
        if tell_provider:
            await self._notify(
                NotificationKind.CANDIDATE_NOTICE,
                self._context(
                    tier=nomination.tier, reason=nomination.reason, metrics=nomination.metrics
                ),
                to_provider=True,
            )

    async def _enroll(
        self,
        request: EnrollmentRequest,
        actor: ActorKind,
        actor_id: str | None,
        context: PartnerContext | None = None,
    ) -> None:
        """Put the partner on the list; `context` is what the caller has just loaded, if any."""
        if workflow.patched(PATCH_ENROLL_IN_ONE_TASK):
            await self._enroll_in_one_task(request, actor, actor_id)
            return
        s = self.state
        if context is None or not workflow.patched(PATCH_CONTEXT_LOADED_ONCE):
            context = await self._load_context()
        metrics = await self._metrics(context.program, "the figures of the welcome")
        s.scheduled_enrollment = None
        s.enrolled_at = workflow.now()
        s.last_metrics = metrics
        self._clear_at_risk()
        reason = enrollment_reason(request)
        await self._transition(PartnerStatus.PREFERRED, request.tier, reason, actor, actor_id)
        sequence = s.transitions[-1].sequence
        await self._sync_offer_access(reason)
        if request.notes:
            await self._add_note(NoteInput(text=request.notes, requested_by=request.requested_by))
        await self._notify(
            NotificationKind.WELCOME,
            self._context(metrics=metrics, enrolled_below_criteria=request.override),
            sequence=sequence,
        )

    async def _enroll_in_one_task(
        self, request: EnrollmentRequest, actor: ActorKind, actor_id: str | None
    ) -> None:
        """Enroll in the workflow task that took the request: one local activity reads the
        program and the metrics and writes the transition, the access and the note; the state
        changes only once it succeeded, and the welcome leaves from the run loop."""
        s = self.state
        now = workflow.now()
        workflow_id = workflow.info().workflow_id
        reason = enrollment_reason(request)
        transition = Transition(
            sequence=s.sequence + 1,
            at=now,
            from_status=s.status,
            to_status=PartnerStatus.PREFERRED,
            from_tier=s.tier,
            to_tier=request.tier,
            reason=reason,
            actor=actor,
            actor_id=actor_id,
        )
        note = (
            Note(
                sequence=transition.sequence + 1,
                at=now,
                kind=NoteKind.OTHER,
                text=request.notes,
                author=request.requested_by,
            )
            if request.notes
            else None
        )
        ref = {"provider_id": s.provider_id, "reseller_team_id": s.reseller_team_id}
        welcome = (
            self._message(
                NotificationKind.WELCOME,
                self._context(tier=request.tier, enrolled_below_criteria=request.override),
                transition.sequence,
            )
            if workflow.patched(PATCH_WELCOME_WITH_ENROLLMENT)
            else None
        )
        write = EnrollmentWrite(
            **ref,
            tier=request.tier,
            as_of=now,
            transition=TransitionRecord(
                **ref,
                idempotency_key=s.idempotency_key(workflow_id, "transition", transition.sequence),
                workflow_id=workflow_id,
                partnership_id=s.partnership_id,
                transition=transition,
                status=PartnerStatus.PREFERRED,
                tier=request.tier,
                enrolled_at=now,
                grace_deadline=None,
            ),
            access=OfferAccessChange(
                **ref, tier=request.tier, blocked_offer_ids=s.blocked_offer_ids, reason=reason
            ),
            note=NoteRecord(
                **ref,
                idempotency_key=s.idempotency_key(workflow_id, "note", note.sequence),
                note=note,
            )
            if note
            else None,
            welcome=welcome,
        )
        try:
            written: EnrollmentWritten = await workflow.execute_local_activity_method(
                PartnerRecordActivities.enroll_partner,
                write,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=ACTIVITY_RETRY,
                summary=one_line(
                    f"enroll {s.reseller_team_id}: {standing(s.status, s.tier)} -> "
                    f"{standing(PartnerStatus.PREFERRED, request.tier)} by "
                    f"{by(actor, actor_id)}: list row, metrics, transition, preferred offers"
                    f"{', welcome in the outbox' if welcome else ''}"
                ),
            )
        except ActivityError as error:
            if isinstance(error.cause, ApplicationError) and error.cause.non_retryable:
                raise InvalidRequest(error.cause.message) from error
            raise
        s.sequence = note.sequence if note else transition.sequence
        s.program = written.context.program
        s.scheduled_enrollment = None
        s.enrolled_at = now
        s.last_metrics = written.metrics
        self._clear_at_risk()
        s.status, s.tier = PartnerStatus.PREFERRED, request.tier
        s.transitions = [*s.transitions, transition][-KEPT_IN_STATE:]
        if note:
            s.notes = [*s.notes, note][-KEPT_IN_STATE:]
        self._changed()
        if welcome is not None:
            told = welcome.context.model_copy(update={"metrics": written.metrics})
            self._deliveries.start_message(welcome.model_copy(update={"context": told}))
            return
        self._outbox.append(
            (
                NotificationKind.WELCOME,
                self._context(metrics=written.metrics, enrolled_below_criteria=request.override),
                transition.sequence,
            )
        )
