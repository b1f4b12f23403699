"""An offer announcing itself (`announce` on create and change) over HTTP, on the real worker,
the time-skipping server and the database: exactly the partners who see the offer are told,
each at its own price; refusals and a Temporal outage save nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

import activities.announcements
from clients.announcements import Announcements
from clients.offer_launches import OfferLaunches
from models.announcement import AnnouncementOutcome, AnnouncementStatus
from models.schema import Announcement, Notification, Offer, OfferBlock
from services.announcements import AnnouncementRecord
from tests.api.conftest import ProviderApi
from tests.helpers import seat_partners

OFFERS = "/provider/offers"
SECRET = "FIBER-2G-MARGIN-Q4"
PARTNERS = {
    "team-gold": ("gold", "preferred"),
    "team-gold-risk": ("gold", "at_risk"),
    "team-silver": ("silver", "preferred"),
    "team-blocked": ("gold", "preferred"),
    "team-removed": ("gold", "removed"),
}


def seed(api: ProviderApi) -> None:
    """Partners of each tier and status; team-blocked barred from all of the provider's offers."""
    seat_partners(api.program.db, api.provider_id, PARTNERS)
    with api.program.db.transaction() as session:
        session.add(
            OfferBlock(provider_id=api.provider_id, reseller_team_id="team-blocked", reason="tests")
        )


def offer(**more: Any) -> dict[str, Any]:
    return {
        "name": "Acme Fiber 2 Gig",
        "category": "internet",
        "description": "Symmetric 2 Gbit/s fiber for homes.",
        "internalName": SECRET,
        "monthlyPrice": 59.99,
        "tierPrices": {"silver": 56.99, "gold": 49.99},
        "visibility": "public",
        **more,
    }


async def sent(env: WorkflowEnvironment, api: ProviderApi, announcement_id: str) -> dict[str, str]:
    """The announcement's messages, once its workflow finished: body by partner."""
    shown = (await api.get(f"/provider/announcements/{announcement_id}")).json()
    outcome = AnnouncementOutcome.model_validate(
        await env.client.get_workflow_handle(shown["workflowId"]).result()
    )
    assert outcome.status is AnnouncementStatus.SENT
    prefix = f"announcement/{api.provider_id}/{announcement_id}/"
    with api.program.db.transaction() as session:
        rows = session.scalars(
            select(Notification).where(Notification.idempotency_key.startswith(prefix))
        )
        return {row.reseller_team_id: row.subject + "\n" + row.body for row in rows}


def announcements(api: ProviderApi) -> int:
    with api.program.db.transaction() as session:
        count = session.scalar(
            select(func.count())
            .select_from(Announcement)
            .where(Announcement.provider_id == api.provider_id)
        )
        return count or 0


async def test_a_new_offer_announces_itself_to_exactly_those_who_see_it_at_their_price(env, acme):
    seed(acme)
    made = await acme.post(
        OFFERS, offer(offerId="fiber-2g", visibility="preferred", minTier="gold", announce={})
    )
    assert made.status_code == 201, made.text
    announcement_id = made.json()["announcementId"]
    shown = (await acme.get(f"/provider/announcements/{announcement_id}")).json()
    assert (shown["kind"], shown["audience"]) == ("new_service", {"offerId": "fiber-2g"})
    assert shown["subject"] == "New: Acme Fiber 2 Gig"
    assert "Symmetric 2 Gbit/s fiber" in shown["body"] and SECRET not in shown["body"]

    messages = await sent(env, acme, announcement_id)
    assert set(messages) == {"team-gold", "team-gold-risk"}
    for text in messages.values():
        assert "Your price: $49.99 a month (gold price, list $59.99)." in text
        assert SECRET not in text
    assert (await acme.get(f"{OFFERS}/fiber-2g")).json()["announcementId"] is None


async def test_a_new_price_is_announced_as_a_pricing_change_with_each_tiers_price(env, acme):
    seed(acme)
    assert (await acme.post(OFFERS, offer(offerId="fiber-2g"))).status_code == 201
    changed = await acme.patch(f"{OFFERS}/fiber-2g", {"monthlyPrice": 64.99, "announce": {}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["monthlyPrice"] == 64.99
    announcement_id = changed.json()["announcementId"]
    shown = (await acme.get(f"/provider/announcements/{announcement_id}")).json()
    assert shown["kind"] == "pricing_change"
    assert shown["subject"] == "New price for Acme Fiber 2 Gig: $64.99 a month"

    messages = await sent(env, acme, announcement_id)
    assert set(messages) == {"team-gold", "team-gold-risk", "team-silver"}
    assert "Your price: $49.99 a month (gold price, list $64.99)." in messages["team-gold"]
    assert "Your price: $56.99 a month (silver price, list $64.99)." in messages["team-silver"]


async def test_the_providers_own_words_and_kind_are_sent_as_written(env, acme):
    seed(acme)
    assert (await acme.post(OFFERS, offer(offerId="fiber-2g", status="paused"))).status_code == 201
    own = {"kind": "promotion", "subject": "Back in stock", "body": "Sell it again {{ x }}."}
    changed = await acme.patch(f"{OFFERS}/fiber-2g", {"status": "active", "announce": own})
    assert changed.status_code == 200, changed.text
    messages = await sent(env, acme, changed.json()["announcementId"])
    assert messages["team-silver"].startswith("Back in stock\n")
    assert "Sell it again {{ x }}." in messages["team-silver"]


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"name": "Renamed", "announce": {}}, "announce.kind: "),
        ({"status": "draft", "announce": {"kind": "promotion"}}, "a draft offer is seen by nobody"),
        ({"announce": {"kind": "promotion", "extra": 1}}, "announce.extra"),
    ],
)
async def test_an_announcement_that_cannot_be_sent_is_a_422_and_changes_nothing(
    env, acme, change, refusal
):
    assert (await acme.post(OFFERS, offer(offerId="fiber-2g"))).status_code == 201
    refused = await acme.patch(f"{OFFERS}/fiber-2g", change)
    assert refused.status_code == 422, refused.text
    assert refusal in refused.json()["detail"]
    kept = (await acme.get(f"{OFFERS}/fiber-2g")).json()
    assert (kept["name"], kept["status"]) == ("Acme Fiber 2 Gig", "active")
    assert announcements(acme) == 0


async def test_a_draft_offer_announces_nothing_and_is_not_created(env, acme):
    draft = await acme.post(OFFERS, offer(offerId="draft-2g", status="draft", announce={}))
    assert draft.status_code == 422, draft.text
    assert draft.json()["detail"].startswith("announce: a draft offer is seen by nobody")
    assert (await acme.get(f"{OFFERS}/draft-2g")).status_code == 404
    assert announcements(acme) == 0


async def test_without_temporal_an_announced_offer_is_a_503_and_nothing_is_saved(
    acme, temporal_gone
):
    headers = {"x-api-key": acme.key}
    response = await temporal_gone.post(
        OFFERS, json=offer(offerId="fiber-2g", announce={}), headers=headers
    )
    assert response.status_code == 503, response.text
    assert "Temporal is unavailable" in response.json()["detail"]
    with acme.program.db.transaction() as session:
        assert session.get(Offer, "fiber-2g") is None
    assert announcements(acme) == 0


async def test_a_request_rolled_back_after_its_announcement_started_sends_nothing(
    env, acme, monkeypatch
):
    """The launch call fails after the announcement's workflow started: the request is a 503,
    and the workflow, finding no announcement, ends failed with no message."""
    seed(acme)
    monkeypatch.setattr(activities.announcements, "ROW_WAIT_SECONDS", 1.0)
    started: list[AnnouncementRecord] = []
    start = Announcements.start

    async def recorded_start(self: Announcements, provider_id: str, record: Any) -> str:
        started.append(record)
        return await start(self, provider_id, record)

    async def down(*args: Any, **kwargs: Any) -> None:
        raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")

    monkeypatch.setattr(Announcements, "start", recorded_start)
    monkeypatch.setattr(OfferLaunches, "follow", down)
    response = await acme.post(OFFERS, offer(offerId="fiber-2g", announce={}))
    assert response.status_code == 503, response.text
    assert len(started) == 1 and announcements(acme) == 0

    with pytest.raises(WorkflowFailureError) as failed:
        await env.client.get_workflow_handle(started[0].workflow_id).result()
    assert isinstance(failed.value.cause, ActivityError)
    assert isinstance(failed.value.cause.cause, ApplicationError)
    assert failed.value.cause.cause.type == "UnknownAnnouncement"
    with acme.program.db.transaction() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(Notification)
                .where(Notification.provider_id == acme.provider_id)
            )
            == 0
        )
