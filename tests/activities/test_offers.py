"""Offer access: what a partner's tier, removal and blocks let it see."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update
from temporalio.testing import ActivityEnvironment

from activities.offers import OfferAccessActivities
from devstack.demo_data import add_offer, add_provider, add_reseller
from models.database import Database
from models.offers import AccessSource, OfferAccessChange, OfferAccessResult, Visibility
from models.program import Tier
from models.schema import Offer, OfferAccess, OfferBlock
from store.offer_access import apply_access_change, visible_offer_ids

ACME = "acme"
GLOBEX = "globex"
PUBLIC = "acme-internet"
PREFERRED = "acme-fiber"
GOLD_ONLY = "acme-business"
SELECTED = "acme-exclusive"
GLOBEX_PUBLIC = "globex-internet"
GLOBEX_PREFERRED = "globex-fiber"


@pytest.fixture
def seeded(db: Database) -> Database:
    with db.transaction() as session:
        add_provider(session, ACME, "Acme Internet")
        add_provider(session, GLOBEX, "Globex")
        for team_id in ("team-a", "team-b"):
            add_reseller(session, team_id)
        session.flush()
        add_offer(session, ACME, PUBLIC)
        add_offer(session, ACME, PREFERRED, visibility=Visibility.PREFERRED)
        add_offer(session, ACME, GOLD_ONLY, visibility=Visibility.PREFERRED, min_tier=Tier.GOLD)
        add_offer(
            session, ACME, SELECTED, visibility=Visibility.SELECTED, allowed_resellers=["team-a"]
        )
        add_offer(session, GLOBEX, GLOBEX_PUBLIC)
        add_offer(session, GLOBEX, GLOBEX_PREFERRED, visibility=Visibility.PREFERRED)
    return db


def change(
    tier: Tier | None,
    *,
    team_id: str = "team-a",
    revoke_selected: bool = False,
    blocked: list[str] | None = None,
    block_all: bool = False,
) -> OfferAccessChange:
    return OfferAccessChange(
        provider_id=ACME,
        reseller_team_id=team_id,
        tier=tier,
        revoke_selected=revoke_selected,
        blocked_offer_ids=blocked or [],
        block_all=block_all,
        reason="test",
    )


def apply(db: Database, access_change: OfferAccessChange) -> OfferAccessResult:
    with db.transaction() as session:
        return apply_access_change(session, access_change)


def visible(db: Database, team_id: str = "team-a", provider_id: str = ACME) -> list[str]:
    with db.transaction() as session:
        return visible_offer_ids(session, provider_id, team_id)


def access_rows(db: Database) -> list[tuple[str, str, str]]:
    with db.transaction() as session:
        return sorted(
            (row.reseller_team_id, row.offer_id, row.source)
            for row in session.scalars(select(OfferAccess))
        )


def block_count(db: Database) -> int:
    with db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(OfferBlock)) or 0)


def test_before_any_grant_only_public_and_selected(seeded: Database) -> None:
    assert visible(seeded, "team-a") == sorted([PUBLIC, SELECTED])
    assert visible(seeded, "team-b") == [PUBLIC]


def test_silver_gets_preferred_offers_but_not_gold_only(seeded: Database) -> None:
    result = apply(seeded, change(Tier.SILVER))
    assert result.granted == [PREFERRED]
    assert result.revoked == []
    assert visible(seeded) == sorted([PUBLIC, PREFERRED, SELECTED])
    assert GOLD_ONLY not in visible(seeded)


def test_gold_gets_both(seeded: Database) -> None:
    result = apply(seeded, change(Tier.GOLD))
    assert result.granted == sorted([PREFERRED, GOLD_ONLY])
    assert visible(seeded) == sorted([PUBLIC, PREFERRED, GOLD_ONLY, SELECTED])


def test_promotion_and_demotion_move_only_the_gold_offer(seeded: Database) -> None:
    apply(seeded, change(Tier.SILVER))
    promoted = apply(seeded, change(Tier.GOLD))
    assert (promoted.granted, promoted.revoked) == ([GOLD_ONLY], [])
    demoted = apply(seeded, change(Tier.SILVER))
    assert (demoted.granted, demoted.revoked) == ([], [GOLD_ONLY])
    assert GOLD_ONLY not in visible(seeded)


def test_no_tier_revokes_preferred_access(seeded: Database) -> None:
    apply(seeded, change(Tier.GOLD))
    result = apply(seeded, change(None))
    assert result.granted == []
    assert result.revoked == sorted([PREFERRED, GOLD_ONLY])
    # Selected access is the provider's own list: removal from the tier alone keeps it.
    assert visible(seeded) == sorted([PUBLIC, SELECTED])


def test_revoke_selected_removes_selected_access(seeded: Database) -> None:
    apply(seeded, change(Tier.SILVER))
    result = apply(seeded, change(None, revoke_selected=True))
    assert result.revoked == sorted([PREFERRED, SELECTED])
    assert visible(seeded) == [PUBLIC]
    assert [row for row in access_rows(seeded) if row[0] == "team-a"] == []


def test_blocked_offers_are_hidden(seeded: Database) -> None:
    result = apply(seeded, change(Tier.GOLD, blocked=[GOLD_ONLY, PUBLIC, GOLD_ONLY]))
    assert result.blocked == sorted([GOLD_ONLY, PUBLIC])
    assert visible(seeded) == sorted([PREFERRED, SELECTED])
    # Another reseller is not affected by this partner's blocks.
    assert visible(seeded, "team-b") == [PUBLIC]


def test_block_all_hides_everything_including_public(seeded: Database) -> None:
    apply(seeded, change(Tier.GOLD))
    result = apply(seeded, change(Tier.GOLD, block_all=True, blocked=[PREFERRED]))
    assert result.blocked == ["*"]
    assert visible(seeded) == []
    # Only this provider's offers: a block by acme says nothing about globex.
    assert visible(seeded, provider_id=GLOBEX) == [GLOBEX_PUBLIC]


def test_unblocking_restores_visibility(seeded: Database) -> None:
    apply(seeded, change(Tier.SILVER, block_all=True))
    result = apply(seeded, change(Tier.SILVER))
    assert result.blocked == []
    assert block_count(seeded) == 0
    assert visible(seeded) == sorted([PUBLIC, PREFERRED, SELECTED])


@pytest.mark.parametrize(
    "access_change",
    [
        change(Tier.SILVER),
        change(Tier.GOLD, blocked=[PUBLIC]),
        change(Tier.GOLD, block_all=True),
        change(None, revoke_selected=True, blocked=[PREFERRED]),
    ],
)
def test_repeating_a_change_is_a_no_op(seeded: Database, access_change: OfferAccessChange) -> None:
    first = apply(seeded, access_change)
    rows, blocks, seen = access_rows(seeded), block_count(seeded), visible(seeded)
    again = apply(seeded, access_change)
    assert (again.granted, again.revoked) == ([], [])
    assert again.blocked == first.blocked
    assert access_rows(seeded) == rows
    assert block_count(seeded) == blocks
    assert visible(seeded) == seen


def test_visibility_is_per_reseller_and_per_provider(seeded: Database) -> None:
    apply(seeded, change(Tier.GOLD, team_id="team-a"))
    apply(seeded, change(Tier.SILVER, team_id="team-b"))
    assert visible(seeded, "team-a") == sorted([PUBLIC, PREFERRED, GOLD_ONLY, SELECTED])
    assert visible(seeded, "team-b") == sorted([PUBLIC, PREFERRED])
    # Access to acme's preferred offers gives nothing at globex.
    assert visible(seeded, "team-a", GLOBEX) == [GLOBEX_PUBLIC]
    assert visible(seeded, "team-b", GLOBEX) == [GLOBEX_PUBLIC]
    assert ("team-a", GLOBEX_PREFERRED, "preferred") not in access_rows(seeded)


def test_access_follows_the_offers_current_visibility(seeded: Database) -> None:
    """An offer made `selected` (say, for an exclusive) is seen only by its allowed resellers,
    even by partners that still hold preferred access to it from before."""
    apply(seeded, change(Tier.SILVER, team_id="team-a"))
    apply(seeded, change(Tier.SILVER, team_id="team-b"))
    with seeded.transaction() as session:
        session.execute(
            update(Offer).where(Offer.id == PREFERRED).values(visibility=Visibility.SELECTED.value)
        )
        session.add(
            OfferAccess(
                offer_id=PREFERRED, reseller_team_id="team-b", source=AccessSource.SELECTED.value
            )
        )
    assert PREFERRED not in visible(seeded, "team-a")
    assert PREFERRED in visible(seeded, "team-b")


def test_access_activities(seeded: Database) -> None:
    activities = OfferAccessActivities(seeded)
    env = ActivityEnvironment()
    granted = env.run(activities.grant_preferred_offers, change(Tier.SILVER))
    assert granted.granted == [PREFERRED]
    revoked = env.run(activities.revoke_offer_access, change(None, revoke_selected=True))
    assert revoked.revoked == sorted([PREFERRED, SELECTED])
    assert visible(seeded) == [PUBLIC]
