"""The dashboard's offer forms with the documents' fields: category, status, internal name,
description, early access with a launch date, tier prices; a launch follows the save."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError

from models.contract import announcement_workflow_id, offer_launch_workflow_id
from models.schema import Announcement, Notification
from services import offers
from tests.helpers import seat_partners
from tests.web.conftest import signed_in


async def test_an_offer_is_created_and_changed_with_its_details_and_early_access(
    browser, acme, env, db
):
    client, token = await signed_in(browser, acme)
    launch = (await env.get_current_time() + timedelta(days=30)).date().isoformat()
    created = await client.post(
        "/offers",
        data={"csrf": token, "name": "Fiber 2 Gig", "monthly_price": "99", "visibility": "public",
              "category": "internet", "status": "active", "internal_name": "F2G-MARGIN",
              "description": "2 Gbps, no caps.", "early_access": "on",
              "public_launch_date": launch, "gold_price": "89"},
    )  # fmt: skip
    assert created.status_code == 303, created.text
    location = created.headers["location"]
    offer_id = location.split("/")[2].split("?")[0]
    assert offer_id.startswith("fiber-2-gig-")
    page = (await client.get(location)).text
    assert 'id="visibility">preferred<' in page and 'id="internal-name">F2G-MARGIN<' in page
    assert "then public" in page and 'value="internet"' in page and 'value="89"' in page
    handle = env.client.get_workflow_handle(offer_launch_workflow_id(acme.provider_id, offer_id))
    assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING

    changed = await client.post(
        f"/offers/{offer_id}",
        data={"csrf": token, "name": "Fiber 2 Gig", "monthly_price": "99", "visibility": "public",
              "category": "internet", "status": "retired", "internal_name": "F2G-MARGIN",
              "description": "", "early_access": "on", "public_launch_date": launch},
    )  # fmt: skip
    assert changed.status_code == 303, changed.text
    assert 'id="status">retired<' in (await client.get(changed.headers["location"])).text
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    assert (await handle.describe()).status is WorkflowExecutionStatus.CANCELED
    with db.transaction() as session:
        record = offers.get_offer(session, acme.provider_id, offer_id)
    assert (record.description, record.tier_prices) == (None, None)
    listed = (await client.get("/offers")).text
    assert offer_id in listed and "retired" in listed


async def test_an_offer_saved_with_announce_tells_the_partners_who_see_it(
    browser, acme, env, db, programs
):
    seat_partners(db, acme.provider_id, {"team-gold": ("gold", "preferred")})
    client, token = await signed_in(browser, acme)
    fields = {"csrf": token, "name": "Fiber 2 Gig", "visibility": "public", "status": "active",
              "internal_name": "F2G-MARGIN", "gold_price": "89", "announce": "on"}  # fmt: skip
    created = await client.post("/offers", data={**fields, "monthly_price": "99"})
    assert created.status_code == 303, created.text
    offer_id = created.headers["location"].split("/")[2].split("?")[0]
    changed = await client.post(f"/offers/{offer_id}", data={**fields, "monthly_price": "95"})
    assert changed.status_code == 303, changed.text
    with db.transaction() as session:
        made = session.scalars(
            select(Announcement).where(Announcement.provider_id == acme.provider_id)
        ).all()
        assert sorted(row.kind for row in made) == ["new_service", "pricing_change"]
        workflows = [announcement_workflow_id(acme.provider_id, row.id) for row in made]
    for workflow_id in workflows:
        await env.client.get_workflow_handle(workflow_id).result()
    with db.transaction() as session:
        bodies = session.scalars(
            select(Notification.body).where(
                Notification.provider_id == acme.provider_id,
                Notification.reseller_team_id == "team-gold",
                Notification.kind == "announcement",
            )
        ).all()
    assert len(bodies) == 2
    assert all("Your price: $89.00 a month (gold price" in body for body in bodies)
    assert not any("F2G-MARGIN" in body for body in bodies)

    draft = await client.post(
        "/offers", data={**fields, "monthly_price": "99", "name": "Later", "status": "draft"}
    )
    assert draft.status_code == 422 and "a draft offer is seen by nobody" in draft.text
