"""A reseller's walk through its portal in headless Chromium: sign in with its reseller key,
see its tier and the distance to the next, its grace deadline and the criteria it must bring
back above the line, and send the provider feedback; then the provider signs in to the
dashboard and reads it.

As in test_dashboard_browser.py, the API (which serves the portal) runs in this test's
process under uvicorn, on the real worker, the time-skipping Temporal server and the
database; the partner is put at risk by its real workflow. Each step saves a screenshot.
"""

from __future__ import annotations

import re

from playwright.async_api import Browser, expect

from api.deps import Services
from api.server import running_api
from devstack.demo_data import SLIPPING
from models.partner import AtRiskFlag, EnrollmentRequest
from models.program import Tier
from models.schema import Reseller
from services import portal
from tests.web.conftest import TIMEOUT_MS, Shoot, reseller_key
from tests.workers.processes import free_port

REASON = "late installs since May"
FEEDBACK = "Many calls for fiber in the north: 10001 and 10002 have no installer."


async def test_a_reseller_walks_through_its_portal_and_the_provider_reads_its_feedback(
    env,
    db,
    acme,
    programs,
    clock,
    chromium: Browser,
    shoot: Shoot,
):
    team = await acme.program.add_reseller("team-slipping", SLIPPING)
    with db.transaction() as session:
        session.get_one(Reseller, team).name = "Slipping Signal Ltd"
    await programs.enroll(acme.provider_id, team, EnrollmentRequest(tier=Tier.SILVER))
    await programs.apply(acme.provider_id, team, AtRiskFlag(reason=REASON, grace_days=45))
    state = await programs.state(acme.provider_id, team)
    assert state.grace_deadline
    key = reseller_key(db, team)
    with db.transaction() as session:
        standing = portal.standing(session, acme.provider_id, team, clock())
    assert standing.to_fix and standing.next_tier and standing.days_left is not None

    services = Services(db=db, client=env.client, task_queue=programs.task_queue, clock=clock)
    async with running_api(services, "127.0.0.1", free_port()) as url:
        expect.set_options(timeout=TIMEOUT_MS)
        reseller = await chromium.new_context(viewport={"width": 1300, "height": 1000})
        page = await reseller.new_page()
        page.set_default_timeout(TIMEOUT_MS)

        # Not signed in: the portal's own sign-in page; the key goes into a form.
        await page.goto(f"{url}/portal")
        await expect(page).to_have_url(f"{url}/portal/sign-in")
        await page.get_by_label("Reseller key").fill(key)
        await shoot(page, "portal-1-sign-in.png")
        await page.get_by_role("button", name="Sign in").click()
        await expect(page).to_have_url(f"{url}/portal")
        assert key not in page.url

        # Its programs: at risk with acme, the days left highlighted.
        row = page.locator("#programs tr", has_text=acme.provider_id)
        await expect(row).to_contain_text("at risk")
        await expect(row).to_contain_text(f"{standing.days_left} days left")
        await expect(page.locator("#who")).to_have_text("Slipping Signal Ltd")
        await shoot(page, "portal-2-programs.png")

        # The program: its tier, the deadline, what to fix, and the distance to gold.
        await row.get_by_role("link").click()
        await expect(page).to_have_url(f"{url}/portal/programs/{acme.provider_id}")
        await expect(page.locator("#tier")).to_have_text("silver")
        banner = page.locator("#at-risk")
        await expect(banner).to_contain_text(
            f"At risk: {standing.days_left} days left, until "
            f"{state.grace_deadline.date().isoformat()}"
        )
        await expect(banner).to_contain_text(REASON)
        for gap in standing.to_fix:
            assert gap.needs
            await expect(page.locator("#to-fix")).to_contain_text(gap.needs)
        gold = page.locator("#next-tier")
        await expect(gold).to_contain_text("The next tier, gold")
        await expect(gold).to_contain_text(re.compile(r"\d+ more orders a month"))
        await expect(gold.locator("svg.portal-bar")).to_have_count(len(standing.next_tier.criteria))
        await shoot(page, "portal-3-program.png")

        # Feedback: first refused (no ZIP codes) with the text kept, then sent.
        await page.get_by_role("link", name="Feedback").click()
        form = page.locator("#form-feedback")
        await form.get_by_label("Provider").select_option(acme.provider_id)
        await form.get_by_label("Kind").select_option("zip_demand")
        await form.get_by_label("Your feedback").fill(FEEDBACK)
        await form.get_by_role("button", name="Send feedback").click()
        await expect(page.locator("#form-feedback .error")).to_contain_text("ZIP codes in demand")
        await expect(page.locator("#form-feedback").get_by_label("Your feedback")).to_have_value(
            FEEDBACK
        )
        await shoot(page, "portal-4-feedback-refused.png")
        await (
            page.locator("#form-feedback")
            .get_by_label(re.compile("^ZIP codes"))
            .fill("10002, 10001")
        )
        await page.locator("#form-feedback").get_by_role("button", name="Send feedback").click()
        await expect(page.get_by_role("status")).to_contain_text("Feedback sent")
        await expect(page.locator("#sent-feedback")).to_contain_text(FEEDBACK)
        await expect(page.locator("#sent-feedback")).to_contain_text("10001, 10002")
        await shoot(page, "portal-5-feedback-sent.png")

        await page.get_by_role("button", name="Sign out").click()
        await expect(page).to_have_url(f"{url}/portal/sign-in")
        await reseller.close()

        # The provider, in a browser of its own, reads the feedback in its dashboard.
        provider = await chromium.new_context(viewport={"width": 1300, "height": 1000})
        page = await provider.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        await page.goto(f"{url}/feedback")
        await expect(page).to_have_url(f"{url}/sign-in")
        await page.get_by_label("API key").fill(acme.key)
        await page.get_by_role("button", name="Sign in").click()
        await page.goto(f"{url}/feedback")
        row = page.locator("tr", has_text=FEEDBACK)
        await expect(row).to_contain_text("Slipping Signal Ltd")
        await expect(row).to_contain_text("10001, 10002")
        await shoot(page, "portal-6-provider-reads-feedback.png")
        await provider.close()
