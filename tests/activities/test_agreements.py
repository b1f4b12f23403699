"""Exclusive agreements in the program database: the claim on an offer and region, the offer's
visibility while the exclusive runs and after it ends, and the agreement's own records.

Each test runs the real activities against a real database (SQLite, and PostgreSQL
where configured). The provider's partners, and what each sees before any exclusive:

    team-a  preferred  gold    the preferred offers, the gold-only one, and public
    team-b  preferred  silver  the preferred offer and public; allowed on the selected offer
    team-c  at_risk    gold    like team-a, and allowed on the selected offer
    team-r  removed    gold    public only
    team-n  (never enrolled)   public only
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from temporalio.testing import ActivityEnvironment

from activities.agreements import AgreementActivities, AgreementRefused
from devstack.demo_data import add_offer, add_provider, add_reseller
from models.agreement import (
    AgreementEvent,
    AgreementEventKind,
    AgreementStatus,
    AgreementTerms,
    OfferSnapshot,
    Scorecard,
    ScorecardKind,
    score,
)
from models.agreement_records import (
    AgreementEventRecord,
    AgreementMetricsRequest,
    ExclusiveGrant,
    ExclusiveRelease,
    GrantResult,
    ScorecardRecord,
)
from models.contract import agreement_workflow_id
from models.database import Database
from models.metrics import PartnerMetrics
from models.offers import AccessSource, OfferAccessChange, Visibility
from models.partner import ActorKind
from models.program import Tier
from models.records import PartnerRef
from models.schema import (
    Agreement,
    AgreementEventLogEntry,
    AgreementScorecard,
    ExclusiveClaim,
    Offer,
    OfferAccess,
    OfferBlock,
    Order,
    PreferredListEntry,
)
from store.offer_access import apply_access_change, visible_offer_ids

PROVIDER = "acme"
OTHER_PROVIDER = "globex"
PUBLIC = "acme-internet"
PREFERRED = "acme-fiber"
GOLD_ONLY = "acme-business"
SELECTED = "acme-exclusive"
GLOBEX_OFFER = "globex-internet"

LISTED = {
    "team-a": ("preferred", Tier.GOLD),
    "team-b": ("preferred", Tier.SILVER),
    "team-c": ("at_risk", Tier.GOLD),
    "team-r": ("removed", Tier.GOLD),
}
NEVER_ENROLLED = "team-n"
RESELLERS = [*LISTED, NEVER_ENROLLED]

STARTS_AT = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
TERM_END = datetime(2027, 1, 15, 9, 0, tzinfo=UTC)
ENDED_AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
REGION = ["10001", "10002", "10003"]


def reseller_name(team_id: str) -> str:
    return f"Reseller {team_id.removeprefix('team-').upper()}"


@pytest.fixture
def seeded(db: Database) -> Database:
    with db.transaction() as session:
        add_provider(session, PROVIDER, "Acme Internet")
        add_provider(session, OTHER_PROVIDER, "Globex")
        for team_id in RESELLERS:
            add_reseller(session, team_id, reseller_name(team_id))
        session.flush()
        add_offer(session, PROVIDER, PUBLIC)
        add_offer(session, PROVIDER, PREFERRED, visibility=Visibility.PREFERRED)
        add_offer(session, PROVIDER, GOLD_ONLY, visibility=Visibility.PREFERRED, min_tier=Tier.GOLD)
        add_offer(
            session,
            PROVIDER,
            SELECTED,
            visibility=Visibility.SELECTED,
            allowed_resellers=["team-b", "team-c"],
        )
        add_offer(session, OTHER_PROVIDER, GLOBEX_OFFER)
        for team_id, (status, tier) in LISTED.items():
            session.add(
                PreferredListEntry(
                    provider_id=PROVIDER,
                    reseller_team_id=team_id,
                    workflow_id=f"partner/{PROVIDER}/{team_id}",
                    partnership_id="p1",
                    status=status,
                    tier=tier.value,
                    enrolled_at=STARTS_AT - timedelta(days=200),
                    last_sequence=3,
                )
            )
            if status != "removed":
                apply_access_change(session, access_change(team_id))
    return db


@pytest.fixture
def activities(seeded: Database) -> AgreementActivities:
    return AgreementActivities(seeded)


def access_change(team_id: str) -> OfferAccessChange:
    """What the partner's own workflow asks for on every review: access for its tier."""
    return OfferAccessChange(
        provider_id=PROVIDER, reseller_team_id=team_id, tier=LISTED[team_id][1], reason="review"
    )


def exclusive(
    agreement_id: str,
    offer_id: str,
    team_id: str = "team-a",
    *,
    zip_codes: list[str] | None = None,
    uid: str | None = None,
    provider_id: str = PROVIDER,
) -> ExclusiveGrant:
    """A grant of `offer_id` to `team_id`: regional where ZIP codes are given, else service."""
    return ExclusiveGrant(
        provider_id=provider_id,
        agreement_id=agreement_id,
        agreement_uid=uid or f"uid-{agreement_id}",
        workflow_id=agreement_workflow_id(provider_id, agreement_id),
        terms=AgreementTerms(
            reseller_team_id=team_id,
            kind="regional" if zip_codes else "service",
            offer_id=offer_id,
            zip_codes=zip_codes or [],
            min_monthly_orders=10,
        ),
        starts_at=STARTS_AT,
        term_end=TERM_END,
    )


def release(grant: ExclusiveGrant) -> ExclusiveRelease:
    return ExclusiveRelease(
        provider_id=grant.provider_id,
        agreement_id=grant.agreement_id,
        agreement_uid=grant.agreement_uid,
        status=AgreementStatus.TERMINATED,
        reason="ended by the provider",
        at=ENDED_AT,
    )


def run_grant(activities: AgreementActivities, grant: ExclusiveGrant) -> GrantResult:
    return ActivityEnvironment().run(activities.grant_exclusive, grant)


def run_end(activities: AgreementActivities, grant: ExclusiveGrant) -> str | None:
    return ActivityEnvironment().run(activities.end_exclusive, release(grant)).restored_visibility


def viewers(db: Database, offer_id: str) -> set[str]:
    """The resellers that see the offer right now."""
    with db.transaction() as session:
        return {
            team_id
            for team_id in RESELLERS
            if offer_id in visible_offer_ids(session, PROVIDER, team_id)
        }


def access(session: Session, offer_id: str, source: AccessSource) -> list[str]:
    """The resellers with access rows of `source` to the offer."""
    return sorted(
        session.scalars(
            select(OfferAccess.reseller_team_id).where(
                OfferAccess.offer_id == offer_id, OfferAccess.source == source.value
            )
        )
    )


def offer_settings(db: Database, offer_id: str) -> tuple[str, str | None, list[str]]:
    """The offer's visibility, minimum tier and allowed resellers."""
    with db.transaction() as session:
        offer = session.get_one(Offer, offer_id)
        return offer.visibility, offer.min_tier, access(session, offer_id, AccessSource.SELECTED)


def preferred_access(db: Database, offer_id: str) -> set[str]:
    with db.transaction() as session:
        return set(access(session, offer_id, AccessSource.PREFERRED))


def rows(session: Session, *columns: Any) -> list[tuple[Any, ...]]:
    return sorted(tuple(row) for row in session.execute(select(*columns)))


def claims(db: Database) -> list[tuple[Any, ...]]:
    with db.transaction() as session:
        return rows(session, ExclusiveClaim.agreement_id, ExclusiveClaim.claim)


def claims_of(grant: ExclusiveGrant) -> list[tuple[Any, ...]]:
    """The claims an agreement in force holds: its offer, and each ZIP code of its region."""
    held = [f"offer:{grant.terms.offer_id}", *(f"zip:{z}" for z in grant.terms.zip_codes)]
    return [(grant.agreement_id, claim) for claim in held]


def agreement_row(db: Database, agreement_id: str) -> Agreement:
    with db.transaction() as session:
        return session.get_one(Agreement, (PROVIDER, agreement_id))


def database_state(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Everything a grant or a release may write, to show that a call wrote nothing."""
    with db.transaction() as session:
        return {
            "agreements": rows(
                session,
                Agreement.agreement_id,
                Agreement.agreement_uid,
                Agreement.status,
                Agreement.ended_at,
            ),
            "claims": rows(session, ExclusiveClaim.agreement_id, ExclusiveClaim.claim),
            "offers": rows(session, Offer.id, Offer.visibility, Offer.min_tier),
            "access": rows(
                session, OfferAccess.offer_id, OfferAccess.reseller_team_id, OfferAccess.source
            ),
        }


def count(db: Database, model: type[Any], **where: Any) -> int:
    with db.transaction() as session:
        query = select(func.count()).select_from(model).filter_by(**where)
        return int(session.scalar(query) or 0)


# Granting -----------------------------------------------------------------------------------

# Each kind of offer an exclusive can be made on: (offer, grantee, the offer before).
OFFER_CASES = [
    pytest.param(
        PREFERRED,
        "team-a",
        OfferSnapshot(offer_id=PREFERRED, visibility=Visibility.PREFERRED),
        id="preferred",
    ),
    pytest.param(
        GOLD_ONLY,
        "team-a",
        OfferSnapshot(offer_id=GOLD_ONLY, visibility=Visibility.PREFERRED, min_tier=Tier.GOLD),
        id="gold-only",
    ),
    pytest.param(
        SELECTED,
        "team-a",
        OfferSnapshot(
            offer_id=SELECTED,
            visibility=Visibility.SELECTED,
            allowed_resellers=["team-b", "team-c"],
        ),
        id="selected",
    ),
    pytest.param(
        PUBLIC, "team-b", OfferSnapshot(offer_id=PUBLIC, visibility=Visibility.PUBLIC), id="public"
    ),
]


@pytest.mark.parametrize(("offer_id", "grantee", "before"), OFFER_CASES)
def test_grant_makes_the_offer_selected_for_the_partner_alone(
    seeded: Database,
    activities: AgreementActivities,
    offer_id: str,
    grantee: str,
    before: OfferSnapshot,
) -> None:
    saw_it = viewers(seeded, offer_id)
    assert saw_it - {grantee}, "someone else must see the offer before, or nothing is shown"

    grant = exclusive("ag-1", offer_id, grantee)
    result = run_grant(activities, grant)

    assert result == GrantResult(
        provider_name="Acme Internet",
        reseller_name=reseller_name(grantee),
        previous_offer=before,
        already_granted=False,
    )
    assert viewers(seeded, offer_id) == {grantee}
    assert offer_settings(seeded, offer_id) == ("selected", before.min_tier, [grantee])
    assert claims(seeded) == claims_of(grant) == [("ag-1", f"offer:{offer_id}")]
    row = agreement_row(seeded, "ag-1")
    assert (row.agreement_uid, row.workflow_id, row.reseller_team_id, row.offer_id) == (
        "uid-ag-1",
        "agreement/acme/ag-1",
        grantee,
        offer_id,
    )
    assert (row.kind, row.zip_codes, row.status, row.term_number, row.breaches_in_term) == (
        "service",
        [],
        "active",
        1,
        0,
    )
    assert (row.started_at, row.term_end, row.ended_at) == (STARTS_AT, TERM_END, None)
    assert AgreementTerms.model_validate(row.terms) == grant.terms
    assert (row.previous_visibility, row.previous_min_tier, row.previous_allowed) == (
        before.visibility.value,
        before.min_tier,
        before.allowed_resellers,
    )


def test_regional_grant_claims_the_offer_and_each_zip_code(
    seeded: Database, activities: AgreementActivities
) -> None:
    run_grant(activities, exclusive("ag-1", PREFERRED, zip_codes=["10002", "10001"]))
    assert claims(seeded) == [
        ("ag-1", "offer:acme-fiber"),
        ("ag-1", "zip:10001"),
        ("ag-1", "zip:10002"),
    ]
    row = agreement_row(seeded, "ag-1")
    assert (row.kind, row.zip_codes) == ("regional", ["10001", "10002"])


def test_repeating_a_grant_changes_nothing(
    seeded: Database, activities: AgreementActivities
) -> None:
    grant = exclusive("ag-1", PREFERRED, zip_codes=REGION)
    first = run_grant(activities, grant)
    state = database_state(seeded)

    again = run_grant(activities, grant)

    assert again.already_granted is True
    # What the offer was before the exclusive, not what the first attempt made it.
    assert again.previous_offer == first.previous_offer
    assert again.previous_offer.visibility is Visibility.PREFERRED
    assert (again.provider_name, again.reseller_name) == (first.provider_name, first.reseller_name)
    assert database_state(seeded) == state


def test_regional_exclusives_that_do_not_overlap_both_hold(
    seeded: Database, activities: AgreementActivities
) -> None:
    first = exclusive("ag-1", PREFERRED, "team-a", zip_codes=REGION)
    second = exclusive("ag-2", PUBLIC, "team-b", zip_codes=["20001", "10004"])
    run_grant(activities, first)
    assert run_grant(activities, second).already_granted is False
    assert claims(seeded) == claims_of(first) + claims_of(second)
    assert (viewers(seeded, PREFERRED), viewers(seeded, PUBLIC)) == ({"team-a"}, {"team-b"})


# Refusals -----------------------------------------------------------------------------------

SERVICE_FIRST = exclusive("ag-1", PREFERRED, "team-a")
REGIONAL_FIRST = exclusive("ag-1", PREFERRED, "team-a", zip_codes=REGION)


@pytest.mark.parametrize(
    ("earlier", "refused", "message"),
    [
        pytest.param(
            None,
            exclusive("ag-2", PREFERRED, NEVER_ENROLLED),
            r"team-n is not on the preferred list of acme \(it was never enrolled\): "
            "only a preferred partner can hold an exclusive",
            id="never-enrolled",
        ),
        pytest.param(
            None,
            exclusive("ag-2", PREFERRED, "team-r"),
            r"team-r is not on the preferred list of acme \(it is removed\)",
            id="removed-partner",
        ),
        pytest.param(
            None,
            exclusive("ag-2", "acme-tv"),
            "provider acme has no offer 'acme-tv'",
            id="unknown-offer",
        ),
        pytest.param(
            None,
            exclusive("ag-2", GLOBEX_OFFER),
            "provider acme has no offer 'globex-internet'",
            id="another-providers-offer",
        ),
        pytest.param(
            None,
            exclusive("ag-2", PREFERRED, "team-ghost"),
            "unknown reseller 'team-ghost'",
            id="unknown-reseller",
        ),
        pytest.param(
            None,
            exclusive("ag-2", PREFERRED, provider_id="initech"),
            "unknown provider 'initech'",
            id="unknown-provider",
        ),
        pytest.param(
            SERVICE_FIRST,
            exclusive("ag-2", PREFERRED, "team-b"),
            "offer acme-fiber is already exclusive to team-a under agreement ag-1$",
            id="second-exclusive-on-the-offer",
        ),
        pytest.param(
            REGIONAL_FIRST,
            exclusive("ag-2", PREFERRED, "team-b", zip_codes=["20001"]),
            "offer acme-fiber is already exclusive to team-a under agreement ag-1$",
            id="another-region-on-the-same-offer",
        ),
        pytest.param(
            REGIONAL_FIRST,
            exclusive("ag-2", PUBLIC, "team-b", zip_codes=["10003", "20001", "10002"]),
            "ZIP codes 10002, 10003 are already exclusive to team-a under agreement ag-1$",
            id="overlapping-region-on-another-offer",
        ),
        pytest.param(
            SERVICE_FIRST,
            exclusive("ag-1", PUBLIC, "team-b", uid="uid-another"),
            r"agreement ID ag-1 is already used by an agreement with team-a \(active\); "
            "choose another ID",
            id="agreement-id-in-use",
        ),
    ],
)
def test_refused_grants_write_nothing(
    seeded: Database,
    activities: AgreementActivities,
    earlier: ExclusiveGrant | None,
    refused: ExclusiveGrant,
    message: str,
) -> None:
    if earlier is not None:
        run_grant(activities, earlier)
    state = database_state(seeded)
    seen = {offer_id: viewers(seeded, offer_id) for offer_id in (PREFERRED, PUBLIC)}

    with pytest.raises(AgreementRefused, match=message) as raised:
        run_grant(activities, refused)

    assert raised.value.non_retryable is True
    assert raised.value.type == "AgreementRefused"
    assert database_state(seeded) == state
    assert count(seeded, Agreement) == (0 if earlier is None else 1)
    assert claims(seeded) == ([] if earlier is None else claims_of(earlier))
    assert {offer_id: viewers(seeded, offer_id) for offer_id in seen} == seen


def test_a_partner_blocked_from_the_offer_cannot_hold_an_exclusive_on_it(
    seeded: Database, activities: AgreementActivities
) -> None:
    with seeded.transaction() as session:
        session.add(
            OfferBlock(
                provider_id=PROVIDER,
                reseller_team_id="team-a",
                offer_id=PREFERRED,
                reason="fraudulent orders",
            )
        )
    state = database_state(seeded)
    with pytest.raises(AgreementRefused, match="team-a is blocked from offer acme-fiber"):
        run_grant(activities, exclusive("ag-1", PREFERRED, "team-a"))
    assert database_state(seeded) == state
    assert not run_grant(activities, exclusive("ag-2", PUBLIC, "team-a")).already_granted


def test_a_racing_grant_is_refused_by_the_unique_claims(
    seeded: Database, activities: AgreementActivities, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two grants at the same moment both pass the conflict check; the claims' unique
    constraint must still refuse the second, as a refusal rather than a database error."""
    run_grant(activities, REGIONAL_FIRST)
    state = database_state(seeded)
    monkeypatch.setattr("activities.agreements._conflicts", lambda session, grant: None)

    with pytest.raises(AgreementRefused, match="created at the same moment"):
        run_grant(activities, exclusive("ag-2", PUBLIC, "team-b", zip_codes=["10002"]))

    assert database_state(seeded) == state


# Ending -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("offer_id", "grantee", "before"), OFFER_CASES)
def test_ending_restores_the_offer_and_releases_the_claims(
    seeded: Database,
    activities: AgreementActivities,
    offer_id: str,
    grantee: str,
    before: OfferSnapshot,
) -> None:
    saw_it, settings = viewers(seeded, offer_id), offer_settings(seeded, offer_id)
    grant = exclusive("ag-1", offer_id, grantee)
    run_grant(activities, grant)

    assert run_end(activities, grant) == before.visibility.value

    assert offer_settings(seeded, offer_id) == settings
    assert viewers(seeded, offer_id) == saw_it
    assert claims(seeded) == []
    row = agreement_row(seeded, "ag-1")
    assert (row.status, row.end_reason, row.ended_at) == (
        "terminated",
        "ended by the provider",
        ENDED_AT,
    )

    state = database_state(seeded)
    assert run_end(activities, grant) is None
    assert database_state(seeded) == state

    # The offer is free again: another partner may now hold it.
    again = run_grant(activities, exclusive("ag-2", offer_id, "team-c"))
    assert again.previous_offer == before
    assert viewers(seeded, offer_id) == {"team-c"}


def test_ending_another_agreements_uid_changes_nothing(
    seeded: Database, activities: AgreementActivities
) -> None:
    grant = exclusive("ag-1", PREFERRED)
    run_grant(activities, grant)
    state = database_state(seeded)
    stale = grant.model_copy(update={"agreement_uid": "uid-of-an-earlier-ag-1"})
    assert run_end(activities, stale) is None
    assert database_state(seeded) == state


@pytest.mark.parametrize(
    ("offer_id", "restored_to"),
    [
        # team-r is gold but removed: it never gets a preferred offer back.
        pytest.param(PREFERRED, {"team-a", "team-b", "team-c"}, id="any-tier"),
        pytest.param(GOLD_ONLY, {"team-a", "team-c"}, id="gold-only"),
    ],
)
def test_a_preferred_offer_is_granted_again_to_the_partners_on_the_list(
    seeded: Database, activities: AgreementActivities, offer_id: str, restored_to: set[str]
) -> None:
    grant = exclusive("ag-1", offer_id, "team-a")
    run_grant(activities, grant)
    with seeded.transaction() as session:
        # While the offer is selected the partners' own reviews drop their access to it
        # (it is no longer a preferred offer), and its minimum tier means nothing.
        for team_id in ("team-a", "team-b", "team-c"):
            apply_access_change(session, access_change(team_id))
        session.execute(update(Offer).where(Offer.id == offer_id).values(min_tier=None))
    assert preferred_access(seeded, offer_id) == set()

    assert run_end(activities, grant) == "preferred"

    assert preferred_access(seeded, offer_id) == restored_to
    assert viewers(seeded, offer_id) == restored_to


# Reads --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("team_id", "on_list", "status"),
    [
        ("team-a", True, "preferred"),
        ("team-c", True, "at_risk"),
        ("team-r", False, "removed"),
        (NEVER_ENROLLED, False, None),
        ("team-ghost", False, None),
    ],
)
def test_check_partner_listing(
    activities: AgreementActivities, team_id: str, on_list: bool, status: str | None
) -> None:
    listing = ActivityEnvironment().run(
        activities.check_partner_listing,
        PartnerRef(provider_id=PROVIDER, reseller_team_id=team_id),
    )
    assert (listing.on_preferred_list, listing.status) == (on_list, status)


def test_find_partner_exclusives_lists_the_agreements_in_force(
    activities: AgreementActivities,
) -> None:
    ended = exclusive("ag-2", PUBLIC, "team-a", zip_codes=REGION)
    for grant in (
        exclusive("ag-3", PREFERRED, "team-a"),
        ended,
        exclusive("ag-1", SELECTED, "team-b"),
    ):
        run_grant(activities, grant)
    run_end(activities, ended)
    run_grant(activities, exclusive("ag-4", GOLD_ONLY, "team-c", zip_codes=REGION))

    def held(team_id: str) -> tuple[list[str], list[tuple[str, str, str]]]:
        ref = PartnerRef(provider_id=PROVIDER, reseller_team_id=team_id)
        found = ActivityEnvironment().run(activities.find_partner_exclusives, ref)
        return found.workflow_ids, [
            (a.workflow_id, a.kind.value, a.offer_id) for a in found.agreements
        ]

    assert held("team-a") == (
        ["agreement/acme/ag-3"],
        [("agreement/acme/ag-3", "service", PREFERRED)],
    )
    assert held("team-b") == (
        ["agreement/acme/ag-1"],
        [("agreement/acme/ag-1", "service", SELECTED)],
    )
    assert held("team-c") == (
        ["agreement/acme/ag-4"],
        [("agreement/acme/ag-4", "regional", GOLD_ONLY)],
    )
    assert held("team-r") == ([], [])


# Agreement metrics --------------------------------------------------------------------------

WINDOW_START = datetime(2026, 1, 15, tzinfo=UTC)
WINDOW_END = datetime(2026, 4, 15, tzinfo=UTC)  # 90 days: three "months" of 30 days
IN_WINDOW = WINDOW_START + timedelta(days=40)


def order(
    order_id: str,
    status: str,
    *,
    zip_code: str = "10001",
    offer_id: str = PREFERRED,
    team_id: str = "team-a",
    at: datetime = IN_WINDOW,
) -> Order:
    accepted = status not in ("rejected", "pending")
    return Order(
        id=order_id,
        provider_id=PROVIDER,
        offer_id=offer_id,
        reseller_team_id=team_id,
        zip_code=zip_code,
        monthly_price=Decimal("60.00"),
        status=status,
        created_at=at,
        accepted_at=at + timedelta(hours=4) if accepted else None,
    )


def agreement_orders() -> list[Order]:
    """Orders of team-a, fresh for each test.

    In the region (10001-10003), in the window: 4 orders, 3 accepted, 2 fulfilled, 1 cancelled.
    Then one order of the offer outside the region, and four that never count.
    """
    return [
        order("o-1", "completed"),
        order("o-2", "cancelled", zip_code="10002"),
        order("o-3", "rejected", zip_code="10003"),
        order("o-4", "active", at=WINDOW_START),  # the window's first instant counts
        order("o-5", "completed", zip_code="20001"),
        order("x-1", "completed", offer_id=PUBLIC),
        order("x-2", "completed", team_id="team-b"),
        order("x-3", "completed", at=WINDOW_END),
        order("x-4", "rejected", at=WINDOW_START - timedelta(seconds=1)),
    ]


@pytest.mark.parametrize(
    ("zip_codes", "totals", "rates"),
    [
        pytest.param(REGION, (4, 3, 4), (2 / 3, 3 / 4, 1 / 4), id="regional"),
        pytest.param(["10001"], (2, 2, 2), (1.0, 1.0, 0.0), id="one-zip-code"),
        pytest.param([], (5, 4, 5), (3 / 4, 4 / 5, 1 / 5), id="service"),
    ],
)
def test_compute_agreement_metrics_counts_the_agreements_orders_only(
    seeded: Database,
    activities: AgreementActivities,
    zip_codes: list[str],
    totals: tuple[int, int, int],
    rates: tuple[float, float, float],
) -> None:
    with seeded.transaction() as session:
        session.add_all(agreement_orders())
    request = AgreementMetricsRequest(
        provider_id=PROVIDER,
        reseller_team_id="team-a",
        offer_id=PREFERRED,
        zip_codes=zip_codes,
        window_start=WINDOW_START,
        window_end=WINDOW_END,
    )
    metrics = ActivityEnvironment().run(activities.compute_agreement_metrics, request)

    assert (metrics.total_orders, metrics.accepted_orders, metrics.decided_orders) == totals
    assert (
        metrics.completion_rate,
        metrics.acceptance_rate,
        metrics.cancellation_rate,
    ) == pytest.approx(rates)
    assert metrics.orders_per_month == round(totals[0] / 3, 4)
    assert (metrics.window_start, metrics.window_end) == (WINDOW_START, WINDOW_END)


# Records ------------------------------------------------------------------------------------

RECORDED = exclusive("ag-1", PREFERRED, "team-a", zip_codes=REGION)
REVIEWED_AT = datetime(2026, 4, 15, 9, 0, tzinfo=UTC)


def key(sequence: int, event: str) -> str:
    return f"{RECORDED.workflow_id}/{RECORDED.agreement_uid}/{sequence}/{event}"


def scorecard_record(sequence: int) -> ScorecardRecord:
    metrics = PartnerMetrics(
        provider_id=PROVIDER,
        reseller_team_id="team-a",
        window_start=STARTS_AT,
        window_end=REVIEWED_AT,
        total_orders=24,
        orders_per_month=8.0,
        accepted_orders=20,
        decided_orders=24,
        completion_rate=0.9,
        tenure_months=7,
    )
    lines = score(metrics, RECORDED.terms.min_monthly_orders, RECORDED.terms.standards)
    return ScorecardRecord(
        provider_id=PROVIDER,
        agreement_id=RECORDED.agreement_id,
        agreement_uid=RECORDED.agreement_uid,
        reseller_team_id="team-a",
        idempotency_key=key(sequence, "scorecard"),
        scorecard=Scorecard(
            sequence=sequence,
            kind=ScorecardKind.PERIOD,
            term_number=1,
            period_number=1,
            period_start=STARTS_AT,
            period_end=REVIEWED_AT,
            lines=lines,
            met=all(line.met for line in lines),
            metrics=metrics,
        ),
    )


def test_record_scorecard_writes_each_key_once(
    seeded: Database, activities: AgreementActivities
) -> None:
    env = ActivityEnvironment()
    record = scorecard_record(2)
    assert env.run(activities.record_scorecard, record).written is True
    assert env.run(activities.record_scorecard, record).written is False
    assert env.run(activities.record_scorecard, scorecard_record(5)).written is True

    assert count(seeded, AgreementScorecard) == 2
    with seeded.transaction() as session:
        row = session.scalars(
            select(AgreementScorecard).filter_by(idempotency_key=record.idempotency_key)
        ).one()
        stored = (row.kind, row.term_number, row.period_number, row.period_start, row.met)
        lines, metrics = row.lines, row.metrics
    assert stored == ("period", 1, 1, STARTS_AT, False)
    assert [(line["name"], line["met"]) for line in lines] == [
        ("orders_per_month", False),
        ("completion_rate", False),
    ]
    assert PartnerMetrics.model_validate(metrics) == record.scorecard.metrics


def event_record(sequence: int) -> AgreementEventRecord:
    """A breach found at the first review, and the row as it stands after it."""
    return AgreementEventRecord(
        provider_id=PROVIDER,
        agreement_id=RECORDED.agreement_id,
        agreement_uid=RECORDED.agreement_uid,
        idempotency_key=key(sequence, "event"),
        event=AgreementEvent(
            sequence=sequence,
            at=REVIEWED_AT,
            kind=AgreementEventKind.BREACH,
            status=AgreementStatus.IN_BREACH,
            summary="orders/month 8 < 10",
            actor=ActorKind.REVIEW,
        ),
        terms=RECORDED.terms.model_copy(update={"min_monthly_orders": 6}),
        term_number=2,
        term_end=TERM_END + timedelta(days=365),
        breaches_in_term=1,
    )


def test_record_agreement_event_writes_once_and_updates_the_agreement(
    seeded: Database, activities: AgreementActivities
) -> None:
    env = ActivityEnvironment()
    run_grant(activities, RECORDED)
    record = event_record(3)

    assert env.run(activities.record_agreement_event, record).written is True
    row = agreement_row(seeded, "ag-1")
    assert (row.status, row.term_number, row.term_end, row.breaches_in_term) == (
        "in_breach",
        2,
        TERM_END + timedelta(days=365),
        1,
    )
    assert AgreementTerms.model_validate(row.terms) == record.terms

    # A second attempt under the same key writes nothing, whatever it carries: not even
    # the agreement's row.
    retry = record.model_copy(update={"breaches_in_term": 0, "term_number": 1})
    assert env.run(activities.record_agreement_event, retry).written is False
    assert count(seeded, AgreementEventLogEntry, idempotency_key=record.idempotency_key) == 1
    assert agreement_row(seeded, "ag-1").breaches_in_term == 1

    with seeded.transaction() as session:
        entry = session.scalars(select(AgreementEventLogEntry)).one()
        logged = (entry.agreement_id, entry.sequence, entry.at, entry.kind, entry.status)
        actor = (entry.actor, entry.actor_id, entry.summary)
    assert logged == ("ag-1", 3, REVIEWED_AT, "breach", "in_breach")
    assert actor == ("review", None, "orders/month 8 < 10")
