"""A provider's walk through the dashboard in headless Chromium: sign in with a key, find an
at-risk partner from the overview, move its deadline, add a note, see a refusal with the API's
text, preview a review, run it and read its report, and add a reseller found by name to the
preferred list.

The API (which serves the dashboard) runs in this test's process under uvicorn, on the real
worker, the time-skipping Temporal server and the database, as `partnerflow api` runs it. Each
step saves a screenshot under the test's tmp dir (and PARTNERFLOW_ARTIFACTS_DIR when set).
Chromium is Debian's `chromium` package, as for the Temporal UI test.
"""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.async_api import Browser, expect

from api.deps import Services
from api.server import running_api
from models.partner import AtRiskFlag, reason_problem
from models.schema import Reseller
from tests.api.test_reviews import seed
from tests.web.conftest import TIMEOUT_MS, Shoot
from tests.workers.processes import free_port


async def test_a_provider_walks_through_the_dashboard(
    env, db, acme, programs, clock, chromium: Browser, shoot: Shoot
):
    teams = await seed(acme, programs, clock)
    slipping, weak = teams["slipping"], teams["weak"]
    with db.transaction() as session:
        session.get_one(Reseller, weak).name = "Weak Signal Ltd"
    await programs.apply(
        acme.provider_id, slipping, AtRiskFlag(reason="late installs since May", grace_days=45)
    )
    state = await programs.state(acme.provider_id, slipping)
    assert state.at_risk_since and state.grace_deadline
    services = Services(db=db, client=env.client, task_queue=programs.task_queue, clock=clock)
    async with running_api(services, "127.0.0.1", free_port()) as url:
        page = await chromium.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(TIMEOUT_MS)
        expect.set_options(timeout=TIMEOUT_MS)

        # Not signed in: the sign-in page, where the key goes into a form, not the URL.
        await page.goto(f"{url}/")
        await expect(page).to_have_url(f"{url}/sign-in")
        await page.get_by_label("API key").fill(acme.key)
        await shoot(page, "1-sign-in.png")
        await page.get_by_role("button", name="Sign in").click()
        await expect(page).to_have_url(f"{url}/")
        assert acme.key not in page.url

        # The overview lists the partner at risk with its days left; the provider opens it.
        at_risk = page.locator("#at-risk")
        await expect(at_risk.get_by_role("link", name=slipping)).to_be_visible()
        days = (state.grace_deadline.date() - clock().date()).days
        await expect(at_risk.locator("tr", has_text=slipping)).to_contain_text(str(days))
        await shoot(page, "2-overview.png")
        await at_risk.get_by_role("link", name=slipping).click()
        await expect(page).to_have_url(f"{url}/partners/{slipping}")
        await expect(page.locator("#status")).to_have_text("at_risk")
        await expect(page.locator("#grace-deadline")).to_contain_text(
            state.grace_deadline.date().isoformat()
        )
        await shoot(page, "3-partner.png")

        # Moves its deadline: the page shows the new one.
        moved_to = (state.at_risk_since + timedelta(days=55)).date().isoformat()
        form = page.locator("#form-grace-deadline")
        await form.get_by_label("New deadline").fill(moved_to)
        await form.get_by_label("Reason").fill("more time to recover after the storm")
        await form.get_by_role("button", name="Move deadline").click()
        await expect(page.get_by_role("status")).to_have_text("Grace deadline moved.")
        await expect(page.locator("#grace-deadline")).to_contain_text(moved_to)
        await shoot(page, "4-deadline-moved.png")

        # Adds a note: it is listed.
        form = page.locator("#form-notes")
        await form.get_by_label("Kind").select_option("call")
        await form.get_by_label("Note").fill("called Ana about the install backlog")
        await form.get_by_role("button", name="Add note").click()
        await expect(page.get_by_role("status")).to_have_text("Note added.")
        await expect(page.locator("#notes")).to_contain_text("called Ana about the install backlog")
        await shoot(page, "5-note-added.png")

        # A removal without a real reason: the API's refusal, beside the form, text kept.
        form = page.locator("#form-remove")
        await form.get_by_label(re.compile("^Reason")).fill("bad")
        await form.get_by_role("button", name="Remove").click()
        problem = reason_problem("bad")
        assert problem
        await expect(page.locator("#form-remove .error")).to_contain_text(problem)
        await expect(
            page.locator("#form-remove").get_by_label(re.compile("^Reason"))
        ).to_have_value("bad")
        await expect(page.locator("#status")).to_have_text("at_risk")
        await shoot(page, "6-refused.png")

        # A review: its dry run first, then the run, then its report.
        await page.get_by_role("link", name="Reviews").click()
        await page.get_by_label("Cadence").select_option("monthly")
        await page.get_by_role("button", name="Dry run first").click()
        preview = page.locator("#dry-run")
        await expect(preview).to_contain_text("Nothing has been written")
        await expect(preview).to_contain_text("new_candidate")
        await shoot(page, "7-dry-run.png")
        await page.get_by_role("button", name="Run it").click()
        await expect(page).to_have_url(re.compile(r"/reviews/monthly/\d{4}-\d\d$"))
        await expect(page.locator("#review-status")).to_have_text("completed")
        report = page.locator("#report")
        await expect(report.locator("svg").first).to_be_visible()
        await expect(report).to_contain_text("Orders by tier")
        await expect(page.locator("#partners-by-standing")).to_contain_text("new_candidate")
        await shoot(page, "8-review-report.png")

        # A reseller found by name, added to the preferred list with a note: below the
        # criteria it is refused with each one missed, until the provider overrides it.
        await page.get_by_role("link", name="Resellers").click()
        await page.get_by_label("Search").fill("weak signal")
        await page.get_by_role("button", name="Search").click()
        row = page.locator("#resellers tbody tr")
        await expect(row).to_have_count(1)
        await expect(row).to_contain_text("Weak Signal Ltd")
        await shoot(page, "9-resellers.png")
        await row.get_by_role("link", name="Add to preferred list").click()
        form = page.locator("#form-enroll")
        await form.get_by_label(re.compile("^Notes")).fill("met them at the regional fair")
        await form.get_by_role("button", name="Add to list").click()
        await expect(form.locator(".error")).to_contain_text(f"{weak} misses the silver criteria")
        await form.get_by_role("checkbox").check()
        await form.get_by_role("button", name="Add to list").click()
        await expect(page).to_have_url(f"{url}/partners/{weak}?done=enrolled")
        await expect(page.get_by_role("status")).to_have_text("Added to the preferred list.")
        await expect(page.locator("#status")).to_have_text("preferred")
        await expect(page.locator("#timeline")).to_contain_text("met them at the regional fair")
        await shoot(page, "10-added.png")

        # The program: the criteria in force per tier.
        await page.get_by_role("link", name="Program", exact=True).click()
        await expect(page).to_have_url(f"{url}/program")
        criteria = page.locator("#criteria")
        await expect(criteria.locator("tr", has_text="acceptance rate")).to_contain_text("0.9")
        await expect(page.locator("#scheduled")).to_contain_text("No change is waiting")
        await shoot(page, "11-program.png")
