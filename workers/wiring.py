"""Builds the worker: every workflow, and every activity with its dependencies."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.agreements import AgreementActivities
from activities.announcements import AnnouncementActivities
from activities.channels import NotificationChannel
from activities.metrics import MetricsActivities
from activities.newsletters import NewsletterActivities
from activities.notifications import NotificationActivities
from activities.offer_launch import OfferLaunchActivities
from activities.offers import OfferAccessActivities
from activities.partners import PartnerRecordActivities
from activities.program_changes import ProgramChangeActivities
from activities.review_fanout import ReviewFanOutActivities
from activities.reviews import ReviewActivities
from clients.offer_launches import LaunchAnnouncements
from clients.partners import PartnerPrograms
from models.contract import MAX_CACHED_WORKFLOWS, TASK_QUEUE
from models.database import Database
from runtime.signals import SHUTDOWN_GRACE
from workflows.announcement import AnnouncementWorkflow
from workflows.exclusive_agreement import ExclusiveAgreementWorkflow
from workflows.message_delivery import MessageDeliveryWorkflow
from workflows.newsletter import NewsletterWorkflow
from workflows.offer_launch import OfferLaunchWorkflow
from workflows.partner_lifecycle import PartnerLifecycleWorkflow
from workflows.program_change import ProgramChangeWorkflow
from workflows.program_review import ProgramReviewWorkflow

WORKFLOWS: Sequence[type] = (
    PartnerLifecycleWorkflow,
    ExclusiveAgreementWorkflow,
    ProgramReviewWorkflow,
    MessageDeliveryWorkflow,
    ProgramChangeWorkflow,
    OfferLaunchWorkflow,
    AnnouncementWorkflow,
    NewsletterWorkflow,
)
ACTIVITY_THREADS = 32
WORKFLOW_RUNNER = UnsandboxedWorkflowRunner()
"""Workflows run without the SDK's sandbox. Since ddac6c0 it had passed our modules through,
so the calls it exists to catch in them (the clock, randomness, I/O) were caught only where
the tests replay the histories they produce in the SDK's full sandbox (the `programs`
fixture, `tests/helpers.replay_histories`, `tests/workflows/test_replay.py`), and still
are. What the worker gives up is its refusing `open` and the like at run time. What the
sandbox cost: every payload of every activation and completion entered it (an `exec`) to
find its serialization context, about 15 % of the worker process's time under sustained
enrollments; without it the process spends a quarter less CPU per enrollment on SQLite
(bench/README.md, fifth round). The modules keep no state between runs: none holds a
mutable global."""


def build_activities(
    db: Database,
    client: Client,
    channel: NotificationChannel | None = None,
    task_queue: str = TASK_QUEUE,
) -> list[Callable[..., Any]]:
    metrics = MetricsActivities(db)
    notifications = NotificationActivities(db, channel)
    records = PartnerRecordActivities(db, notifications)
    offers = OfferAccessActivities(db)
    agreements = AgreementActivities(db)
    reviews = ReviewActivities(db, notifications)
    fan_out = ReviewFanOutActivities(db, PartnerPrograms(client, task_queue))
    program_changes = ProgramChangeActivities(db, notifications)
    offer_launches = OfferLaunchActivities(db, LaunchAnnouncements(db, client, task_queue))
    announcements = AnnouncementActivities(db)
    newsletters = NewsletterActivities(db)
    return [
        metrics.compute_partner_metrics,
        records.load_partner_context,
        records.record_transition,
        records.record_note,
        records.enroll_partner,
        records.record_partner_writes,
        offers.grant_preferred_offers,
        offers.revoke_offer_access,
        notifications.send_notification,
        notifications.record_notification,
        notifications.deliver_notification,
        notifications.deliver_outbox,
        notifications.requeue_notification,
        agreements.grant_exclusive,
        agreements.end_exclusive,
        agreements.check_partner_listing,
        agreements.find_partner_exclusives,
        agreements.compute_agreement_metrics,
        agreements.record_scorecard,
        agreements.record_agreement_event,
        reviews.open_review,
        reviews.assess_resellers,
        reviews.send_scorecards,
        reviews.record_scorecards,
        reviews.write_program_report,
        fan_out.wake_partners,
        program_changes.record_program_notices,
        program_changes.apply_program_change,
        offer_launches.launch_offer,
        offer_launches.announce_launch,
        announcements.record_announcement,
        announcements.settle_announcement,
        newsletters.record_newsletter,
        newsletters.settle_newsletter,
    ]


def build_worker(
    client: Client,
    db: Database,
    *,
    task_queue: str = TASK_QUEUE,
    channel: NotificationChannel | None = None,
    executor: ThreadPoolExecutor | None = None,
    max_cached_workflows: int = MAX_CACHED_WORKFLOWS,
) -> Worker:
    """A worker for the partner program; a caller that passes an executor shuts it down.

    Messages go out through each provider's own channel, or through `channel` for every
    provider where one is given.

    With `max_cached_workflows=0` the worker keeps no workflow in memory and so
    takes no sticky tasks: every task replays the history from the start.
    """
    return Worker(
        client,
        task_queue=task_queue,
        workflows=list(WORKFLOWS),
        workflow_runner=WORKFLOW_RUNNER,
        activities=build_activities(db, client, channel, task_queue),
        activity_executor=executor or ThreadPoolExecutor(max_workers=ACTIVITY_THREADS),
        max_concurrent_activities=ACTIVITY_THREADS,
        graceful_shutdown_timeout=SHUTDOWN_GRACE,
        max_cached_workflows=max_cached_workflows,
    )
