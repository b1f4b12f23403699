"""Offers in the program database: audiences, the access rows that follow them, and exclusives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from devstack.demo_data import add_offer, add_provider, add_reseller
from models.database import Database
from models.offers import AccessSource, Visibility
from models.program import ProgramSettings, Tier
from models.schema import Agreement, OfferAccess, OfferBlock, PreferredListEntry
from services.errors import ConflictError, InputError, NotFoundError
from services.offers import (
    NewOffer,
    OfferChange,
    OfferRecord,
    create_offer,
    get_offer,
    list_offers,
    reseller_offers,
    update_offer,
)
from store.offer_access import visible_offer_ids

ACME = "acme"
GLOBEX = "globex"
FIBER = "acme-fiber"
NOW = datetime(2026, 11, 1, tzinfo=UTC)
PARTNERS = {"team-s": ("preferred", "silver"), "team-g": ("at_risk", "gold")}
"""Listed partners, by team: status and tier. team-r was removed; team-o never enrolled."""


@pytest.fixture
def seeded(db: Database) -> Database:
    with db.transaction() as session:
        add_provider(session, ACME, "Acme Internet")
        add_provider(session, GLOBEX, "Globex", ProgramSettings(tiers="single"))
        for team in ("team-s", "team-g", "team-r", "team-o"):
            add_reseller(session, team)
        session.flush()
        add_offer(session, ACME, FIBER, visibility=Visibility.PREFERRED)
        for team, (status, tier) in {**PARTNERS, "team-r": ("removed", "silver")}.items():
            session.add(
                PreferredListEntry(
                    provider_id=ACME,
                    reseller_team_id=team,
                    workflow_id=f"partner/{ACME}/{team}",
                    partnership_id="p1",
                    status=status,
                    tier=tier,
                )
            )
    return db


def new(offer_id: str, visibility: str, **fields: Any) -> NewOffer:
    return NewOffer.model_validate(
        {
            "offer_id": offer_id,
            "name": offer_id,
            "monthly_price": Decimal("10"),
            "visibility": visibility,
            **fields,
        }
    )


def create(db: Database, offer: NewOffer, provider_id: str = ACME) -> OfferRecord:
    with db.transaction() as session:
        return create_offer(session, provider_id, offer)


def update(db: Database, offer_id: str, provider_id: str = ACME, **fields: Any) -> OfferRecord:
    with db.transaction() as session:
        return update_offer(session, provider_id, offer_id, OfferChange(**fields))


def access(db: Database, offer_id: str) -> dict[str, list[str]]:
    """Who holds access to the offer, by source."""
    with db.transaction() as session:
        rows = session.execute(
            select(OfferAccess.source, OfferAccess.reseller_team_id)
            .where(OfferAccess.offer_id == offer_id)
            .order_by(OfferAccess.reseller_team_id)
        ).all()
    found: dict[str, list[str]] = {source.value: [] for source in AccessSource}
    for source, team in rows:
        found[source].append(team)
    return found


def sees(db: Database, team: str) -> list[str]:
    with db.transaction() as session:
        return visible_offer_ids(session, ACME, team)


def test_a_new_preferred_offer_is_granted_to_listed_partners_by_tier(seeded):
    create(seeded, new("acme-any", "preferred"))
    create(seeded, new("acme-gold", "preferred", min_tier="strategic"))
    assert access(seeded, "acme-any") == {"preferred": ["team-g", "team-s"], "selected": []}
    assert access(seeded, "acme-gold") == {"preferred": ["team-g"], "selected": []}
    assert "acme-any" not in sees(seeded, "team-r")


def test_visibility_changes_move_the_access_rows(seeded):
    picked = update(seeded, FIBER, visibility="selected", allowed_resellers=["team-o", "team-o"])
    assert (picked.visibility, picked.allowed_resellers) == (Visibility.SELECTED, ["team-o"])
    assert access(seeded, FIBER) == {"preferred": [], "selected": ["team-o"]}

    back = update(seeded, FIBER, visibility="preferred", min_tier="gold")
    assert (back.min_tier, back.allowed_resellers) == (Tier.GOLD, [])
    assert access(seeded, FIBER) == {"preferred": ["team-g"], "selected": []}
    update(seeded, FIBER, min_tier=None)
    assert access(seeded, FIBER) == {"preferred": ["team-g", "team-s"], "selected": []}

    public = update(seeded, FIBER, visibility="public")
    assert access(seeded, FIBER) == {"preferred": [], "selected": []}
    assert FIBER in sees(seeded, "team-o") and public.min_tier is None


def test_a_selected_offer_keeps_its_resellers_until_told_otherwise(seeded):
    create(seeded, new("acme-pick", "selected", allowed_resellers=["team-o", "team-s"]))
    renamed = update(seeded, "acme-pick", name="Picked", monthly_price=Decimal("12.50"))
    assert renamed.allowed_resellers == ["team-o", "team-s"]
    assert (renamed.name, renamed.monthly_price) == ("Picked", Decimal("12.50"))
    assert update(seeded, "acme-pick", allowed_resellers=[]).allowed_resellers == []
    assert "acme-pick" not in sees(seeded, "team-o")


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"min_tier": "gold"}, "minimum tier applies only to preferred offers"),
        ({"visibility": "preferred", "min_tier": "bronze"}, "use silver or gold"),
        ({"allowed_resellers": ["team-o"]}, "apply only to selected offers"),
        ({"visibility": "selected", "allowed_resellers": ["ghost"]}, "unknown resellers ghost"),
    ],
)
def test_an_audience_that_does_not_hold_together_is_refused_and_nothing_changes(
    seeded, fields, says
):
    create(seeded, new("acme-tv", "public"))
    with pytest.raises(InputError, match=says):
        update(seeded, "acme-tv", **fields)
    with pytest.raises(InputError, match=says):
        create(seeded, new("acme-tv2", **{"visibility": "public", **fields}))
    with seeded.transaction() as session:
        assert get_offer(session, ACME, "acme-tv").visibility is Visibility.PUBLIC
        with pytest.raises(NotFoundError):
            get_offer(session, ACME, "acme-tv2")
    assert access(seeded, "acme-tv") == {"preferred": [], "selected": []}


def test_changes_need_something_to_change_and_refuse_nulls():
    with pytest.raises(ValueError, match="nothing to change"):
        OfferChange()
    with pytest.raises(ValueError, match="visibility cannot be null"):
        OfferChange(visibility=None)
    assert OfferChange(min_tier=None).model_fields_set == {"min_tier"}


def test_a_gold_only_offer_is_refused_in_a_single_tier_program(seeded):
    with pytest.raises(InputError, match="single tier"):
        create(seeded, new("globex-gold", "preferred", min_tier="gold"), GLOBEX)
    assert create(seeded, new("globex-any", "preferred"), GLOBEX).min_tier is None


def test_offer_ids_are_unique_across_providers(seeded):
    with pytest.raises(ConflictError, match="already exists"):
        create(seeded, new(FIBER, "public"))
    with pytest.raises(ConflictError, match="already taken"):
        create(seeded, new(FIBER, "public"), GLOBEX)
    with seeded.transaction() as session:
        with pytest.raises(NotFoundError, match="provider globex has no offer"):
            update_offer(session, GLOBEX, FIBER, OfferChange(name="mine"))


def hold(db: Database, agreement_id: str, *, ended: bool = False) -> None:
    """An exclusive on the fiber offer for team-s, as the agreement workflow records it."""
    with db.transaction() as session:
        session.add(
            Agreement(
                provider_id=ACME,
                agreement_id=agreement_id,
                agreement_uid=agreement_id,
                workflow_id=f"agreement/{ACME}/{agreement_id}",
                reseller_team_id="team-s",
                kind="service",
                offer_id=FIBER,
                zip_codes=[],
                status="terminated" if ended else "active",
                terms={},
                term_end=NOW + timedelta(days=365),
                previous_visibility="preferred",
                previous_min_tier=None,
                previous_allowed=[],
                started_at=NOW,
                ended_at=NOW if ended else None,
            )
        )


def test_an_exclusive_in_force_keeps_the_offer_audience(seeded):
    hold(seeded, "old", ended=True)
    update(seeded, FIBER, visibility="selected", allowed_resellers=["team-s"])
    hold(seeded, "excl-1")
    with seeded.transaction() as session:
        record = get_offer(session, ACME, FIBER)
    assert (record.agreement_id, record.exclusive_to) == ("excl-1", "team-s")
    with pytest.raises(ConflictError, match="end or amend agreement excl-1 first"):
        update(seeded, FIBER, allowed_resellers=["team-s", "team-o"])
    with pytest.raises(ConflictError, match="under agreement excl-1"):
        update(seeded, FIBER, visibility="public")
    assert update(seeded, FIBER, name="Fiber", allowed_resellers=["team-s"]).name == "Fiber"
    assert access(seeded, FIBER) == {"preferred": [], "selected": ["team-s"]}


def test_list_pages_the_providers_own_offers(seeded):
    for index in range(4):
        create(seeded, new(f"acme-{index}", "public"))
    create(seeded, new("globex-1", "public"), GLOBEX)
    with seeded.transaction() as session:
        first, total = list_offers(session, ACME, page=1, page_size=3)
        second, _ = list_offers(session, ACME, page=2, page_size=3)
        preferred, count = list_offers(session, ACME, visibility=Visibility.PREFERRED)
    assert total == 5 and [o.offer_id for o in first + second] == [
        "acme-0",
        "acme-1",
        "acme-2",
        "acme-3",
        FIBER,
    ]
    assert (count, [o.offer_id for o in preferred]) == (1, [FIBER])


def test_reseller_offers_leave_out_blocked_offers(seeded):
    create(seeded, new("acme-tv", "public"))
    with seeded.transaction() as session:
        # Seeded without its grants; the change below syncs them.
        assert [o.offer_id for o in reseller_offers(session, ACME, "team-s")] == ["acme-tv"]
    update(seeded, FIBER, min_tier="silver")
    with seeded.transaction() as session:
        assert [o.offer_id for o in reseller_offers(session, ACME, "team-s")] == [
            FIBER,
            "acme-tv",
        ]
        session.add(
            OfferBlock(provider_id=ACME, reseller_team_id="team-s", offer_id=FIBER, reason="x")
        )
        session.flush()
        assert [o.offer_id for o in reseller_offers(session, ACME, "team-s")] == ["acme-tv"]
        with pytest.raises(NotFoundError, match="nobody is not a partner or reseller"):
            reseller_offers(session, ACME, "nobody")
