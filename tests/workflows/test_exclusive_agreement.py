"""Exclusive agreements on the time-skipping server, with the real worker and database.

Orders are written into each review period just before its timer fires, so every
scorecard is computed by the real SQL from the partner's orders in that period.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select
from temporalio.api.enums.v1 import EventType

from clients.agreements import AgreementNotFound, AgreementRequestRejected
from clients.partners import PartnerPrograms
from devstack.demo_data import GOOD, WEAK, OrderProfile, add_offer, add_reseller, generate_orders
from models.agreement import (
    AgreementAmendment,
    AgreementKind,
    AgreementRequest,
    AgreementState,
    AgreementStatus,
    AgreementTerms,
    EarlyRenewal,
    RenewalCriteria,
    ReviewPeriod,
    ScorecardKind,
    TerminationRequest,
)
from models.offers import Visibility
from models.partner import (
    BlockRequest,
    EnrollmentRequest,
    PartnerStatus,
    RemovalRequest,
    UnblockRequest,
)
from models.program import ProgramSettings
from models.schema import Agreement, AgreementScorecard, ExclusiveClaim, Notification, Offer
from models.search_attributes import AGREEMENT_STATUS, PROVIDER_ID, RESELLER_TEAM_ID
from tests.helpers import Program, TrackedAgreements

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
REGION = ["10001", "10002", "10003"]
WORKER_WAIT = 60
"""Seconds the worker may take to do what a step waits for: generous, since a loaded machine
may be slow; each wait ends as soon as its condition holds."""
FLAWLESS = OrderProfile(
    orders_per_month=40, acceptance=1.0, completion=1.0, rating=4.9, cancellation=0
)


@dataclass
class Exclusive:
    """One agreement under test: its program, partner, offer and client."""

    program: Program
    programs: PartnerPrograms
    agreements: TrackedAgreements
    team: str
    offer_id: str
    agreement_id: str = ""

    @property
    def provider_id(self) -> str:
        return self.program.provider_id

    def terms(self, **fields) -> AgreementTerms:
        values = {
            "reseller_team_id": self.team,
            "kind": AgreementKind.REGIONAL,
            "offer_id": self.offer_id,
            "zip_codes": REGION,
            "min_monthly_orders": 10,
            "term_months": 12,
            "review_period": ReviewPeriod.QUARTERLY,
            "renewal": RenewalCriteria(auto_renew=False),
            "cure_period_days": 30,
        }
        return AgreementTerms(**{**values, **fields})

    async def create(self, agreement_id: str | None = None, **fields) -> AgreementState:
        self.agreement_id = agreement_id or f"excl-{uuid.uuid4().hex[:6]}"
        return await self.agreements.create(
            self.provider_id, self.agreement_id, AgreementRequest(terms=self.terms(**fields))
        )

    async def state(self) -> AgreementState:
        return await self.agreements.state(self.provider_id, self.agreement_id)

    async def fill_until(self, until: timedelta, profile: OrderProfile, label: str) -> None:
        """Sleep `until` from now, writing `profile`'s orders in the region over that span."""
        await self.program.sleep(until)
        now = await self.program.now()
        with self.program.db.transaction() as session:
            session.add_all(
                generate_orders(
                    self.provider_id,
                    self.team,
                    self.offer_id,
                    profile,
                    end=now,
                    days=max(int(until / DAY), 1),
                    id_prefix=f"{self.provider_id}-{self.agreement_id}-{label}",
                    zip_codes=REGION,
                )
            )

    async def period(self, profile: OrderProfile, label: str) -> AgreementState:
        """Fill the current review period with orders and let its review run."""
        state = await self.state()
        cards = len(state.scorecards)
        until = state.next_review_at - await self.program.now() - HOUR
        await self.fill_until(until, profile, label)
        await self.program.sleep(2 * HOUR)
        return await self.agreements.wait_for(
            self.provider_id,
            self.agreement_id,
            lambda s: len(s.scorecards) > cards or s.status.is_closed,
            timeout=WORKER_WAIT,
        )

    async def cure(self, profile: OrderProfile) -> AgreementState:
        """Fill the cure period with orders and let its check run."""
        state = await self.state()
        assert state.cure_deadline is not None
        cards = len(state.scorecards)
        until = state.cure_deadline - await self.program.now() - HOUR
        await self.fill_until(until, profile, "cure")
        await self.program.sleep(2 * HOUR)
        return await self.agreements.wait_for(
            self.provider_id,
            self.agreement_id,
            lambda s: len(s.scorecards) > cards,
            timeout=WORKER_WAIT,
        )

    def offer(self) -> tuple[str, list[str]]:
        return self.program.offer_visibility(self.offer_id)

    def notification_kinds(self) -> list[str]:
        """The partner's messages about the exclusive."""
        return [
            n.kind
            for n in self.program.notifications(self.team)
            if n.kind.startswith("exclusive") and n.recipient == "partner"
        ]

    def provider_notices(self) -> list[Notification]:
        return [n for n in self.program.notifications(self.team) if n.recipient == "provider"]


@pytest.fixture
async def exclusive(env, db, programs, agreements) -> Exclusive:
    """A preferred partner, and a regional offer of the provider that is `preferred` today."""
    program = Program(db, env, ProgramSettings()).create()
    team = await program.add_reseller("team-north", GOOD)
    await programs.enroll(program.provider_id, team, EnrollmentRequest())
    offer_id = f"{program.provider_id}-fiber-north"
    with db.transaction() as session:
        add_offer(session, program.provider_id, offer_id, visibility=Visibility.PREFERRED)
    return Exclusive(program, programs, agreements, team, offer_id)


async def test_a_full_term_of_four_quarterly_reviews_then_expiry(env, exclusive):
    started = time.monotonic()
    other = await exclusive.program.add_reseller("team-south", GOOD)
    await exclusive.programs.enroll(exclusive.provider_id, other, EnrollmentRequest())
    assert exclusive.offer_id in exclusive.program.visible_offers(other)

    state = await exclusive.create()
    assert state.status is AgreementStatus.ACTIVE
    assert state.previous_offer is not None
    assert state.previous_offer.visibility is Visibility.PREFERRED
    assert exclusive.offer() == ("selected", [exclusive.team])
    assert exclusive.offer_id in exclusive.program.visible_offers(exclusive.team)
    assert exclusive.offer_id not in exclusive.program.visible_offers(other)

    for quarter in range(1, 5):
        state = await exclusive.period(GOOD, f"q{quarter}")
        assert state.scorecards[-1].met, state.scorecards[-1].lines

    handle = exclusive.agreements.handle(exclusive.provider_id, exclusive.agreement_id)
    final = await handle.result()
    assert final is not None and final.status is AgreementStatus.EXPIRED
    assert "does not renew automatically" in (final.end_reason or "")
    periods = [c for c in final.scorecards if c.kind is ScorecardKind.PERIOD]
    assert [c.period_number for c in periods] == [1, 2, 3, 4]
    assert all(c.metrics.total_orders > 0 for c in periods)
    assert final.scorecards[-1].kind is ScorecardKind.TERM
    assert final.term_end - final.term_start >= timedelta(days=365)
    assert exclusive.notification_kinds() == [
        "exclusive_granted",
        *["exclusive_review"] * 4,
        "exclusive_expired",
    ]
    [told] = exclusive.provider_notices()
    assert told.kind == "exclusive_ended_notice"
    assert told.subject == f"Exclusive {exclusive.agreement_id} of team-north has expired"
    assert "does not renew automatically" in told.body
    assert exclusive.offer() == ("preferred", [])
    assert exclusive.offer_id in exclusive.program.visible_offers(other), "restored for others"
    with exclusive.program.db.transaction() as session:
        stored = session.scalars(
            select(AgreementScorecard).where(
                AgreementScorecard.agreement_id == exclusive.agreement_id
            )
        ).all()
        row = session.get(Agreement, (exclusive.provider_id, exclusive.agreement_id))
        assert row is not None and row.status == "expired" and row.ended_at is not None
    assert len(stored) == 5
    assert time.monotonic() - started < 60, "a year on the time-skipping server takes seconds"

    attributes = (await handle.describe()).typed_search_attributes
    assert attributes.get(AGREEMENT_STATUS) == "expired"
    assert attributes.get(PROVIDER_ID) == exclusive.provider_id
    assert attributes.get(RESELLER_TEAM_ID) == exclusive.team


async def test_renewal_carries_the_agreement_into_a_second_term(exclusive):
    first = await exclusive.create(renewal=RenewalCriteria(auto_renew=True))
    for quarter in range(1, 5):
        state = await exclusive.period(GOOD, f"q{quarter}")

    state = await exclusive.agreements.wait_for(
        exclusive.provider_id,
        exclusive.agreement_id,
        lambda s: s.term_number == 2,
        timeout=WORKER_WAIT,
    )
    assert state.status is AgreementStatus.ACTIVE
    assert state.term_start == first.term_end
    assert state.terms == first.terms
    assert state.agreement_uid == first.agreement_uid
    assert [e.kind.value for e in state.events][-1] == "renewed"
    description = await exclusive.agreements.handle(
        exclusive.provider_id, exclusive.agreement_id
    ).describe()
    assert description.run_id != first.agreement_uid, "the new term is a new run (continue-as-new)"
    assert exclusive.offer() == ("selected", [exclusive.team])
    assert exclusive.notification_kinds()[-1] == "exclusive_renewed"

    state = await exclusive.period(GOOD, "t2q1")
    assert (state.term_number, state.scorecards[-1].period_number) == (2, 1)


async def test_a_breach_cured_within_the_cure_period_keeps_the_exclusive(exclusive):
    await exclusive.create()
    state = await exclusive.period(WEAK, "q1")
    assert state.status is AgreementStatus.IN_BREACH
    assert state.cure_deadline is not None and state.breach_at is not None
    assert state.cure_deadline - state.breach_at == 30 * DAY
    missed = {line.name for line in state.scorecards[-1].lines if not line.met}
    assert {"orders_per_month", "completion_rate"} <= missed
    breach = exclusive.program.notifications(exclusive.team, "exclusive_breach")
    assert len(breach) == 1 and state.cure_deadline.strftime("%Y-%m-%d") in breach[0].body

    state = await exclusive.cure(FLAWLESS)
    assert state.status is AgreementStatus.ACTIVE, state.scorecards[-1].lines
    assert state.scorecards[-1].kind is ScorecardKind.CURE
    assert state.cure_deadline is None
    assert exclusive.notification_kinds()[-1] == "exclusive_cured"
    assert exclusive.offer() == ("selected", [exclusive.team])

    state = await exclusive.period(GOOD, "q2")
    assert state.status is AgreementStatus.ACTIVE
    assert state.breaches_in_term == 1


async def test_a_second_breach_in_the_term_ends_the_exclusive(exclusive):
    await exclusive.create()
    await exclusive.period(WEAK, "q1")
    state = await exclusive.cure(GOOD)
    assert state.status is AgreementStatus.ACTIVE

    # The cure's orders are in the second period too, but not enough to carry it.
    state = await exclusive.period(WEAK, "q2")
    assert state.status is AgreementStatus.TERMINATED
    assert "second breach in term 1" in (state.end_reason or "")
    assert exclusive.offer() == ("preferred", [])
    assert exclusive.notification_kinds()[-1] == "exclusive_terminated"
    [told] = exclusive.provider_notices()
    assert told.kind == "exclusive_ended_notice" and "has ended" in told.subject
    assert "second breach in term 1" in told.body


async def test_a_breach_not_cured_in_time_ends_the_exclusive(exclusive):
    await exclusive.create()
    await exclusive.period(WEAK, "q1")
    state = await exclusive.cure(WEAK)
    assert state.status is AgreementStatus.TERMINATED
    assert "still in breach when the cure period ended" in (state.end_reason or "")
    assert exclusive.offer() == ("preferred", [])


async def test_termination_restores_the_previous_selected_audience(exclusive):
    program = exclusive.program
    with program.db.transaction() as session:
        for team in ("team-x", "team-y"):
            add_reseller(session, team)
        session.flush()
        offer = session.get_one(Offer, exclusive.offer_id)
        offer.visibility = Visibility.SELECTED.value
    program.allow(exclusive.offer_id, ["team-x", "team-y"])
    assert exclusive.offer() == ("selected", ["team-x", "team-y"])

    await exclusive.create()
    assert exclusive.offer() == ("selected", [exclusive.team])
    assert exclusive.offer_id not in program.visible_offers("team-x")

    state = await exclusive.agreements.apply(
        exclusive.provider_id,
        exclusive.agreement_id,
        TerminationRequest(reason="the region is being re-tendered", requested_by="ops@acme"),
    )
    assert state.status is AgreementStatus.TERMINATED
    assert state.end_reason == "terminated early by ops@acme: the region is being re-tendered"
    assert exclusive.offer() == ("selected", ["team-x", "team-y"])
    assert exclusive.offer_id in program.visible_offers("team-x")
    assert exclusive.offer_id not in program.visible_offers(exclusive.team)
    [notice] = program.notifications(exclusive.team, "exclusive_terminated")
    assert "re-tendered" in notice.body
    assert exclusive.provider_notices() == [], "the provider ended it: nothing to tell it"

    with pytest.raises(AgreementRequestRejected, match="has terminated"):
        await exclusive.agreements.apply(
            exclusive.provider_id, exclusive.agreement_id, TerminationRequest(reason="again")
        )


async def test_overlapping_exclusives_are_refused_and_change_nothing(exclusive):
    program = exclusive.program
    first = await exclusive.create("north-1")
    rival = await program.add_reseller("team-rival", GOOD)
    await exclusive.programs.enroll(program.provider_id, rival, EnrollmentRequest())
    other_offer = f"{program.provider_id}-tv-north"
    with program.db.transaction() as session:
        add_offer(session, program.provider_id, other_offer)

    def rival_terms(**fields) -> AgreementRequest:
        return AgreementRequest(terms=exclusive.terms(reseller_team_id=rival, **fields))

    with pytest.raises(AgreementRequestRejected, match="already exclusive to team-north"):
        await exclusive.agreements.create(program.provider_id, "north-2", rival_terms())
    with pytest.raises(AgreementRequestRejected, match="ZIP codes 10003 are already exclusive"):
        await exclusive.agreements.create(
            program.provider_id,
            "north-3",
            rival_terms(offer_id=other_offer, zip_codes=["10003", "10009"]),
        )
    with pytest.raises(AgreementNotFound):
        await exclusive.agreements.state(program.provider_id, "north-2")
    assert exclusive.program.offer_visibility(other_offer) == ("public", [])
    with program.db.transaction() as session:
        claims = session.scalars(select(ExclusiveClaim.agreement_id)).all()
    assert set(claims) == {first.agreement_id}

    state = await exclusive.agreements.create(
        program.provider_id, "north-4", rival_terms(offer_id=other_offer, zip_codes=["10009"])
    )
    assert state.status is AgreementStatus.ACTIVE


async def test_a_partner_not_on_the_preferred_list_is_refused(exclusive, caplog):
    """A refusal is an answer: the worker's log shows no warning or traceback for it."""
    caplog.set_level(logging.WARNING)
    outsider = await exclusive.program.add_reseller("team-outside", GOOD)
    with pytest.raises(AgreementRequestRejected, match="not on the preferred list"):
        await exclusive.create(reseller_team_id=outsider)
    assert exclusive.offer() == ("preferred", [])
    assert [r.getMessage() for r in caplog.records if r.name.startswith("temporalio")] == []


async def test_the_same_request_twice_makes_one_agreement(exclusive):
    first = await exclusive.create("north-1")
    again = await exclusive.agreements.create(
        exclusive.provider_id, "north-1", AgreementRequest(terms=exclusive.terms())
    )
    assert again.agreement_uid == first.agreement_uid
    assert exclusive.notification_kinds() == ["exclusive_granted"]
    with pytest.raises(AgreementRequestRejected, match="already exists"):
        await exclusive.agreements.create(
            exclusive.provider_id,
            "north-1",
            AgreementRequest(
                terms=exclusive.terms(kind=AgreementKind.SERVICE, offer_id="x", zip_codes=[])
            ),
        )


async def test_an_amendment_applies_from_the_next_review_period(exclusive):
    await exclusive.create()
    state = await exclusive.agreements.apply(
        exclusive.provider_id,
        exclusive.agreement_id,
        AgreementAmendment(min_monthly_orders=30, reason="demand doubled"),
    )
    assert state.terms.min_monthly_orders == 10
    assert state.pending_terms is not None and state.pending_terms.min_monthly_orders == 30

    state = await exclusive.period(GOOD, "q1")
    orders_line = next(
        line for line in state.scorecards[-1].lines if line.name == "orders_per_month"
    )
    assert orders_line.required == 10 and state.scorecards[-1].met
    assert state.terms.min_monthly_orders == 30 and state.pending_terms is None

    state = await exclusive.period(GOOD, "q2")
    orders_line = next(
        line for line in state.scorecards[-1].lines if line.name == "orders_per_month"
    )
    assert orders_line.required == 30 and not orders_line.met
    assert state.status is AgreementStatus.IN_BREACH

    with pytest.raises(AgreementRequestRejected, match="cure period"):
        await exclusive.agreements.apply(
            exclusive.provider_id, exclusive.agreement_id, AgreementAmendment(cure_period_days=89)
        )


async def test_early_renewal_renews_at_term_end_whatever_the_criteria(exclusive):
    await exclusive.create()
    state = await exclusive.agreements.apply(
        exclusive.provider_id,
        exclusive.agreement_id,
        EarlyRenewal(requested_by="ops@acme", reason="strategic region"),
    )
    assert state.renewal_confirmed_by == "ops@acme"
    [notice] = exclusive.program.notifications(exclusive.team, "exclusive_renewed")
    assert "term 2" in notice.body
    with pytest.raises(AgreementRequestRejected, match="already renewed"):
        await exclusive.agreements.apply(
            exclusive.provider_id, exclusive.agreement_id, EarlyRenewal()
        )

    for quarter in range(1, 5):
        await exclusive.period(GOOD, f"q{quarter}")
    state = await exclusive.agreements.wait_for(
        exclusive.provider_id,
        exclusive.agreement_id,
        lambda s: s.term_number == 2,
        timeout=WORKER_WAIT,
    )
    assert state.status is AgreementStatus.ACTIVE
    assert state.renewal_confirmed_by is None
    assert len(exclusive.program.notifications(exclusive.team, "exclusive_renewed")) == 1


async def test_removing_the_partner_ends_its_exclusives(exclusive):
    await exclusive.create()
    await exclusive.programs.apply(
        exclusive.provider_id, exclusive.team, RemovalRequest(reason="fraudulent orders")
    )
    state = await exclusive.agreements.wait_for(
        exclusive.provider_id,
        exclusive.agreement_id,
        lambda s: s.status.is_closed,
        timeout=WORKER_WAIT,
    )
    assert state.status is AgreementStatus.TERMINATED
    assert "left the preferred list: fraudulent orders" in (state.end_reason or "")
    assert state.events[-1].actor == "partner_lifecycle"
    assert exclusive.offer() == ("preferred", [])
    partner = await exclusive.programs.state(exclusive.provider_id, exclusive.team)
    assert partner.status is PartnerStatus.REMOVED


async def _ended_by_block(exclusive: Exclusive, reason: str) -> AgreementState:
    """Wait for the agreement to end, and check it ended as a block ends it: terminated by the
    partner's lifecycle, the offer `preferred` again but not for the blocked partner, the
    partner and the provider told, and the database's row closed with the reason."""
    state = await exclusive.agreements.wait_for(
        exclusive.provider_id,
        exclusive.agreement_id,
        lambda s: s.status.is_closed,
        timeout=WORKER_WAIT,
    )
    assert state.status is AgreementStatus.TERMINATED
    assert state.end_reason == f"partner blocked: {reason}"
    assert state.events[-1].kind == "terminated"
    assert state.events[-1].actor == "partner_lifecycle"
    assert state.events[-1].summary == f"partner blocked: {reason}"
    assert exclusive.offer() == ("preferred", [])
    assert exclusive.offer_id not in exclusive.program.visible_offers(exclusive.team)
    program = exclusive.program
    [told_partner] = await program.sent(exclusive.team, "exclusive_terminated")
    assert told_partner.recipient == "partner"
    assert reason in told_partner.body
    [told_provider] = await program.sent(exclusive.team, "exclusive_ended_notice")
    assert told_provider.recipient == "provider"
    assert f"partner blocked: {reason}" in told_provider.body
    with program.db.transaction() as session:
        row = session.get(Agreement, (exclusive.provider_id, exclusive.agreement_id))
        assert row is not None and row.status == "terminated" and row.ended_at is not None
        assert row.end_reason == f"partner blocked: {reason}"
        claims = session.scalars(
            select(ExclusiveClaim).where(ExclusiveClaim.agreement_id == exclusive.agreement_id)
        ).all()
        assert claims == [], "the offer can be granted again"
    return state


async def test_blocking_the_partner_from_all_offers_ends_its_exclusive(exclusive):
    program = exclusive.program
    rival = await program.add_reseller("team-rival", GOOD)
    await exclusive.programs.enroll(program.provider_id, rival, EnrollmentRequest())
    await exclusive.create(kind=AgreementKind.SERVICE, zip_codes=[])
    assert exclusive.offer() == ("selected", [exclusive.team])
    assert exclusive.offer_id not in program.visible_offers(rival)

    partner = await exclusive.programs.apply(
        exclusive.provider_id, exclusive.team, BlockRequest(reason="fraudulent orders")
    )
    assert partner.status is PartnerStatus.BLOCKED

    await _ended_by_block(exclusive, "fraudulent orders")
    assert exclusive.offer_id in program.visible_offers(rival), "others see the offer again"
    assert program.visible_offers(exclusive.team) == []
    assert exclusive.notification_kinds() == ["exclusive_granted", "exclusive_terminated"]
    await program.sent(exclusive.team, "blocked")


@pytest.mark.parametrize("kind", [AgreementKind.SERVICE, AgreementKind.REGIONAL])
async def test_blocking_the_partner_from_the_exclusives_offer_ends_it(exclusive, kind):
    """A regional exclusive is served through an offer of its own: a block of that offer ends
    it as it ends a service exclusive."""
    program = exclusive.program
    zips = REGION if kind is AgreementKind.REGIONAL else []
    await exclusive.create(kind=kind, zip_codes=zips)

    partner = await exclusive.programs.apply(
        exclusive.provider_id,
        exclusive.team,
        BlockRequest(reason="resold outside the region", offer_ids=[exclusive.offer_id]),
    )
    assert partner.status is PartnerStatus.PREFERRED
    assert partner.blocked_offer_ids == [exclusive.offer_id]

    await _ended_by_block(exclusive, "resold outside the region")
    assert program.preferred_offer in program.visible_offers(exclusive.team), "only that offer"


async def test_a_block_of_other_offers_leaves_the_exclusive_alone(exclusive):
    program = exclusive.program
    kept = await exclusive.create("kept")
    other_offer = f"{program.provider_id}-tv-north"
    with program.db.transaction() as session:
        add_offer(session, program.provider_id, other_offer, visibility=Visibility.PREFERRED)
    ending = Exclusive(
        program, exclusive.programs, exclusive.agreements, exclusive.team, other_offer
    )
    await ending.create("ending", kind=AgreementKind.SERVICE, zip_codes=[])

    await exclusive.programs.apply(
        exclusive.provider_id,
        exclusive.team,
        BlockRequest(reason="complaints about TV installs", offer_ids=[other_offer]),
    )
    await _ended_by_block(ending, "complaints about TV installs")

    # The block answered only once its signals were delivered: none went to `kept`.
    handle = exclusive.agreements.handle(exclusive.provider_id, "kept")
    signals = [
        event
        async for event in handle.fetch_history_events()
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ]
    assert signals == []
    state = await exclusive.state()
    assert state.status is AgreementStatus.ACTIVE and state.events == kept.events
    assert exclusive.offer() == ("selected", [exclusive.team])
    assert exclusive.offer_id in program.visible_offers(exclusive.team)
    with program.db.transaction() as session:
        row = session.get(Agreement, (exclusive.provider_id, "kept"))
        assert row is not None and row.status == "active" and row.ended_at is None


async def test_unblocking_does_not_bring_an_ended_exclusive_back(exclusive):
    program = exclusive.program
    await exclusive.create()
    await exclusive.programs.apply(
        exclusive.provider_id, exclusive.team, BlockRequest(reason="chargebacks")
    )
    ended = await _ended_by_block(exclusive, "chargebacks")

    partner = await exclusive.programs.apply(
        exclusive.provider_id, exclusive.team, UnblockRequest(reason="chargebacks explained")
    )
    assert partner.status is PartnerStatus.PREFERRED
    await program.sent(exclusive.team, "unblocked")

    handle = exclusive.agreements.handle(exclusive.provider_id, exclusive.agreement_id)
    final = await handle.result()
    assert final is not None and final.status is AgreementStatus.TERMINATED
    assert final.events == ended.events, "nothing happened to it after the block"
    assert exclusive.offer() == ("preferred", [])
    assert exclusive.offer_id in program.visible_offers(exclusive.team), "as a preferred offer"
    with pytest.raises(AgreementRequestRejected, match="has terminated: partner blocked"):
        await exclusive.agreements.apply(
            exclusive.provider_id, exclusive.agreement_id, EarlyRenewal()
        )
    # The provider grants a new exclusive on the same offer, under a new agreement.
    again = await exclusive.create()
    assert again.status is AgreementStatus.ACTIVE
    assert exclusive.offer() == ("selected", [exclusive.team])
