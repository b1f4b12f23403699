"""The monthly newsletter over HTTP on the real worker, the time-skipping server and the
database: a month sent by hand and read back with its progress, a partner's preview, the
refusals, and another provider's data out of reach. The time-skipping server has no Schedules,
so turning the newsletter on here is the 503 that says so; tests/workers turns it on and off
on the dev server."""

from __future__ import annotations

from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from devstack.demo_data import SLIPPING, add_offer, add_reseller, generate_orders
from models.newsletter import month_before, month_bounds, month_label
from store.newsletters import set_newsletter
from tests.api.conftest import ProviderApi
from tests.helpers import listed_partner

URL = "/provider/newsletter"


async def seed(api: ProviderApi) -> str:
    """Two partners on the list with orders over the last months, an offer new in the month
    just ended, and the newsletter on; returns that month."""
    now = await api.program.now()
    month = month_before(now)
    start, end = month_bounds(month)
    with api.program.db.transaction() as session:
        for team in ("team-a", "team-b"):
            add_reseller(session, team, f"Reseller {team}")
        session.flush()
        for team in ("team-a", "team-b"):
            session.add(listed_partner(api.provider_id, team))
            session.add_all(
                generate_orders(
                    api.provider_id, team, api.program.public_offer, SLIPPING, end=end, days=60
                )
            )
        offer = add_offer(session, api.provider_id, f"{api.provider_id}-2g", price=80.0)
        offer.name = "Fiber 2 Gig"
        offer.created_at = start + timedelta(days=2)
        set_newsletter(session, api.provider_id, True, now)
    return month


async def test_a_month_sent_by_hand_is_listed_with_its_progress(
    env: WorkflowEnvironment, acme: ProviderApi
) -> None:
    month = await seed(acme)
    off = (await acme.get(URL)).json()
    assert off["enabled"] is True and off["months"] == []
    assert off["scheduleId"] == f"newsletter-schedule/{acme.provider_id}"

    sent = await acme.post(f"{URL}/sends", {"month": month})
    assert sent.status_code == 202, sent.text
    assert sent.json() == {
        "month": month,
        "workflowId": f"newsletter/{acme.provider_id}/{month}",
    }
    await env.client.get_workflow_handle(sent.json()["workflowId"]).result()

    [shown] = (await acme.get(URL)).json()["months"]
    assert (shown["month"], shown["status"], shown["recipients"]) == (month, "sent", 2)
    assert shown["progress"] == {
        "recorded": 2,
        "pending": 0,
        "sent": 2,
        "bounced": 0,
        "failed": 0,
    }
    # The same month again is the same workflow: nobody gets it twice.
    again = await acme.post(f"{URL}/sends", {"month": month})
    assert again.json()["workflowId"] == sent.json()["workflowId"]
    await env.client.get_workflow_handle(again.json()["workflowId"]).result()
    assert (await acme.get(URL)).json()["months"][0]["progress"]["recorded"] == 2


async def test_a_partners_preview_is_what_it_would_read(acme: ProviderApi) -> None:
    month = await seed(acme)
    preview = await acme.get(f"{URL}/preview", params={"resellerTeamId": "team-a", "month": month})
    assert preview.status_code == 200, preview.text
    shown = preview.json()
    assert shown["resellerTeamId"] == "team-a"
    assert (
        shown["subject"] == f"Provider {acme.provider_id} partner newsletter: {month_label(month)}"
    )
    assert "Dear Reseller team-a" in shown["body"]
    assert "Fiber 2 Gig: $" in shown["body"]
    assert "Where to focus:" in shown["body"]
    stranger = await acme.get(f"{URL}/preview", params={"resellerTeamId": "team-nobody"})
    assert stranger.status_code == 404
    assert "not on the preferred list" in stranger.json()["detail"]


async def test_the_refusals_say_what_is_wrong(acme: ProviderApi, globex: ProviderApi) -> None:
    await seed(acme)
    bad_month = await acme.post(f"{URL}/sends", {"month": "2026-13"})
    assert bad_month.status_code == 422
    assert "month" in bad_month.text
    current = (await acme.program.now()).strftime("%Y-%m")
    not_ended = await acme.post(f"{URL}/sends", {"month": current})
    assert not_ended.status_code == 422
    assert not_ended.json()["detail"] == (
        f"month: {current} has not ended yet; a newsletter tells a month past"
    )

    # globex never turned it on: sending is a 409 that says how to turn it on.
    off = await globex.post(f"{URL}/sends", {})
    assert off.status_code == 409
    assert "the newsletter is off" in off.json()["detail"]
    # Another provider's partner is no partner of globex's.
    theirs = await globex.get(f"{URL}/preview", params={"resellerTeamId": "team-a"})
    assert theirs.status_code == 404


async def test_turning_it_on_without_schedules_is_a_503_and_saves_nothing(
    globex: ProviderApi,
) -> None:
    turned = await globex.put(URL, {"enabled": True})
    assert turned.status_code == 503
    assert "does not implement Schedules" in turned.json()["detail"]
    assert (await globex.get(URL)).json()["enabled"] is False
