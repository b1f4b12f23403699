"""A dependency's outage on a page is a page: the dashboard's 503 with the API's own words,
while the API's paths keep answering it as JSON."""

from __future__ import annotations

import httpx

from devstack.demo_data import add_provider, add_reseller
from models.database import Database
from services.providers import issue_key
from tests.helpers import listed_partner
from tests.web.conftest import sign_in


async def test_temporal_unreachable_on_a_page_is_the_dashboards_503_page(
    db: Database, temporal_gone: httpx.AsyncClient
) -> None:
    with db.transaction() as session:
        add_provider(session, "acme", "Acme Fiber")
        add_reseller(session, "team-a")
        session.flush()
        session.add(listed_partner("acme", "team-a"))
        key = issue_key(session, "acme")
    assert (await sign_in(temporal_gone, key)).status_code == 303

    page = await temporal_gone.get("/partners/team-a")
    assert page.status_code == 503
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>Unavailable</h1>" in page.text
    assert "Temporal is unavailable" in page.text

    api = await temporal_gone.get("/provider/partners/team-a", headers={"x-api-key": key})
    assert api.status_code == 503
    assert api.headers["content-type"] == "application/json"
    assert api.json()["detail"].startswith("Temporal is unavailable")
