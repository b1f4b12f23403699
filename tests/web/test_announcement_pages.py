"""The announcements page: sent and scheduled from the form, listed with their progress,
cancelled with the page's CSRF token; a refusal is shown with what was typed."""

from __future__ import annotations

from datetime import timedelta

from devstack.demo_data import GOOD
from models.schema import Announcement
from tests.helpers import listed_partner
from tests.web.conftest import signed_in


async def test_an_announcement_is_sent_scheduled_and_cancelled_from_the_page(
    browser, acme, db, env
):
    await acme.program.add_reseller("team-good", GOOD)
    with db.transaction() as session:
        session.add(listed_partner(acme.provider_id, "team-good"))
    client, csrf = await signed_in(browser, acme)
    page = (await client.get("/announcements")).text
    assert "Send an announcement" in page and 'href="/announcements"' in page

    form = {"csrf": csrf, "kind": "promotion", "subject": "Spring offer", "body": "Half price."}
    sent = await client.post("/announcements", data={**form, "audience": "all"})
    assert sent.status_code == 303, sent.text
    with db.transaction() as session:
        [row] = session.query(Announcement).all()
    await env.client.get_workflow_handle(f"announcement/{acme.provider_id}/{row.id}").result()
    listed = (await client.get("/announcements")).text
    assert "Spring offer" in listed and "every partner on the list" in listed

    later = (await acme.program.now() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    scheduled = await client.post(
        "/announcements",
        data={**form, "audience": "tiers", "audienceValue": "gold", "sendAt": later},
    )
    assert scheduled.status_code == 303, scheduled.text
    with db.transaction() as session:
        waiting = session.query(Announcement).filter_by(status="scheduled").one().id
    forged = await client.post(f"/announcements/{waiting}/cancel", data={"csrf": "forged"})
    assert forged.status_code == 403
    cancelled = await client.post(f"/announcements/{waiting}/cancel", data={"csrf": csrf})
    assert cancelled.status_code == 303
    with db.transaction() as session:
        assert session.get_one(Announcement, (acme.provider_id, waiting)).status == "cancelled"

    refused = await client.post(
        "/announcements", data={**form, "audience": "tiers", "audienceValue": "platinum"}
    )
    assert refused.status_code == 422 and "tiers.0" in refused.text
    assert 'value="Spring offer"' in refused.text
