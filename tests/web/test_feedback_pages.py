"""The feedback page over httpx: what resellers sent the signed-in provider, the newest first,
filtered by kind and ZIP code, and the demand grouped by ZIP code; never another provider's."""

from __future__ import annotations

from devstack.demo_data import add_reseller
from models.database import Database
from models.feedback import FeedbackKind, NewFeedback
from services.feedback import send_feedback
from tests.web.conftest import signed_in


def send(
    db: Database, team_id: str, provider_id: str, kind: FeedbackKind, **fields: object
) -> None:
    with db.transaction() as session:
        send_feedback(
            session,
            team_id,
            NewFeedback.model_validate({"provider_id": provider_id, "kind": kind, **fields}),
        )


async def test_the_feedback_page_lists_feedback_and_demand_by_zip(browser, acme, globex, db):
    with db.transaction() as session:
        add_reseller(session, "team-north", "North Networks")
        add_reseller(session, "team-south", "South Links")
    send(
        db,
        "team-north",
        acme.provider_id,
        FeedbackKind.ZIP_DEMAND,
        text="Busy <here>",
        zip_codes=["98101", "98102"],
    )
    send(
        db,
        "team-south",
        acme.provider_id,
        FeedbackKind.ZIP_DEMAND,
        text="Busy too",
        zip_codes=["98101"],
    )
    send(
        db,
        "team-south",
        acme.provider_id,
        FeedbackKind.PROCESS_IMPROVEMENT,
        text="Faster payouts\nplease",
    )
    send(
        db,
        "team-north",
        globex.provider_id,
        FeedbackKind.ZIP_DEMAND,
        text="Globex only",
        zip_codes=["10001"],
    )

    client, _ = await signed_in(browser, acme)
    page = await client.get("/feedback")
    assert page.status_code == 200, page.text
    html = page.text
    assert 'href="/feedback" aria-current="page"' in html
    assert "3 feedback, the latest first." in html
    assert (
        html.index("Faster payouts\nplease")
        < html.index("Busy too")
        < html.index("Busy &lt;here&gt;")
    )
    assert "North Networks" in html and "South Links" in html
    assert "Globex only" not in html and "10001" not in html
    demand = html[html.index('id="zip-demand"') :]
    assert 'id="zip-98101"' in demand and 'id="zip-98102"' in demand
    row = demand[demand.index('id="zip-98101"') :].split("</tr>")[0]
    assert '<td class="num">2</td><td class="num">2</td>' in row  # two mentions, two resellers

    improvements = (await client.get("/feedback", params={"kind": "process_improvement"})).text
    assert "1 feedback, the latest first." in improvements and "Busy too" not in improvements
    assert "No ZIP codes named yet." in improvements
    by_zip = (await client.get("/feedback", params={"zip": "98102"})).text
    assert "1 feedback, the latest first." in by_zip and "Busy &lt;here&gt;" in by_zip

    refused = await client.get("/feedback", params={"kind": "complaint", "zip": "981"})
    assert refused.status_code == 422
    assert (
        "kind: one of services_needed" in refused.text and "ZIP code: five digits" in refused.text
    )

    other, _ = await signed_in(browser, globex)
    theirs = (await other.get("/feedback")).text
    assert "1 feedback, the latest first." in theirs and "Globex only" in theirs
    assert "Busy too" not in theirs


async def test_the_feedback_page_needs_a_session(browser):
    answer = await browser().get("/feedback")
    assert answer.status_code == 303 and answer.headers["location"] == "/sign-in"
