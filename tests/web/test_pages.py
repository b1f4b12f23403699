"""The dashboard's pages over httpx: what each shows, and each action going through the same
client call and rules as the API, with the API's refusals shown on the page."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from markupsafe import escape

from devstack.demo_data import GOOD, SLIPPING, WEAK
from models.partner import AtRiskFlag, EnrollmentRequest, PartnerStatus, reason_problem
from models.program import Tier
from models.schema import Reseller
from tests.api.test_reviews import seed
from tests.web.conftest import signed_in

# The dashboard's own SQL (services/dashboard.py) runs here: on PostgreSQL too where configured.
pytestmark = pytest.mark.both_databases


async def _program(acme, programs, db) -> tuple[str, str]:
    """A silver partner in good standing (named "Good Fibre Co") and one flagged at risk."""
    good = await acme.program.add_reseller("team-good", GOOD)
    slipping = await acme.program.add_reseller("team-slipping", SLIPPING)
    with db.transaction() as session:
        session.get_one(Reseller, good).name = "Good Fibre Co"
    for team in (good, slipping):
        await programs.enroll(acme.provider_id, team, EnrollmentRequest(tier=Tier.SILVER))
    await programs.apply(
        acme.provider_id, slipping, AtRiskFlag(reason="late installs since May", grace_days=45)
    )
    return good, slipping


async def test_the_overview_shows_counts_partners_at_risk_and_transitions(
    browser, acme, programs, db
):
    good, slipping = await _program(acme, programs, db)
    client, _ = await signed_in(browser, acme)
    page = (await client.get("/")).text
    assert f'href="/partners/{slipping}"' in page
    at_risk = page[page.index('id="at-risk"') :]
    assert re.search(r"<td class=\"num\">4[45]</td>", at_risk)  # days left of 45
    assert "late installs since May" in page  # who moved, and why
    assert 'href="/partners?status=at_risk&amp;tier=silver">1</a>' in page
    assert "No review has run yet" in page


async def test_partners_are_searched_filtered_sorted_and_exported(browser, acme, programs, db):
    good, slipping = await _program(acme, programs, db)
    client, _ = await signed_in(browser, acme)

    by_name = (await client.get("/partners", params={"q": "fibre co"})).text
    assert good in by_name and slipping not in by_name and "1 partner<" in by_name
    by_id = (await client.get("/partners", params={"q": "SLIPP"})).text
    assert slipping in by_id and good not in by_id
    at_risk = (await client.get("/partners", params={"status": "at_risk"})).text
    assert slipping in at_risk and f"/partners/{good}" not in at_risk
    ordered = (await client.get("/partners", params={"sort": "grace_deadline"})).text
    assert ordered.index(slipping) < ordered.index(good)  # the nearest deadline first

    exported = await client.get("/partners.csv", params={"status": "at_risk"})
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["resellerTeamId"], r["status"], r["tier"]) for r in rows] == [
        (slipping, "at_risk", "silver")
    ]
    assert rows[0]["graceDeadline"]
    everyone = list(csv.DictReader(io.StringIO((await client.get("/partners.csv")).text)))
    assert {r["name"] for r in everyone} == {"Good Fibre Co", slipping}


async def test_the_partner_page_shows_its_criteria_orders_and_history(browser, acme, programs, db):
    good, slipping = await _program(acme, programs, db)
    client, _ = await signed_in(browser, acme)
    page = (await client.get(f"/partners/{slipping}")).text
    assert 'id="status">at_risk<' in page and "days left" in page
    assert page.count("<svg") >= 3  # its tier's criteria, the next tier's, orders per month
    assert "orders/month" in page and "acceptance" in page
    assert "late installs since May" in page  # the timeline
    assert "<td>welcome</td>" in page  # the outbox


async def test_actions_go_through_the_api_rules_and_show_its_refusals_inline(
    browser, acme, programs, db
):
    good, slipping = await _program(acme, programs, db)
    client, token = await signed_in(browser, acme)

    noted = await client.post(
        f"/partners/{good}/notes", data={"csrf": token, "kind": "call", "text": "called Ana"}
    )
    assert noted.status_code == 303
    page = (await client.get(noted.headers["location"])).text
    assert "Note added." in page and "called Ana" in page
    assert '<option value="internal" selected>Internal (only you)</option>' in page
    assert "shared with partner</span>" not in page
    shared = await client.post(
        f"/partners/{good}/notes",
        data={"csrf": token, "text": "thanks for a great quarter", "visibility": "partner"},
    )
    assert shared.status_code == 303
    notes = (await programs.state(acme.provider_id, good)).notes
    assert [n.visibility.value for n in notes[-2:]] == ["internal", "partner"]
    page = (await client.get(shared.headers["location"])).text
    assert page.count("shared with partner</span>") == 1
    odd = await client.post(
        f"/partners/{good}/notes", data={"csrf": token, "text": "hm", "visibility": "public"}
    )
    assert odd.status_code == 422 and "visibility" in odd.text

    # A reason of two words: the API's own refusal, and the form keeps what was typed.
    short = await client.post(
        f"/partners/{good}/at-risk", data={"csrf": token, "reason": "too slow"}
    )
    api = await client.post(
        f"/provider/partners/{good}/at-risk",
        json={"reason": "too slow"},
        headers={"x-api-key": acme.key},
    )
    problem = reason_problem("too slow")
    assert short.status_code == api.status_code == 422
    assert problem and problem in api.json()["detail"]
    assert problem.replace('"', "&#34;") in short.text and 'value="too slow"' in short.text

    # A deadline outside the grace period: the workflow's refusal, as the API shows it.
    state = await programs.state(acme.provider_id, slipping)
    assert state.at_risk_since and state.grace_deadline
    too_late = (state.at_risk_since + timedelta(days=90)).date().isoformat()
    refused = await client.post(
        f"/partners/{slipping}/grace-deadline",
        data={"csrf": token, "deadline": too_late, "reason": "more time to recover"},
    )
    api = await client.post(
        f"/provider/partners/{slipping}/grace-deadline",
        json={"deadline": too_late, "reason": "more time to recover"},
        headers={"x-api-key": acme.key},
    )
    assert refused.status_code == api.status_code == 422
    assert api.json()["detail"].replace("'", "&#39;") in refused.text
    assert f'value="{too_late}"' in refused.text

    moved_to = (state.at_risk_since + timedelta(days=55)).date()
    moved = await client.post(
        f"/partners/{slipping}/grace-deadline",
        data={"csrf": token, "deadline": moved_to.isoformat(), "reason": "more time to recover"},
    )
    assert moved.status_code == 303
    page = (await client.get(moved.headers["location"])).text
    assert f'id="grace-deadline">{moved_to.isoformat()} (' in page

    removed = await client.post(
        f"/partners/{slipping}/remove", data={"csrf": token, "reason": "did not recover in time"}
    )
    assert removed.status_code == 303
    state = await programs.state(acme.provider_id, slipping)
    assert state.status is PartnerStatus.REMOVED
    assert state.transitions[-1].actor_id == "dashboard"


async def test_a_review_is_previewed_then_run_and_its_report_read(browser, acme, programs, clock):
    await seed(acme, programs, clock)
    client, token = await signed_in(browser, acme)

    preview = await client.post(
        "/reviews", data={"csrf": token, "cadence": "monthly", "action": "dry_run"}
    )
    assert preview.status_code == 200, preview.text
    assert 'id="dry-run"' in preview.text and "below_standard" in preview.text
    assert "Nothing has been written" in preview.text
    assert (await client.get("/reviews")).text.count("/reviews/monthly/") == 0

    bad = await client.post(
        "/reviews", data={"csrf": token, "cadence": "monthly", "period": "2026-13"}
    )
    assert bad.status_code == 422 and "YYYY-MM" in bad.text and 'value="2026-13"' in bad.text

    ran = await client.post("/reviews", data={"csrf": token, "cadence": "monthly", "action": "run"})
    assert ran.status_code == 303
    location = ran.headers["location"]
    for _ in range(200):
        page = (await client.get(location)).text
        if 'id="review-status">completed' in page:
            break
    assert 'id="report"' in page and "Orders by tier" in page and "<svg" in page
    assert "below_standard" in page
    assert location in (await client.get("/reviews")).text
    assert "Latest review" in (overview := (await client.get("/")).text) and location in overview


async def test_a_reseller_is_found_by_name_and_added_to_the_preferred_list(
    browser, acme, programs, db
):
    weak = await acme.program.add_reseller("team-weak", WEAK)
    with db.transaction() as session:
        session.get_one(Reseller, weak).name = "Weak Signal Ltd"
    client, token = await signed_in(browser, acme)

    found = (await client.get("/resellers", params={"q": "signal"})).text
    assert weak in found and "Weak Signal Ltd" in found and f'href="/resellers/{weak}"' in found
    assert "<td>bronze</td>" in found  # meets no partner tier
    page = (await client.get(f"/resellers/{weak}")).text
    assert "silver criteria" in page and "<svg" in page

    below = await client.post(
        f"/resellers/{weak}/enroll",
        data={"csrf": token, "tier": "silver", "notes": "met at a fair"},
    )
    api = await client.post(
        "/provider/partners/preferred",
        json={"resellerTeamId": weak, "tier": "silver"},
        headers={"x-api-key": acme.key},
    )
    assert below.status_code == api.status_code == 409
    missed = api.json()["detail"].split(" To enroll it anyway")[0]
    assert str(escape(missed)) in below.text and "met at a fair" in below.text

    unexplained = await client.post(
        f"/resellers/{weak}/enroll", data={"csrf": token, "tier": "silver", "override": "on"}
    )
    assert (
        unexplained.status_code == 422 and "override needs the reason in notes" in unexplained.text
    )

    added = await client.post(
        f"/resellers/{weak}/enroll",
        data={"csrf": token, "tier": "silver", "override": "on", "notes": "strategic account"},
    )
    assert added.status_code == 303
    page = (await client.get(added.headers["location"])).text
    assert "Added to the preferred list." in page and 'id="status">preferred<' in page
    state = await programs.state(acme.provider_id, weak)
    assert state.status is PartnerStatus.PREFERRED
    assert "strategic account" in state.transitions[-1].reason
