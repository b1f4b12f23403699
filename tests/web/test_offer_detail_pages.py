"""The dashboard's offer forms with the documents' fields: category, status, internal name,
description, early access with a launch date, tier prices; a launch follows the save."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError

from models.contract import offer_launch_workflow_id
from services import offers
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
