"""The monthly newsletter from outside: turned on and off (with the provider's Schedule that
sends it), and one month sent by hand.

Turning it on writes the opt-in and creates the Schedule before the caller commits, so a
Temporal outage leaves it off; turning it off deletes the Schedule, and a newsletter whose
Schedule fired anyway records nothing for a provider that has opted out. The worker calls
`ensure_every_subscriber` at start.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    WorkflowHandle,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from clients.review_schedules import SchedulesUnavailable
from clients.reviews import CATCHUP_WINDOW
from models.contract import (
    NEWSLETTER_WORKFLOW,
    TASK_QUEUE,
    newsletter_schedule_id,
    newsletter_workflow_id,
)
from models.database import Database
from models.newsletter import (
    NewsletterOutcome,
    NewsletterRequest,
    month_bounds,
    newsletter_summary,
)
from models.search_attributes import PROVIDER_ID
from services.errors import ConflictError, InputError
from services.newsletters import CRON, SEND_HOUR, NewsletterState, newsletter_state
from store.newsletters import newsletter_enabled, set_newsletter, subscribed_providers

logger = logging.getLogger("partnerflow.newsletters")


def _unimplemented(error: RPCError) -> SchedulesUnavailable:
    return SchedulesUnavailable(
        f"this Temporal server does not implement Schedules ({error.message}): the newsletter "
        "cannot be sent monthly here"
    )


class Newsletters:
    def __init__(self, client: Client, task_queue: str = TASK_QUEUE) -> None:
        self.client = client
        self.task_queue = task_queue

    def _schedule(self, provider_id: str) -> Schedule:
        return Schedule(
            action=ScheduleActionStartWorkflow(
                NEWSLETTER_WORKFLOW,
                NewsletterRequest(provider_id=provider_id),
                # The server appends the scheduled time; that run sends the month just ended
                # as the child newsletter/{provider}/{month}.
                id=f"newsletter/{provider_id}",
                task_queue=self.task_queue,
                typed_search_attributes=TypedSearchAttributes(
                    [SearchAttributePair(PROVIDER_ID, provider_id)]
                ),
                static_summary=f"Start the monthly newsletter of provider {provider_id}",
                static_details=f"Run by the Schedule {newsletter_schedule_id(provider_id)} at "
                f"{SEND_HOUR:02d}:00 UTC on the 1st: sends the month just ended as the child "
                f"newsletter/{provider_id}/{{month}}, once per month.",
            ),
            spec=ScheduleSpec(cron_expressions=[CRON]),
            policy=SchedulePolicy(catchup_window=CATCHUP_WINDOW),
            state=ScheduleState(note=f"Monthly partner newsletter of provider {provider_id}"),
        )

    async def ensure_schedule(self, provider_id: str) -> bool:
        """Create the provider's Schedule where missing; True if it was created."""
        try:
            await self.client.create_schedule(
                newsletter_schedule_id(provider_id), self._schedule(provider_id)
            )
        except ScheduleAlreadyRunningError:
            return False
        except RPCError as error:
            if error.status is RPCStatusCode.UNIMPLEMENTED:
                raise _unimplemented(error) from error
            raise
        return True

    async def drop_schedule(self, provider_id: str) -> None:
        """Delete the provider's Schedule; one that is not there is fine."""
        handle = self.client.get_schedule_handle(newsletter_schedule_id(provider_id))
        try:
            await handle.delete()
        except RPCError as error:
            if error.status is RPCStatusCode.UNIMPLEMENTED:
                raise _unimplemented(error) from error
            if error.status is not RPCStatusCode.NOT_FOUND:
                raise

    async def turn(
        self, session: Session, provider_id: str, enabled: bool, now: datetime
    ) -> NewsletterState:
        """Turn the newsletter on or off in `session` (the caller commits) and its Schedule
        with it: a Temporal error is raised before the caller commits."""
        set_newsletter(session, provider_id, enabled, now)
        if enabled:
            await self.ensure_schedule(provider_id)
        else:
            await self.drop_schedule(provider_id)
        return newsletter_state(session, provider_id, now)

    async def send(
        self, session: Session, provider_id: str, month: str, now: datetime
    ) -> WorkflowHandle[object, NewsletterOutcome | None]:
        """Send one month's newsletter now (once per month: a month already sent, or being
        sent, is that workflow's handle); a month that has not ended is refused."""
        if month_bounds(month)[1] > now:
            raise InputError(f"month: {month} has not ended yet; a newsletter tells a month past")
        if not newsletter_enabled(session, provider_id):
            raise ConflictError(
                "the newsletter is off: turn it on (PUT /provider/newsletter "
                '{"enabled": true}) before sending one'
            )
        workflow_id = newsletter_workflow_id(provider_id, month)
        try:
            return await self.client.start_workflow(
                NEWSLETTER_WORKFLOW,
                NewsletterRequest(provider_id=provider_id, month=month),
                id=workflow_id,
                task_queue=self.task_queue,
                result_type=NewsletterOutcome | None,  # type: ignore[arg-type]
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                static_summary=newsletter_summary(provider_id, month),
                search_attributes=TypedSearchAttributes(
                    [SearchAttributePair(PROVIDER_ID, provider_id)]
                ),
            )
        except WorkflowAlreadyStartedError:
            return self.client.get_workflow_handle(
                workflow_id,
                result_type=NewsletterOutcome | None,  # type: ignore[arg-type]
            )


async def ensure_every_subscriber(newsletters: Newsletters, db: Database) -> list[str]:
    """Create the Schedule of each provider that sends the newsletter and lacks one; logged,
    not raised, like the review Schedules."""
    with db.transaction() as session:
        providers = subscribed_providers(session)
    created: list[str] = []
    try:
        for provider_id in providers:
            if await newsletters.ensure_schedule(provider_id):
                created.append(newsletter_schedule_id(provider_id))
    except SchedulesUnavailable as error:
        logger.warning("newsletter Schedules not created: %s", error)
    except RPCError as error:
        logger.error("newsletter Schedules not created: Temporal refused (%s)", error)
    if created:
        logger.info("created newsletter Schedules %s", ", ".join(created))
    return created
