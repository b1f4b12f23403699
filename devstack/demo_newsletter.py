"""The demo's monthly newsletter: on for the demo provider (its Schedule on the dev server),
and the month just ended sent once, so that `make run` shows one in the outbox, the portal's
inbox and the dashboard's `/newsletter` page."""

from __future__ import annotations

import asyncio
from datetime import datetime

from temporalio.client import WorkflowFailureError

from clients.newsletters import Newsletters
from clients.review_schedules import SchedulesUnavailable
from devstack.demo import DEMO_PROVIDER_ID
from models.database import Database
from models.newsletter import NewsletterOutcome, month_before
from services.errors import ConflictError
from store.newsletters import setting_of

SEND_TIMEOUT = 60.0


async def send_demo_newsletter(
    newsletters: Newsletters, db: Database, now: datetime
) -> NewsletterOutcome | str:
    """Turn the newsletter on (unless the demo provider turned it off itself) and send the
    month just ended: its outcome, or why not."""
    try:
        with db.transaction() as session:
            if setting_of(session, DEMO_PROVIDER_ID) is None:
                await newsletters.turn(session, DEMO_PROVIDER_ID, True, now)
        with db.transaction() as session:
            handle = await newsletters.send(session, DEMO_PROVIDER_ID, month_before(now), now)
        outcome = await asyncio.wait_for(handle.result(), SEND_TIMEOUT)
    except (SchedulesUnavailable, ConflictError, WorkflowFailureError, TimeoutError) as error:
        return f"no newsletter: {error}"
    return outcome if outcome is not None else f"newsletter {handle.id} already sent"
