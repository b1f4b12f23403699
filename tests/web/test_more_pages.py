"""The API keys, program and messages pages over httpx: what each shows of the database, and
each action going through the same service and client calls as the API, its refusals shown
inline with the API's own words."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from clients.program_changes import ProgramChanges
from devstack.demo_data import GOOD, WEAK
from models.schema import ApiKey, Notification, ProgramChangeRow
from services.program import pending_change
from tests.web.conftest import signed_in

# The outbox's and the program's SQL run here: on PostgreSQL too where configured.
pytestmark = pytest.mark.both_databases

NEW_KEY = re.compile(r'id="new-key-value">([^<]+)<')
CRITERION = re.compile(r'<input name="((?:silver|gold)\.\w+)" value="([^"]*)"')


def criteria_form(page: str) -> dict[str, str]:
    """The change form's criteria as the browser sends them: every field, as filled in."""
    return dict(CRITERION.findall(page))


async def test_keys_are_listed_created_shown_once_and_revoked(browser, acme, db):
    client, csrf = await signed_in(browser, acme)
    page = (await client.get("/keys")).text
    assert "this session" in page and 'href="/keys"' in page and "Revoke…" in page

    made = await client.post("/keys", data={"csrf": csrf, "label": "billing sync"})
    assert made.status_code == 201, made.text
    found = NEW_KEY.search(made.text)
    assert found and "Copy it now" in made.text and "billing sync" in made.text
    new_key = found.group(1)
    api = browser()
    assert (await api.get("/provider/keys", headers={"x-api-key": new_key})).status_code == 200
    assert new_key not in (await client.get("/keys")).text  # shown that once only

    with db.transaction() as session:
        row = session.query(ApiKey).filter_by(label="billing sync").one()
        key_id, prefix = row.id, row.prefix
    listed = (await client.get("/keys")).text
    assert prefix in listed and "billing sync" in listed and "never" in listed
    confirm = await client.get(f"/keys/{key_id}/revoke")
    assert confirm.status_code == 200 and "Revoke it" in confirm.text
    revoked = await client.post(f"/keys/{key_id}/revoke", data={"csrf": csrf})
    assert revoked.status_code == 303 and revoked.headers["location"] == "/keys"
    assert (await api.get("/provider/keys", headers={"x-api-key": new_key})).status_code == 401
    with db.transaction() as session:
        assert session.get_one(ApiKey, key_id).revoked_at is not None
    # The session's own key is now the last active one: refused with the API's words.
    with db.transaction() as session:
        own = session.query(ApiKey).filter_by(provider_id=acme.provider_id, label=None).one().id
    last = await client.post(f"/keys/{own}/revoke", data={"csrf": csrf})
    assert last.status_code == 409
    assert f"API key {own} is the last active key of provider {acme.provider_id}" in last.text
    assert (await client.get("/keys")).status_code == 200  # still signed in


async def test_revoking_the_session_s_own_key_signs_out(browser, acme, globex, db):
    client, csrf = await signed_in(browser, acme)
    other = await client.post("/keys", data={"csrf": csrf, "label": "spare"})
    assert other.status_code == 201
    with db.transaction() as session:
        own = session.query(ApiKey).filter_by(provider_id=acme.provider_id, label=None).one().id
        theirs = session.query(ApiKey).filter_by(provider_id=globex.provider_id).one().id
    assert (await client.get(f"/keys/{theirs}/revoke")).status_code == 404
    assert (await client.post(f"/keys/{theirs}/revoke", data={"csrf": csrf})).status_code == 404
    assert (await client.post(f"/keys/{own}/revoke", data={})).status_code == 403
    with db.transaction() as session:
        assert session.get_one(ApiKey, own).revoked_at is None  # the 403 changed nothing
    out = await client.post(f"/keys/{own}/revoke", data={"csrf": csrf})
    assert out.status_code == 303 and out.headers["location"] == "/sign-in"
    assert (await client.get("/keys")).headers.get("location") == "/sign-in"


async def test_a_program_change_is_previewed_scheduled_and_cancelled(browser, acme, db):
    await acme.program.add_reseller("team-good", GOOD)
    await acme.program.add_reseller("team-weak", WEAK)
    client, csrf = await signed_in(browser, acme)
    page = (await client.get("/program")).text
    assert "Program, version 1" in page and "acceptance rate (0-1)" in page
    assert "No change is waiting for its date." in page and "grace period" in page

    when = (datetime.now(UTC) + timedelta(days=40)).date().isoformat()
    form = {
        **criteria_form(page),
        "csrf": csrf,
        "version": "1",
        "silver.min_orders_per_month": "12",
        "effective_date": when,
    }
    preview = await client.post("/program", data={**form, "action": "preview"})
    assert preview.status_code == 200, preview.text
    assert 'id="preview"' in preview.text and "resellers judged" in preview.text
    assert "Save the change" in preview.text and 'value="12"' in preview.text
    with db.transaction() as session:
        assert session.query(ProgramChangeRow).count() == 0  # a preview writes nothing

    saved = await client.post("/program", data={**form, "action": "save"})
    assert saved.status_code == 303, saved.text
    page = (await client.get("/program")).text
    scheduled = page[page.index('id="scheduled"') : page.index('id="change-criteria"')]
    assert f"{when} 00:00 UTC" in scheduled and "Cancel this change" in scheduled
    assert "Version 2" in scheduled

    cancelled = await client.post("/program/scheduled/cancel", data={"csrf": csrf})
    assert cancelled.status_code == 303
    page = (await client.get("/program")).text
    assert "No change is waiting for its date." in page and "Program, version 1" in page
    again = await client.post("/program/scheduled/cancel", data={"csrf": csrf})
    assert again.status_code == 404 and "no change of the program is scheduled" in again.text


async def test_a_bad_tightening_is_refused_inline_and_a_forged_one_changes_nothing(
    browser, acme, db
):
    client, csrf = await signed_in(browser, acme)
    filled = criteria_form((await client.get("/program")).text)
    assert filled["silver.min_tenure_months"] == "3" and filled["gold.min_revenue"] == "25000"
    bad = {**filled, "version": "1", "silver.min_acceptance_rate": "1.5", "action": "save"}
    refused = await client.post("/program", data={**bad, "csrf": csrf})
    assert refused.status_code == 422, refused.text
    assert 'role="alert"' in refused.text and "minAcceptanceRate" in refused.text
    assert 'value="1.5"' in refused.text  # what was typed is kept
    endless = await client.post(
        "/program", data={**bad, "silver.min_acceptance_rate": "inf", "csrf": csrf}
    )
    assert endless.status_code == 422
    assert "silver.minAcceptanceRate: Input should be a finite number" in endless.text
    forged = await client.post(
        "/program", data={"version": "1", "silver.min_acceptance_rate": "0.99", "action": "save"}
    )
    assert forged.status_code == 403
    page = (await client.get("/program")).text
    assert "Program, version 1" in page and ">0.9<" in page


def _message(db, provider_id: str, team: str, key: str, status: str, error: str | None) -> int:
    with db.transaction() as session:
        row = Notification(
            idempotency_key=key,
            provider_id=provider_id,
            reseller_team_id=team,
            recipient="partner",
            kind="welcome",
            channel="log",
            subject=f"Welcome, {team}",
            body="Your orders count from today.",
            status=status,
            attempts=2,
            last_error=error,
        )
        session.add(row)
        session.flush()
        return row.id


async def test_the_outbox_is_filtered_and_a_failed_message_sent_again(browser, acme, globex, db):
    good = await acme.program.add_reseller("team-good", GOOD)
    weak = await acme.program.add_reseller("team-weak", WEAK)
    sent = _message(db, acme.provider_id, good, "t-sent", "sent", None)
    failed = _message(db, acme.provider_id, weak, "t-failed", "failed", "no contact for it")
    theirs = _message(db, globex.provider_id, good, "t-theirs", "bounced", "HTTP 404")
    client, csrf = await signed_in(browser, acme)

    page = (await client.get("/messages")).text
    assert f"Welcome, {good}" in page and "no contact for it" in page and "2 messages" in page
    assert "HTTP 404" not in page
    only = (await client.get("/messages", params={"status": "failed"})).text
    assert f"Welcome, {weak}" in only and f"Welcome, {good}" not in only
    by_partner = (await client.get("/messages", params={"partner": good, "kind": "welcome"})).text
    assert f"Welcome, {good}" in by_partner and f"Welcome, {weak}" not in by_partner
    unknown = await client.get("/messages", params={"kind": "postcard"})
    assert unknown.status_code == 422 and "kind: one of" in unknown.text

    one = (await client.get(f"/messages/{failed}")).text
    assert "Your orders count from today." in one and "Send again" in one
    assert (await client.get(f"/messages/{theirs}")).status_code == 404
    assert (await client.post(f"/messages/{theirs}/resend", data={"csrf": csrf})).status_code == 404
    refused = await client.post(f"/messages/{sent}/resend", data={"csrf": csrf})
    assert refused.status_code == 409
    assert f"message {sent} is sent: only a bounced or failed message is sent again" in (
        refused.text
    )
    assert (await client.post(f"/messages/{failed}/resend", data={})).status_code == 403
    resent = await client.post(f"/messages/{failed}/resend", data={"csrf": csrf})
    assert resent.status_code == 303, resent.text
    assert resent.headers["location"].startswith(f"/messages/{failed}?resent=")


@pytest.mark.parametrize("path", ["/keys", "/program", "/messages", "/messages/1"])
async def test_without_a_session_these_pages_send_the_browser_to_sign_in(browser, path):
    answer = await browser().get(path)
    assert answer.status_code == 303 and answer.headers["location"] == "/sign-in"


async def test_a_scheduled_change_whose_workflow_cannot_start_is_withdrawn(
    browser, acme, db, monkeypatch
):
    async def refused(self: ProgramChanges, request: object) -> str:
        raise RuntimeError("Temporal is away")

    monkeypatch.setattr(ProgramChanges, "start", refused)
    client, csrf = await signed_in(browser, acme)
    page = (await client.get("/program")).text
    when = (datetime.now(UTC) + timedelta(days=40)).date().isoformat()
    form = {**criteria_form(page), "csrf": csrf, "version": "1", "effective_date": when}
    form["silver.min_orders_per_month"] = "12"
    with pytest.raises(RuntimeError, match="Temporal is away"):
        await client.post("/program", data={**form, "action": "save"})
    with db.transaction() as session:
        assert pending_change(session, acme.provider_id) is None  # no timer: not waiting
