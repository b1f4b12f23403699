"""Building blocks for scenarios: a seeded provider and its resellers in the real database."""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from clients.agreements import Agreements
from clients.partners import PartnerPrograms
from clients.requests import poll_until
from clients.reviews import Reviews
from devstack.demo_data import (
    OrderProfile,
    add_offer,
    add_provider,
    add_reseller,
    generate_orders,
)
from models.agreement import AgreementRequest, AgreementState
from models.contract import agreement_workflow_id, partner_workflow_id
from models.database import Database
from models.metrics import PartnerMetrics
from models.offers import AccessSource, Visibility
from models.partner import EnrollmentRequest, PartnerState, ReviewSignal
from models.program import ProgramSettings, Tier
from models.records import MetricsRequest
from models.review import ReviewCadence, ReviewPeriod, ReviewRequest
from models.schema import (
    Notification,
    Offer,
    OfferAccess,
    PreferredListEntry,
    TransitionLogEntry,
)
from store.metrics import partner_metrics
from store.offer_access import visible_offer_ids
from workers.wiring import WORKFLOWS

INCOMPLETE = OrderProfile(orders_per_month=14, acceptance=0.99, completion=0.6, rating=4.8)
"""Below silver on completion alone, whatever orders its seed draws: SLIPPING's completion of
0.84 can reach the 0.95 standard by chance, and its acceptance of 0.93 fall below 0.90."""


class TrackedPrograms(PartnerPrograms):
    """PartnerPrograms that remembers every partner workflow a test touched, for replay."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workflow_ids: set[str] = set()

    def handle(self, provider_id: str, reseller_team_id: str) -> Any:
        self.workflow_ids.add(partner_workflow_id(provider_id, reseller_team_id))
        return super().handle(provider_id, reseller_team_id)

    async def enroll(
        self, provider_id: str, reseller_team_id: str, request: EnrollmentRequest
    ) -> PartnerState:
        self.workflow_ids.add(partner_workflow_id(provider_id, reseller_team_id))
        return await super().enroll(provider_id, reseller_team_id, request)


class TrackedAgreements(Agreements):
    """Agreements that remembers every agreement workflow a test touched, for replay."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workflow_ids: set[str] = set()

    def handle(self, provider_id: str, agreement_id: str) -> Any:
        self.workflow_ids.add(agreement_workflow_id(provider_id, agreement_id))
        return super().handle(provider_id, agreement_id)

    async def create(
        self, provider_id: str, agreement_id: str, request: AgreementRequest
    ) -> AgreementState:
        self.workflow_ids.add(agreement_workflow_id(provider_id, agreement_id))
        return await super().create(provider_id, agreement_id, request)


class TrackedReviews(Reviews):
    """Reviews that remember which review workflows a test started, to replay them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workflow_ids: set[str] = set()

    async def start(self, request: ReviewRequest, now: datetime | None = None) -> Any:
        handle = await super().start(request, now)
        self.workflow_ids.add(handle.id)
        return handle


async def replay_histories(
    client: Client, workflow_ids: set[str], record_to: Path | None = None, label: str = ""
) -> int:
    """Replay each workflow's history under the current code; optionally save it for later."""
    histories = [
        await client.get_workflow_handle(workflow_id).fetch_history()
        for workflow_id in sorted(workflow_ids)
    ]
    return await replay(histories, record_to, label)


async def replay(
    histories: list[WorkflowHistory], record_to: Path | None = None, label: str = ""
) -> int:
    """Replay these histories under the current code; optionally save them for later (with
    PARTNERFLOW_RECORD_HISTORIES=DIR, `record_to` defaults to DIR)."""
    if record_to is None and (recording := os.environ.get("PARTNERFLOW_RECORD_HISTORIES")):
        record_to = Path(recording)
    replayer = Replayer(workflows=list(WORKFLOWS), data_converter=pydantic_data_converter)
    for history in histories:
        await replayer.replay_workflow(history)
        if record_to is not None:
            name = re.sub(r"[^A-Za-z0-9]+", "-", f"{label}-{history.workflow_id.split('/')[-1]}")
            saved = {"workflowId": history.workflow_id, **json.loads(history.to_json())}
            (record_to / f"{name.strip('-')}.json").write_text(json.dumps(saved, indent=2))
    return len(histories)


def first_of_next_month(after: datetime) -> datetime:
    """02:00 UTC on the first of the month after `after`: when the review Schedules fire."""
    month = after.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return ReviewPeriod.starting(ReviewCadence.MONTHLY, month).end.replace(hour=2)


async def skip_to_a_months_first(env: WorkflowEnvironment) -> datetime:
    """Skip the test server's clock to 02:00 UTC on the 1st of the next month, when the review
    Schedules fire, and return it: a review of the month just ended then covers the days just
    before now, whatever the date the suite runs on."""
    now = await env.get_current_time()
    await env.sleep(first_of_next_month(now) - now)
    return await env.get_current_time()


async def wait_for_state(
    programs: PartnerPrograms,
    provider_id: str,
    team_id: str,
    condition: Callable[[PartnerState], bool],
    *,
    timeout: float = 10.0,
) -> PartnerState:
    """Query the partner until `condition` holds: signals are applied after they return."""
    return await programs.wait_for(provider_id, team_id, condition, timeout=timeout)


def listed_partner(provider_id: str, team_id: str, status: str = "preferred") -> PreferredListEntry:
    """A row of the provider's preferred list as a partner workflow writes it: enough to make
    the reseller the provider's own (services.resellers) without running a workflow."""
    return PreferredListEntry(
        provider_id=provider_id,
        reseller_team_id=team_id,
        workflow_id=partner_workflow_id(provider_id, team_id),
        partnership_id="p1",
        status=status,
        tier=Tier.SILVER.value,
    )


FALTERING = OrderProfile(orders_per_month=14, acceptance=0.93, completion=0.6, rating=4.0)
"""A partner below silver in any month of its orders: SLIPPING's 84% completion and 4.4 rating
come out above the line in about one month in thirty, with so few orders a month."""


def seat_partners(db: Database, provider_id: str, partners: dict[str, tuple[str, str]]) -> None:
    """Resellers named `Reseller {team}`, each on the provider's list at its (tier, status)."""
    with db.transaction() as session:
        for team in partners:
            add_reseller(session, team, f"Reseller {team}")
        session.flush()
        for team, (tier, status) in partners.items():
            entry = listed_partner(provider_id, team, status)
            entry.tier = tier
            session.add(entry)


@dataclass
class Program:
    """One provider with a public, a preferred and a gold-only offer."""

    db: Database
    env: WorkflowEnvironment | None
    settings: ProgramSettings
    provider_id: str = field(default_factory=lambda: f"prov{uuid.uuid4().hex[:6]}")

    @property
    def public_offer(self) -> str:
        return f"{self.provider_id}-internet"

    @property
    def preferred_offer(self) -> str:
        return f"{self.provider_id}-fiber"

    @property
    def gold_offer(self) -> str:
        return f"{self.provider_id}-business"

    def create(self) -> Program:
        with self.db.transaction() as session:
            add_provider(session, self.provider_id, f"Provider {self.provider_id}", self.settings)
            session.flush()
            add_offer(session, self.provider_id, self.public_offer)
            add_offer(
                session, self.provider_id, self.preferred_offer, visibility=Visibility.PREFERRED
            )
            add_offer(
                session,
                self.provider_id,
                self.gold_offer,
                visibility=Visibility.PREFERRED,
                min_tier=Tier.GOLD,
            )
        return self

    async def sleep(self, duration: timedelta) -> None:
        """Skip the test server's clock ahead."""
        assert self.env is not None, "only the time-skipping server's clock can skip"
        await self.env.sleep(duration)

    async def now(self) -> datetime:
        """The test server's clock, or the real one where the test runs on the dev server."""
        return await self.env.get_current_time() if self.env else datetime.now(UTC)

    async def add_reseller(
        self,
        team_id: str,
        profile: OrderProfile,
        *,
        days: int = 90,
        joined_months_ago: int = 24,
        end: datetime | None = None,
    ) -> str:
        """A reseller with orders over the `days` before `end` (default: now)."""
        now = await self.now()
        with self.db.transaction() as session:
            add_reseller(session, team_id, joined_at=now - timedelta(days=30 * joined_months_ago))
            session.flush()
            session.add_all(
                generate_orders(
                    self.provider_id, team_id, self.public_offer, profile, end=end or now, days=days
                )
            )
        return team_id

    async def month_end(self) -> datetime:
        """Midnight UTC at the end of the test server's current month: the end of the window
        of the monthly review that follows. Within ten minutes of it, the clock first skips
        into the next month, to leave the test room before the month it reviews ends."""
        now = await self.now()
        end = first_of_next_month(now).replace(hour=0)
        if end - now < timedelta(minutes=10):
            await self.sleep(end - now + timedelta(minutes=15))
            end = first_of_next_month(await self.now()).replace(hour=0)
        return end

    async def skip_to_the_monthly_review(self, month_end: datetime) -> datetime:
        """Skip to 02:00 UTC on the 1st after `month_end`, when the monthly review runs:
        partners enrolled before then are judged on the month that has just ended."""
        await self.sleep(month_end + timedelta(hours=2) - await self.now())
        return await self.now()

    async def add_orders(
        self, team_id: str, profile: OrderProfile, *, days: int, prefix: str
    ) -> None:
        now = await self.now()
        with self.db.transaction() as session:
            session.add_all(
                generate_orders(
                    self.provider_id,
                    team_id,
                    self.public_offer,
                    profile,
                    end=now,
                    days=days,
                    id_prefix=f"{self.provider_id}-{team_id}-{prefix}",
                )
            )

    async def metrics(self, team_id: str) -> PartnerMetrics:
        return partner_metrics(
            self.db,
            MetricsRequest(
                provider_id=self.provider_id,
                reseller_team_id=team_id,
                as_of=await self.now(),
                window_days=self.settings.metrics_window_days,
            ),
        )

    async def review_signal(self, team_id: str, review_id: str | None = None) -> ReviewSignal:
        return ReviewSignal(
            review_id=review_id or f"review-{uuid.uuid4().hex[:6]}",
            reviewed_at=await self.now(),
            metrics=await self.metrics(team_id),
            program=self.settings,
        )

    async def review(
        self, programs: PartnerPrograms, team_id: str, review_id: str | None = None
    ) -> PartnerState:
        """Send a review of the partner's current metrics and wait until the workflow applied it."""
        signal = await self.review_signal(team_id, review_id)
        await programs.review(self.provider_id, team_id, signal)
        return await wait_for_state(
            programs,
            self.provider_id,
            team_id,
            lambda state: state.last_review_id == signal.review_id,
        )

    def visible_offers(self, team_id: str) -> list[str]:
        with self.db.transaction() as session:
            return visible_offer_ids(session, self.provider_id, team_id)

    async def sent(
        self, team_id: str, kind: str, count: int = 1, timeout: float = 10
    ) -> list[Notification]:
        """The `kind` messages to the partner once there are `count`: a welcome leaves after
        the enrollment has answered."""
        return await poll_until(
            lambda: self._notifications_now(team_id, kind),
            lambda rows: len(rows) >= count and all(r.status == "sent" for r in rows),
            timeout=timeout,
            describe=lambda rows: f"{len(rows)} {kind} message(s) to {team_id}",
        )

    async def _notifications_now(self, team_id: str, kind: str) -> list[Notification]:
        return self.notifications(team_id, kind)

    def offer_visibility(self, offer_id: str) -> tuple[str, list[str]]:
        """The offer's visibility and the resellers it is `selected` for."""
        with self.db.transaction() as session:
            offer = session.get_one(Offer, offer_id)
            allowed = session.scalars(
                select(OfferAccess.reseller_team_id)
                .where(
                    OfferAccess.offer_id == offer_id,
                    OfferAccess.source == AccessSource.SELECTED.value,
                )
                .order_by(OfferAccess.reseller_team_id)
            )
            return offer.visibility, list(allowed)

    def allow(self, offer_id: str, team_ids: list[str]) -> None:
        with self.db.transaction() as session:
            session.add_all(
                OfferAccess(
                    offer_id=offer_id, reseller_team_id=team, source=AccessSource.SELECTED.value
                )
                for team in team_ids
            )

    def notifications(self, team_id: str, kind: str | None = None) -> list[Notification]:
        with self.db.transaction() as session:
            query = select(Notification).where(
                Notification.provider_id == self.provider_id,
                Notification.reseller_team_id == team_id,
            )
            if kind:
                query = query.where(Notification.kind == kind)
            return list(session.scalars(query.order_by(Notification.id)))

    def listing(self, team_id: str) -> PreferredListEntry | None:
        with self.db.transaction() as session:
            return session.get(PreferredListEntry, (self.provider_id, team_id))

    def logged_transitions(self, team_id: str) -> list[TransitionLogEntry]:
        with self.db.transaction() as session:
            return list(
                session.scalars(
                    select(TransitionLogEntry)
                    .where(
                        TransitionLogEntry.provider_id == self.provider_id,
                        TransitionLogEntry.reseller_team_id == team_id,
                    )
                    .order_by(TransitionLogEntry.sequence)
                )
            )

    def count_rows(self, model: type) -> int:
        with self.db.transaction() as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)
