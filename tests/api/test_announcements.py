"""Announcements over HTTP on the real worker, the time-skipping server and the database: each
audience form resolved, progress read from the outbox, cancelling, and refusals."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from devstack.demo_data import add_reseller
from models.announcement import AnnouncementOutcome, AnnouncementStatus
from models.schema import Notification, OfferBlock
from tests.api.conftest import ProviderApi
from tests.helpers import seat_partners

URL = "/provider/announcements"
PARTNERS = {
    "team-gold": ("gold", "preferred"),
    "team-silver": ("silver", "preferred"),
    "team-risk": ("silver", "at_risk"),
    "team-candidate": ("bronze", "candidate"),
    "team-removed": ("silver", "removed"),
}
LISTED = {"team-gold", "team-silver", "team-risk"}


def seed(api: ProviderApi) -> None:
    """Partners of every status and tier, one reseller that is no partner, and team-silver
    blocked from the public offer."""
    seat_partners(api.program.db, api.provider_id, PARTNERS)
    with api.program.db.transaction() as session:
        add_reseller(session, "team-stranger", "Reseller team-stranger")
        session.add(
            OfferBlock(
                provider_id=api.provider_id,
                reseller_team_id="team-silver",
                offer_id=api.program.public_offer,
                reason="tests",
            )
        )


def body(audience: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {
        "kind": "new_service",
        "subject": "Acme Fiber 2 Gig is here",
        "body": "Sell it from today.",
        "audience": audience,
        **more,
    }


async def accepted(response: Any) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def finished(env: WorkflowEnvironment, workflow_id: str) -> AnnouncementOutcome:
    return AnnouncementOutcome.model_validate(
        await env.client.get_workflow_handle(workflow_id).result()
    )


def recipients(api: ProviderApi, announcement_id: str) -> dict[str, str]:
    prefix = f"announcement/{api.provider_id}/{announcement_id}/"
    with api.program.db.transaction() as session:
        rows = session.scalars(
            select(Notification).where(Notification.idempotency_key.startswith(prefix))
        )
        return {row.reseller_team_id: row.status for row in rows}


async def test_each_audience_form_reaches_exactly_its_partners_once(env, acme):
    seed(acme)
    audiences: list[tuple[dict[str, Any], set[str]]] = [
        ({"all": True}, LISTED),
        ({"tiers": ["gold"]}, {"team-gold"}),
        ({"tiers": ["silver"]}, {"team-silver", "team-risk"}),
        ({"statuses": ["candidate", "removed"]}, {"team-candidate", "team-removed"}),
        ({"offerId": acme.program.public_offer}, {"team-gold", "team-risk"}),
        (
            {"resellerTeamIds": ["team-gold", "team-removed", "team-stranger", "team-gold"]},
            {"team-gold", "team-removed"},
        ),
    ]
    for index, (audience, expected) in enumerate(audiences):
        made = await accepted(await acme.post(URL, body(audience, announcementId=f"a_{index}")))
        assert made["workflowId"] == f"announcement/{acme.provider_id}/a_{index}"
        outcome = await finished(env, made["workflowId"])
        assert (outcome.status, outcome.recipients, outcome.sent) == (
            AnnouncementStatus.SENT,
            len(expected),
            len(expected),
        ), audience
        assert recipients(acme, f"a_{index}") == dict.fromkeys(expected, "sent"), audience

        shown = (await acme.get(f"{URL}/a_{index}")).json()
        assert (shown["status"], shown["recipients"]) == ("sent", len(expected))
        assert shown["progress"] == {
            "recorded": len(expected),
            "pending": 0,
            "sent": len(expected),
            "bounced": 0,
            "failed": 0,
        }
        assert shown["settledAt"] and shown["audience"] == audience

    listed = (await acme.get(URL, params={"pageSize": 2})).json()
    assert listed["total"] == len(audiences)
    # Newest first; `_` in an ID is no wildcard for another's progress.
    assert [item["announcementId"] for item in listed["items"]] == ["a_5", "a_4"]
    assert [item["progress"]["sent"] for item in listed["items"]] == [2, 2]


async def test_a_cancelled_announcement_is_never_sent(env, acme):
    seed(acme)
    send_at = (await acme.program.now() + timedelta(days=2)).isoformat()
    made = await accepted(await acme.post(URL, body({"all": True}, sendAt=send_at)))
    assert made["status"] == "scheduled" and made["recipients"] is None
    announcement_id = made["announcementId"]
    assert announcement_id.startswith("new-service-")

    cancelled = await acme.delete(f"{URL}/{announcement_id}")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    outcome = await finished(env, made["workflowId"])
    assert outcome.status is AnnouncementStatus.CANCELLED
    await acme.program.sleep(timedelta(days=3))
    assert recipients(acme, announcement_id) == {}
    again = await acme.delete(f"{URL}/{announcement_id}")
    assert again.status_code == 200 and again.json()["status"] == "cancelled"
    shown = (await acme.get(f"{URL}/{announcement_id}")).json()
    assert shown["status"] == "cancelled" and shown["progress"]["recorded"] == 0


async def test_an_announcement_whose_time_came_cannot_be_cancelled(env, acme):
    seed(acme)
    made = await accepted(await acme.post(URL, body({"tiers": ["gold"]}, announcementId="now")))
    await finished(env, made["workflowId"])
    refused = await acme.delete(f"{URL}/now")
    assert refused.status_code == 409 and "only a scheduled one" in refused.json()["detail"]
    same_id = await acme.post(URL, body({"all": True}, announcementId="now"))
    assert same_id.status_code == 409


async def test_failed_messages_show_in_the_progress(env, acme):
    seed(acme)
    # The webhook channel, and no partner has a webhook URL: each message fails for good.
    changed = await acme.patch("/provider/delivery", {"channel": "webhook"})
    assert changed.status_code == 200, changed.text
    made = await accepted(await acme.post(URL, body({"all": True})))
    outcome = await finished(env, made["workflowId"])
    assert (outcome.status, outcome.sent, outcome.refused) == (AnnouncementStatus.SENT, 0, 3)
    progress = (await acme.get(f"{URL}/{made['announcementId']}")).json()["progress"]
    assert progress == {"recorded": 3, "pending": 0, "sent": 0, "bounced": 0, "failed": 3}


async def test_another_providers_announcement_is_not_found(env, acme, globex):
    seed(acme)
    send_at = (await acme.program.now() + timedelta(days=1)).isoformat()
    await accepted(await acme.post(URL, body({"all": True}, sendAt=send_at, announcementId="x")))
    assert (await globex.get(f"{URL}/x")).status_code == 404
    assert (await globex.delete(f"{URL}/x")).status_code == 404
    assert (await globex.get(URL)).json()["total"] == 0
    assert (await acme.get(f"{URL}/x")).json()["status"] == "scheduled"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "newsletter"}, "kind"),
        ({"subject": "x" * 301}, "subject"),
        ({"subject": "two\nlines"}, "subject"),
        ({"body": "   "}, "body"),
        ({"body": "x" * 20_001}, "body"),
        ({"audience": {}}, "audience"),
        ({"audience": {"all": True, "tiers": ["gold"]}}, "audience"),
        ({"audience": {"all": False}}, "audience.all"),
        ({"audience": {"tiers": ["platinum"]}}, "audience.tiers.0"),
        ({"audience": {"statuses": []}}, "audience.statuses"),
        ({"audience": {"resellerTeamIds": ["a/b"]}}, "audience.resellerTeamIds.0"),
        ({"audience": {"resellerTeamIds": ["t"] * 10_001}}, "audience.resellerTeamIds"),
        ({"audience": {"offerId": "no-such-offer"}}, "audience.offerId"),
        ({"sendAt": "2030-01-01T00:00:00"}, "sendAt"),
        ({"sendAt": "2999-01-01T00:00:00Z"}, "sendAt"),
        ({"announcementId": "a/b"}, "announcementId"),
        ({"unknown": 1}, "unknown"),
    ],
)
async def test_a_bad_request_is_refused_naming_the_field(acme, change, field):
    response = await acme.post(URL, {**body({"all": True}), **change})
    assert response.status_code == 422, response.text
    assert (
        response.json()["detail"].startswith(f"{field}:")
        or f"{field}:" in response.json()["detail"]
    ), response.json()["detail"]
    assert (await acme.get(URL)).json()["total"] == 0
