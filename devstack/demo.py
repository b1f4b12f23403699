"""The demo program that `partnerflow dev` loads: Acme Fiber, its offers, resellers and orders.

Loading is idempotent, and so is everything the demo then does: enrolling the
partners, granting the exclusives, running the monthly review of the period just
ended (its workflow ID is the period's) and reporting one issue on one partner
(its request ID is fixed). A second run of the local stack resumes the same
program instead of doing any of it twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio.client import WorkflowFailureError

from clients.agreements import AgreementRequestRejected, Agreements
from clients.partners import PartnerNotFound, PartnerPrograms, PartnerRequestRejected
from clients.requests import rejection_message
from clients.reviews import ReviewRejected, Reviews
from devstack.demo_data import (
    GOOD,
    SLIPPING,
    STRONG,
    WEAK,
    OrderProfile,
    add_offer,
    add_provider,
    add_reseller,
    generate_orders,
)
from models.agreement import (
    AgreementKind,
    AgreementRequest,
    AgreementState,
    AgreementTerms,
    PerformanceStandards,
    RenewalCriteria,
    ReviewPeriod,
)
from models.database import Database
from models.metrics import PartnerMetrics, qualifying_tier
from models.offers import Visibility
from models.partner import (
    EnrollmentRequest,
    IssueReport,
    IssueSeverity,
    NoteKind,
    PartnerState,
    PartnerStatus,
    ReviewSignal,
)
from models.program import ProgramSettings, Tier
from models.records import MetricsRequest
from models.review import ReviewCadence, ReviewOutcome, ReviewRequest
from models.schema import Offer, Provider, Reseller
from store.metrics import partner_metrics

AT_RISK_TIMEOUT = timedelta(seconds=30)
REVIEW_TIMEOUT = timedelta(seconds=120)
ENROLLMENT_CONCURRENCY = 8

DEMO_PROVIDER_ID = "acme"
DEMO_PROVIDER_NAME = "Acme Fiber"
DEMO_ORDER_DAYS = 120
DEMO_SEED = "partnerflow-demo"
PUBLIC_OFFER = "acme-fiber-300"
DEMO_REVIEW_CADENCE = ReviewCadence.MONTHLY
DEMO_ISSUE_PARTNER = "team-lakeside"
"""A silver partner in good standing: its first issue gets the friendly notice."""
DEMO_ISSUE = IssueReport(
    reason="Two installs this month missed their scheduled window; customers called us.",
    severity=IssueSeverity.MINOR,
    requested_by="partnerflow dev",
    request_id=f"demo-issue-{DEMO_ISSUE_PARTNER}",
)


@dataclass(frozen=True)
class DemoReseller:
    team_id: str
    name: str
    cohort: str
    profile: OrderProfile
    joined_months_ago: int

    @property
    def order_days(self) -> int:
        """Orders start when the reseller joined, and go back at most DEMO_ORDER_DAYS."""
        return min(DEMO_ORDER_DAYS, self.joined_months_ago * 30)


def _cohort(
    cohort: str, profile: OrderProfile, joined_months_ago: int, *names: str
) -> tuple[DemoReseller, ...]:
    return tuple(
        DemoReseller(
            team_id=f"team-{name.split()[0].lower()}",
            name=name,
            cohort=cohort,
            profile=profile,
            joined_months_ago=joined_months_ago,
        )
        for name in names
    )


DEMO_RESELLERS: tuple[DemoReseller, ...] = (
    *_cohort(
        "strong",
        STRONG,
        26,
        "Northwind Telecom",
        "Bluepeak Networks",
        "Summit Connect",
        "Harbor Broadband",
        "Ironwood Wireless",
        "Cedar Link",
    ),
    *_cohort(
        "good",
        GOOD,
        14,
        "Maple Street Media",
        "Brightline Homes",
        "Copperfield Realty",
        "Lakeside Movers",
        "Redwood Property Group",
        "Silverline Solar",
        "Oakhurst Builders",
        "Evergreen Security",
        "Granite Home Services",
        "Riverbend Apartments",
        "Sunset Relocation",
        "Pioneer Smart Homes",
    ),
    # Good numbers, but too new: tenure keeps them out of the program for now.
    *_cohort("new", GOOD, 1, "Freshstart Movers", "Newleaf Realty", "Skyline Lofts"),
    *_cohort(
        "slipping",
        SLIPPING,
        18,
        "Oldmill Communications",
        "Westgate Telecom",
        "Driftwood Realty",
        "Foxglove Networks",
        "Stonebridge Homes",
    ),
    *_cohort(
        "weak",
        WEAK,
        7,
        "Quickfix Wireless",
        "Budget Movers",
        "Corner Cable Shop",
        "Valley Handyman",
        "Dunes Property Care",
        "Marlow Electronics",
        "Tidewater Storage",
        "Kestrel IT",
        "Juniper Student Housing",
        "Orbit Phone Repair",
    ),
)


@dataclass(frozen=True)
class DemoLoad:
    provider_id: str
    created: bool
    orders: int


@dataclass(frozen=True)
class DemoOffer:
    offer_id: str
    name: str
    price: float
    visibility: Visibility = Visibility.PUBLIC
    min_tier: Tier | None = None


DEMO_OFFERS = (
    DemoOffer(PUBLIC_OFFER, "Fiber 300", 55.0),
    DemoOffer("acme-fiber-gig", "Fiber Gig (preferred partners)", 80.0, Visibility.PREFERRED),
    DemoOffer(
        "acme-business-10g",
        "Business Fiber 10G (strategic partners)",
        250.0,
        Visibility.PREFERRED,
        Tier.GOLD,
    ),
    DemoOffer(
        "acme-fiber-seattle", "Fiber 1G, Seattle metro (regional)", 70.0, Visibility.PREFERRED
    ),
    DemoOffer("acme-smart-home", "Smart Home Install (service)", 40.0, Visibility.PREFERRED),
)

DEMO_AGREEMENTS = {
    "seattle-metro-fiber": AgreementTerms(
        reseller_team_id="team-northwind",
        kind=AgreementKind.REGIONAL,
        offer_id="acme-fiber-seattle",
        zip_codes=[f"981{n:02d}" for n in range(1, 10)],
        min_monthly_orders=15,
        standards=PerformanceStandards(min_completion_rate=0.95, min_rating=4.5),
        term_months=12,
        review_period=ReviewPeriod.QUARTERLY,
    ),
    "smart-home-installs": AgreementTerms(
        reseller_team_id="team-bluepeak",
        kind=AgreementKind.SERVICE,
        offer_id="acme-smart-home",
        min_monthly_orders=20,
        term_months=24,
        review_period=ReviewPeriod.ANNUALLY,
        renewal=RenewalCriteria(auto_renew=False),
    ),
}


def _add_missing_offers(session: Session) -> None:
    known = set(session.scalars(select(Offer.id).where(Offer.provider_id == DEMO_PROVIDER_ID)))
    for offer in DEMO_OFFERS:
        if offer.offer_id not in known:
            add_offer(
                session,
                DEMO_PROVIDER_ID,
                offer.offer_id,
                name=offer.name,
                visibility=offer.visibility,
                min_tier=offer.min_tier,
                price=offer.price,
            )


def load_demo(db: Database, now: datetime) -> DemoLoad:
    """Load the demo provider, its offers, resellers and orders, unless the provider exists."""
    with db.transaction() as session:
        if session.get(Provider, DEMO_PROVIDER_ID) is not None:
            _add_missing_offers(session)  # a demo loaded by an earlier version lacks some
            return DemoLoad(DEMO_PROVIDER_ID, created=False, orders=0)
        add_provider(session, DEMO_PROVIDER_ID, DEMO_PROVIDER_NAME, ProgramSettings())
        session.flush()
        _add_missing_offers(session)
        known = set(
            session.scalars(
                select(Reseller.team_id).where(
                    Reseller.team_id.in_([r.team_id for r in DEMO_RESELLERS])
                )
            )
        )
        for reseller in DEMO_RESELLERS:
            if reseller.team_id not in known:
                add_reseller(
                    session,
                    reseller.team_id,
                    reseller.name,
                    joined_at=now - timedelta(days=30 * reseller.joined_months_ago),
                )
        session.flush()
        orders = [
            order
            for reseller in DEMO_RESELLERS
            for order in generate_orders(
                DEMO_PROVIDER_ID,
                reseller.team_id,
                PUBLIC_OFFER,
                reseller.profile,
                end=now,
                days=reseller.order_days,
                seed=DEMO_SEED,
            )
        ]
        session.add_all(orders)
    return DemoLoad(DEMO_PROVIDER_ID, created=True, orders=len(orders))


def demo_program(db: Database) -> ProgramSettings:
    with db.transaction() as session:
        provider = session.get(Provider, DEMO_PROVIDER_ID)
        if provider is None:
            raise LookupError(f"the demo provider {DEMO_PROVIDER_ID!r} is not loaded")
        return ProgramSettings.model_validate(provider.program)


@dataclass(frozen=True)
class DemoPartner:
    """A reseller the demo enrolls; legacy partners are enrolled below standard, then reviewed."""

    reseller: DemoReseller
    metrics: PartnerMetrics
    tier: Tier
    legacy: bool


def plan_enrollments(db: Database, program: ProgramSettings, now: datetime) -> list[DemoPartner]:
    """Who the demo enrolls: every reseller that qualifies, and the slipping ones as legacy."""
    plan = []
    for reseller in DEMO_RESELLERS:
        metrics = partner_metrics(
            db,
            MetricsRequest(
                provider_id=DEMO_PROVIDER_ID,
                reseller_team_id=reseller.team_id,
                as_of=now,
                window_days=program.metrics_window_days,
            ),
        )
        tier = qualifying_tier(metrics, program, include_tenure=True)
        if tier is not Tier.BRONZE:
            plan.append(DemoPartner(reseller, metrics, tier, legacy=False))
        elif reseller.profile is SLIPPING:
            plan.append(DemoPartner(reseller, metrics, Tier.SILVER, legacy=True))
    return plan


@dataclass(frozen=True)
class EnrollmentOutcome:
    partner: DemoPartner
    state: PartnerState | None
    error: str | None = None


async def enroll_partner(
    programs: PartnerPrograms, partner: DemoPartner, program: ProgramSettings, now: datetime
) -> EnrollmentOutcome:
    """Enroll one demo partner; a legacy partner then gets the review that puts it at risk."""
    team_id = partner.reseller.team_id
    request = EnrollmentRequest(
        tier=partner.tier,
        requested_by="partnerflow dev",
        request_id=f"demo-enroll-{team_id}",
        notes=(
            "Legacy partner: enrolled before the program's criteria applied."
            if partner.legacy
            else None
        ),
        # A legacy partner is below today's criteria: enrolling it is the provider's choice.
        override=partner.legacy,
    )
    try:
        state = await programs.enroll(DEMO_PROVIDER_ID, team_id, request)
    except PartnerRequestRejected as rejected:
        return EnrollmentOutcome(partner, None, str(rejected))
    review_id = f"demo-review-{team_id}"
    if (
        partner.legacy
        and state.status is PartnerStatus.PREFERRED
        and state.last_review_id != review_id
    ):
        # The figures were measured moments before the enrollment, and a review never acts on
        # data older than a partner's latest decision: the demo's review is dated just after
        # it, on the same figures (no order is placed in between).
        enrolled_at = state.transitions[-1].at if state.transitions else now
        shift = max(enrolled_at - partner.metrics.window_end, timedelta(0)) + timedelta(seconds=1)
        metrics = partner.metrics.model_copy(
            update={
                "window_start": partner.metrics.window_start + shift,
                "window_end": partner.metrics.window_end + shift,
            }
        )
        await programs.review(
            DEMO_PROVIDER_ID,
            team_id,
            ReviewSignal(
                review_id=review_id,
                reviewed_at=metrics.window_end,
                metrics=metrics,
                program=program,
            ),
        )
        try:
            state = await programs.wait_for(
                DEMO_PROVIDER_ID,
                team_id,
                lambda current: current.status is PartnerStatus.AT_RISK,
                timeout=AT_RISK_TIMEOUT.total_seconds(),
                interval=0.2,
            )
        except TimeoutError:
            state = await programs.state(DEMO_PROVIDER_ID, team_id)
    return EnrollmentOutcome(partner, state)


async def enroll_demo(
    programs: PartnerPrograms,
    plan: list[DemoPartner],
    program: ProgramSettings,
    now: datetime,
    on_done: Callable[[EnrollmentOutcome], None] = lambda _: None,
) -> list[EnrollmentOutcome]:
    """Enroll the planned partners concurrently; re-running it changes nothing."""
    gate = asyncio.Semaphore(ENROLLMENT_CONCURRENCY)

    async def one(partner: DemoPartner) -> EnrollmentOutcome:
        async with gate:
            outcome = await enroll_partner(programs, partner, program, now)
        on_done(outcome)
        return outcome

    return list(await asyncio.gather(*(one(partner) for partner in plan)))


async def create_demo_agreements(agreements: Agreements) -> dict[str, AgreementState | str]:
    """Grant the demo's exclusives (after its partners are enrolled): the state, or why not."""
    results: dict[str, AgreementState | str] = {}
    for agreement_id, terms in DEMO_AGREEMENTS.items():
        try:
            results[agreement_id] = await agreements.create(
                DEMO_PROVIDER_ID,
                agreement_id,
                AgreementRequest(terms=terms, requested_by="partnerflow dev"),
            )
        except AgreementRequestRejected as rejected:
            results[agreement_id] = str(rejected)
    return results


@dataclass(frozen=True)
class DemoReview:
    """The demo's program review: its workflow ID, and what it did or why it did not."""

    review_id: str | None
    outcome: ReviewOutcome | None
    error: str | None = None


async def run_demo_review(reviews: Reviews, now: datetime) -> DemoReview:
    """The monthly review of the period just ended, as `partnerflow reviews run` starts it.

    Its workflow ID is the period's, so a second run (or the Schedule's own run of that
    period) finds the first and waits for it instead of reviewing again.
    """
    request = ReviewRequest(provider_id=DEMO_PROVIDER_ID, cadence=DEMO_REVIEW_CADENCE)
    try:
        handle = await reviews.start(request, now)
    except ReviewRejected as rejected:
        return DemoReview(None, None, str(rejected))
    try:
        outcome = await asyncio.wait_for(handle.result(), REVIEW_TIMEOUT.total_seconds())
    except WorkflowFailureError as error:
        return DemoReview(handle.id, None, rejection_message(error))
    except TimeoutError:
        return DemoReview(
            handle.id, None, f"still running after {REVIEW_TIMEOUT.seconds} s: see the Temporal UI"
        )
    return DemoReview(handle.id, outcome)


async def report_demo_issue(programs: PartnerPrograms) -> PartnerState | str:
    """Report the demo's issue on DEMO_ISSUE_PARTNER once: the state, or why not.

    The update's ID comes from the fixed request ID, so the server drops a repeat; a
    partnership that already has an issue note (one continued as new, whose update IDs
    the server no longer knows) is left as it is.
    """
    try:
        state = await programs.state(DEMO_PROVIDER_ID, DEMO_ISSUE_PARTNER)
        if any(note.kind is NoteKind.ISSUE for note in state.notes):
            return state
        return await programs.apply(DEMO_PROVIDER_ID, DEMO_ISSUE_PARTNER, DEMO_ISSUE)
    except (PartnerNotFound, PartnerRequestRejected) as refused:
        return f"no issue reported on {DEMO_ISSUE_PARTNER}: {refused}"
