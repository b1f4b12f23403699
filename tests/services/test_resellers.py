"""Which resellers are a provider's own: listed, named in its orders, or allowed one of its
selected offers; any other, existing or not, is not found with the same message."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from devstack.demo_data import add_offer, add_provider, add_reseller
from models.database import Database
from models.offers import Visibility
from models.schema import Order
from services.errors import NotFoundError
from services.resellers import own_reseller
from tests.helpers import listed_partner

ACME = "acme"
GLOBEX = "globex"
AT = datetime(2026, 10, 1, tzinfo=UTC)
OWN = ("team-listed", "team-removed", "team-sold", "team-allowed")
"""acme's: on its list, on it once (removed), in its orders, allowed its selected offer."""


def sale(team: str) -> Order:
    return Order(
        id="o-1",
        provider_id=ACME,
        offer_id="acme-fiber",
        reseller_team_id=team,
        zip_code="98101",
        monthly_price=Decimal("60.00"),
        status="pending",
        created_at=AT,
        updated_at=AT,
    )


@pytest.fixture
def seeded(db: Database) -> Database:
    with db.transaction() as session:
        add_provider(session, ACME, "Acme")
        add_provider(session, GLOBEX, "Globex")
        for team in [*OWN, "team-unlisted"]:
            add_reseller(session, team)
        session.flush()
        add_offer(session, ACME, "acme-fiber")
        allowed = ["team-allowed"]
        add_offer(
            session, ACME, "acme-pick", visibility=Visibility.SELECTED, allowed_resellers=allowed
        )
        session.add(listed_partner(ACME, "team-listed"))
        session.add(listed_partner(ACME, "team-removed", status="removed"))
        session.add(sale("team-sold"))
    return db


def test_a_providers_own_resellers_are_found(seeded: Database):
    with seeded.transaction() as session:
        for team in OWN:
            assert own_reseller(session, ACME, team).team_id == team


@pytest.mark.parametrize("team", [*OWN, "team-unlisted", "team-missing"])
def test_any_other_reseller_is_not_found_alike(seeded: Database, team: str):
    with seeded.transaction() as session:
        with pytest.raises(NotFoundError) as refused:
            own_reseller(session, GLOBEX, team)
    assert str(refused.value) == f"{team} is not a partner or reseller of provider {GLOBEX}"
