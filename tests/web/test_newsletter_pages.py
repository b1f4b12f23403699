"""The newsletter page: on or off, a month sent from the page and listed with its progress, a
partner's preview; walked in headless Chromium, plus the refusals a form can meet.

The time-skipping server has no Schedules, so turning the newsletter on from the page shows
the 503 that says so; the test then turns it on in the database, as the dev server's Schedule
would have it, to send a month."""

from __future__ import annotations

from datetime import timedelta

from playwright.async_api import Browser, expect

from api.deps import Services
from api.server import running_api
from devstack.demo_data import SLIPPING, add_offer
from models.newsletter import month_before, month_bounds, month_label
from store.newsletters import set_newsletter
from tests.helpers import listed_partner
from tests.web.conftest import TIMEOUT_MS, Shoot, signed_in
from tests.workers.processes import free_port


async def _seed(acme, db) -> str:
    month = month_before(await acme.program.now())
    start, end = month_bounds(month)
    await acme.program.add_reseller("team-a", SLIPPING, end=end, days=60)
    with db.transaction() as session:
        session.add(listed_partner(acme.provider_id, "team-a"))
        offer = add_offer(session, acme.provider_id, f"{acme.provider_id}-2g", price=80.0)
        offer.name = "Fiber 2 Gig"
        offer.created_at = start + timedelta(days=1)
    return month


async def test_a_provider_sends_and_previews_the_newsletter_in_the_browser(
    env, db, acme, programs, clock, chromium: Browser, shoot: Shoot
) -> None:
    month = await _seed(acme, db)
    clock.at = await acme.program.now()
    services = Services(db=db, client=env.client, task_queue=programs.task_queue, clock=clock)
    async with running_api(services, "127.0.0.1", free_port()) as url:
        page = await chromium.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(TIMEOUT_MS)
        expect.set_options(timeout=TIMEOUT_MS)
        await page.goto(f"{url}/sign-in")
        await page.get_by_label("API key").fill(acme.key)
        await page.get_by_role("button", name="Sign in").click()

        await page.get_by_role("link", name="Newsletter", exact=True).click()
        await expect(page).to_have_url(f"{url}/newsletter")
        state = page.locator("#newsletter-state")
        await expect(state.get_by_role("heading")).to_have_text("The newsletter is off")
        await page.get_by_role("button", name="Turn it on").click()
        await expect(state.get_by_role("alert")).to_contain_text("does not implement Schedules")
        await shoot(page, "newsletter-1-no-schedules.png")

        with db.transaction() as session:
            set_newsletter(session, acme.provider_id, True, clock())
        await page.goto(f"{url}/newsletter")
        await expect(state.get_by_role("heading")).to_have_text("The newsletter is on")
        await expect(state).to_contain_text(f"newsletter-schedule/{acme.provider_id}")
        await page.get_by_role("button", name=f"Send {month} now").click()
        await expect(page).to_have_url(f"{url}/newsletter")
        await env.client.get_workflow_handle(f"newsletter/{acme.provider_id}/{month}").result()
        await page.reload()
        row = page.locator("#newsletter-months tr", has_text=month_label(month))
        await expect(row).to_contain_text("sent")
        await expect(row.locator("td").nth(2)).to_have_text("1")

        preview = page.locator("#newsletter-preview")
        await preview.get_by_label("Partner (team ID)").fill("team-a")
        await preview.get_by_role("button", name="Preview").click()
        await expect(preview.get_by_role("heading", level=3)).to_have_text(
            f"Provider {acme.provider_id} partner newsletter: {month_label(month)}"
        )
        await expect(preview.locator("pre")).to_contain_text("Fiber 2 Gig: $80.00 a month")
        await expect(preview.locator("pre")).to_contain_text("Where to focus:")
        await shoot(page, "newsletter-2-sent-and-previewed.png")


async def test_the_newsletter_forms_refuse_in_plain_words(browser, acme, db) -> None:
    await _seed(acme, db)
    client, csrf = await signed_in(browser, acme)
    forged = await client.post("/newsletter/send", data={"csrf": "forged"})
    assert forged.status_code == 403
    off = await client.post("/newsletter/send", data={"csrf": csrf})
    assert off.status_code == 409 and "the newsletter is off" in off.text
    stranger = await client.get("/newsletter", params={"preview": "team-nobody"})
    assert stranger.status_code == 404 and "not on the preferred list" in stranger.text
