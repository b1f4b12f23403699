"""`/provider/orders` over HTTP: batches, webhook events and ratings, checked against the
database and the partner metrics they feed.

Stale events: a status change whose previousStatus is not the stored status is
applied only if it is at least as new as the stored state; final events
(cancelled, completed, rejected) older than the stored state are ignored.
Item IDs are each provider's own: two providers may send the same one, each
gets an order of its own, and another provider's item answers exactly as one
that does not exist; another provider's offers are unknown offers (422).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from devstack.demo_data import add_reseller
from models.orders import MAX_BATCH, MAX_LISTED
from models.schema import Order, OrderEvent
from tests.api.conftest import ProviderApi

ORDERS = "/provider/orders"
EVENTS = "/provider/orders/events"
NOW = datetime.now(UTC).replace(microsecond=0)


def at(days_ago: float) -> datetime:
    return NOW - timedelta(days=days_ago)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def new_reseller(api: ProviderApi, team_id: str) -> str:
    """A reseller with no orders yet."""
    with api.program.db.transaction() as session:
        add_reseller(session, team_id, joined_at=at(400))
    return team_id


def item(
    api: ProviderApi,
    item_id: str,
    team: str,
    status: str = "completed",
    *,
    created: datetime | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """An order item of `api`'s provider in the marketplace's shape, on its public offer."""
    return {
        "itemId": item_id,
        "offerId": api.program.public_offer,
        "resellerTeamId": team,
        "serviceAddress": {"zipCode": "98101"},
        "monthlyPrice": 60,
        "status": status,
        "createdAt": iso(created or at(10)),
        **fields,
    }


async def ok(api: ProviderApi, url: str, body: Any) -> dict[str, Any]:
    response = await api.post(url, body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def stored(api: ProviderApi, item_id: str) -> Order | None:
    with api.program.db.transaction() as session:
        return session.get(Order, (api.provider_id, item_id))


def order_count(api: ProviderApi) -> int:
    with api.program.db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(Order)) or 0)


async def listed(api: ProviderApi) -> list[dict[str, Any]]:
    response = await api.get(ORDERS)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def event(
    kind: str, event_id: str, item_id: str, occurred: datetime, **fields: Any
) -> dict[str, Any]:
    return {
        "type": f"order.{kind}",
        "eventId": event_id,
        "itemId": item_id,
        "occurredAt": iso(occurred),
        **fields,
    }


def status_change(
    event_id: str, item_id: str, occurred: datetime, previous: str, new: str
) -> dict[str, Any]:
    fields = {"previousStatus": previous, "newStatus": new}
    return event("status_changed", event_id, item_id, occurred, **fields)


def outcome(answer: dict[str, Any]) -> tuple[bool, str, str]:
    return answer["applied"], answer["outcome"], answer["status"]


async def test_orders_sent_in_are_what_the_partner_metrics_count(acme):
    team = new_reseller(acme, "team-fresh")
    enrolled = await ok(
        acme,
        "/provider/partners/preferred",
        {"resellerTeamId": team, "override": True, "notes": "new reseller, no orders yet"},
    )
    assert enrolled["metrics"]["totalOrders"] == 0

    statuses = ["completed"] * 7 + ["active", "rejected"]
    batch = [item(acme, f"o-{i}", team, status) for i, status in enumerate(statuses)]
    batch.append(item(acme, "o-9", team, "cancelled", acceptedAt=iso(at(9))))
    counts = await ok(acme, ORDERS, {"orders": batch})
    assert counts == {"received": 10, "created": 10, "updated": 0, "unchanged": 0, "stale": 0}

    metrics = (await acme.get(f"/provider/partners/{team}")).json()["metrics"]
    assert metrics["totalOrders"] == 10
    assert metrics["acceptanceRate"] == pytest.approx(9 / 10)  # the cancellation was accepted
    assert metrics["completionRate"] == pytest.approx(8 / 9)
    assert metrics["cancellationRate"] == pytest.approx(1 / 10)
    assert metrics["averageRating"] is None

    for item_id, rating in (("o-0", 5), ("o-1", 4)):
        await ok(acme, f"{ORDERS}/{item_id}/feedback", {"rating": rating})
    await ok(acme, EVENTS, event("cancelled", "ev-1", "o-2", at(1)))

    metrics = (await acme.get(f"/provider/partners/{team}")).json()["metrics"]
    assert metrics["averageRating"] == pytest.approx(4.5)
    assert metrics["completionRate"] == pytest.approx(7 / 9)
    assert metrics["cancellationRate"] == pytest.approx(2 / 10)


async def test_sending_the_same_items_again_changes_nothing_and_changes_are_updates(acme):
    team = new_reseller(acme, "team-again")
    batch = [
        item(acme, "a-1", team, "accepted", serviceAddress={"zipCode": "98101-4321"}),
        item(acme, "a-2", team, "pending", monthlyPrice="19.99"),
        item(acme, "a-3", team, "rejected"),
    ]
    assert (await ok(acme, ORDERS, {"orders": batch}))["created"] == 3
    again = await ok(acme, ORDERS, {"orders": batch})
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 3)

    batch[1] = {**batch[1], "status": "scheduled", "monthlyPrice": "24.50"}
    changed = await ok(acme, ORDERS, {"orders": batch})
    assert (changed["created"], changed["updated"], changed["unchanged"]) == (0, 1, 2)
    assert order_count(acme) == 3

    first = stored(acme, "a-1")
    assert first is not None
    assert first.zip_code == "98101"  # ZIP+4 keeps its 5 digits
    assert first.accepted_at == at(10)  # accepted without acceptedAt: accepted when created
    second = stored(acme, "a-2")
    assert second is not None
    assert (second.status, str(second.monthly_price)) == ("scheduled", "24.50")
    assert second.accepted_at == at(10)
    third = stored(acme, "a-3")
    assert third is not None and third.accepted_at is None


async def test_a_bad_batch_writes_nothing_and_lists_each_bad_item(acme, globex):
    team = new_reseller(acme, "team-bad")
    await ok(globex, ORDERS, {"orders": [item(globex, "g-1", team)]})

    malformed = [
        item(acme, "b-0", team),
        item(acme, "b-1", team, "lost"),
        item(acme, "b-2", team, serviceAddress={"zipCode": "981"}),
        item(acme, "b-3", team, createdAt="2026-01-05T10:00:00"),
        item(acme, "b-4", team, monthlyPrice=-1),
        item(acme, "b-5", team, acceptedAt=iso(at(11))),
    ]
    response = await acme.post(ORDERS, {"orders": malformed})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail.startswith("nothing was stored: 5 of 6 orders are wrong")
    for says in (
        "orders[1] (itemId b-1): status: Input should be 'pending'",
        "orders[2] (itemId b-2): serviceAddress.zipCode: '981' is not a ZIP code",
        "orders[3] (itemId b-3): createdAt: Input should have timezone info",
        "orders[4] (itemId b-4): monthlyPrice: Input should be greater than or equal to 0",
        "orders[5] (itemId b-5): acceptedAt",
    ):
        assert says in detail, detail
    assert "b-0" not in detail

    unknowable = [
        item(acme, "c-0", team),
        item(acme, "c-1", team, offerId=globex.program.public_offer),
        item(acme, "c-2", "team-nobody"),
        item(acme, "c-0", team),
        item(acme, "g-1", team),  # globex's item ID, and acme's own to use
    ]
    response = await acme.post(ORDERS, {"orders": unknowable})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail.startswith("nothing was stored: 3 of 5 orders are wrong")
    for says in (
        f"orders[1] (itemId c-1): provider {acme.provider_id} has no offer "
        f"'{globex.program.public_offer}'",
        "orders[2] (itemId c-2): unknown reseller 'team-nobody'",
        "orders[3] (itemId c-0): itemId c-0 repeats orders[0]",
    ):
        assert says in detail, detail
    assert "g-1" not in detail
    assert order_count(acme) == 1  # globex's g-1 only
    theirs = stored(globex, "g-1")
    assert theirs is not None and theirs.provider_id == globex.provider_id


async def test_a_batch_lists_a_few_bad_items_and_refuses_oversized_batches(acme):
    team = new_reseller(acme, "team-many")
    bad = [item(acme, f"m-{i}", team, "unknown") for i in range(MAX_LISTED + 5)]
    detail = (await acme.post(ORDERS, {"orders": bad})).json()["detail"]
    assert f"orders[{MAX_LISTED - 1}]" in detail and f"orders[{MAX_LISTED}]" not in detail
    assert detail.endswith("; and 5 more")

    huge = [item(acme, f"h-{i}", team) for i in range(MAX_BATCH + 1)]
    response = await acme.post(ORDERS, {"orders": huge})
    assert response.status_code == 422
    limit = f"at most {MAX_BATCH} orders and this one has {MAX_BATCH + 1}"
    assert limit in response.json()["detail"]
    bodies: list[dict[str, Any]] = [{"orders": []}, {}, {"orders": [item(acme, "x", team)], "x": 1}]
    for body in bodies:
        assert (await acme.post(ORDERS, body)).status_code == 422, body
    assert order_count(acme) == 0


async def test_a_full_batch_is_stored_in_one_request(acme):
    team = new_reseller(acme, "team-full")
    batch = [item(acme, f"f-{i:05d}", team, created=at(i % 80)) for i in range(MAX_BATCH)]
    counts = await ok(acme, ORDERS, {"orders": batch})
    assert counts["created"] == MAX_BATCH and order_count(acme) == MAX_BATCH
    again = await ok(acme, ORDERS, {"orders": batch})
    assert again["unchanged"] == MAX_BATCH


async def test_webhook_events_apply_once(acme):
    team = new_reseller(acme, "team-hooks")
    created = {
        "type": "order.created",
        "eventId": "ev-create",
        "order": item(acme, "w-1", team, "pending", created=at(5)),
    }
    first = await ok(acme, EVENTS, created)
    assert outcome(first) == (True, "created", "pending")
    replay = await ok(acme, EVENTS, created)
    assert outcome(replay) == (False, "duplicate", "pending")

    accept = status_change("ev-accept", "w-1", at(4), "pending", "accepted")
    assert (await ok(acme, EVENTS, accept))["outcome"] == "updated"
    order = stored(acme, "w-1")
    assert order is not None
    assert (order.status, order.accepted_at, order.updated_at) == ("accepted", at(4), at(4))

    complete = event("completed", "ev-done", "w-1", at(2))
    assert (await ok(acme, EVENTS, complete))["status"] == "completed"
    again = await ok(acme, EVENTS, accept)  # the acceptance, delivered a second time
    assert outcome(again) == (False, "duplicate", "completed")
    order = stored(acme, "w-1")
    assert order is not None
    assert (order.status, order.accepted_at, order.updated_at) == ("completed", at(4), at(2))

    with acme.program.db.transaction() as session:
        recorded = session.scalars(select(OrderEvent.event_id).order_by(OrderEvent.event_id))
        assert list(recorded) == ["ev-accept", "ev-create", "ev-done"]


async def test_events_that_do_not_fit_get_a_4xx_and_are_not_recorded(acme):
    team = new_reseller(acme, "team-early")
    cancel = event("cancelled", "ev-early", "w-2", at(1))
    early = await acme.post(EVENTS, cancel)
    assert early.status_code == 404
    assert f"provider {acme.provider_id} has no order item 'w-2'" in early.json()["detail"]

    await ok(acme, ORDERS, {"orders": [item(acme, "w-2", team, "accepted", created=at(3))]})
    retried = await ok(acme, EVENTS, cancel)  # the marketplace's retry, once the order is in
    assert (retried["applied"], retried["status"]) == (True, "cancelled")

    reused = await acme.post(EVENTS, event("rejected", "ev-early", "w-2", at(1)))
    assert reused.status_code == 409
    detail = reused.json()["detail"]
    assert "eventId ev-early was already used for order.cancelled of itemId w-2" in detail

    bad_offer = item(acme, "w-3", team, offerId="nope")
    cases: list[tuple[dict[str, Any], str]] = [
        (status_change("e1", "w-2", at(1), "x", "active"), "'pending'"),
        (
            status_change("e2", "w-2", at(1), "active", "active"),
            "previousStatus and newStatus are both active",
        ),
        ({"type": "order.exploded", "eventId": "e3", "itemId": "w-2"}, "'order.exploded'"),
        ({"type": "order.cancelled", "eventId": "e4", "itemId": "w-2"}, "occurredAt"),
        (
            {**event("cancelled", "e5", "w-2", at(1)), "occurredAt": "2026-01-01T00:00:00"},
            "timezone",
        ),
        (
            {"type": "order.created", "eventId": "e6", "order": bad_offer},
            f"order.created refused: provider {acme.provider_id} has no offer 'nope'",
        ),
    ]
    for body, says in cases:
        response = await acme.post(EVENTS, body)
        assert response.status_code == 422, (body, response.text)
        assert says in response.json()["detail"], (body, response.text)
    with acme.program.db.transaction() as session:
        assert list(session.scalars(select(OrderEvent.event_id))) == ["ev-early"]
    assert stored(acme, "w-3") is None


async def test_stale_events_change_nothing_and_newer_ones_apply_despite_a_gap(acme):
    team = new_reseller(acme, "team-late")
    await ok(
        acme,
        ORDERS,
        {"orders": [item(acme, "s-1", team, "scheduled", created=at(6), updatedAt=iso(at(3)))]},
    )

    # Older than the stored state, and not from the stored status: stale.
    late = status_change("ev-1", "s-1", at(5), "pending", "rejected")
    answer = await ok(acme, EVENTS, late)
    assert outcome(answer) == (False, "stale", "scheduled")
    late_final = await ok(acme, EVENTS, event("cancelled", "ev-2", "s-1", at(4)))
    assert (late_final["applied"], late_final["outcome"]) == (False, "stale")

    # From the stored status, though stamped a little earlier: the next step, applied.
    step = status_change("ev-3", "s-1", at(3.5), "scheduled", "in_progress")
    assert (await ok(acme, EVENTS, step))["status"] == "in_progress"

    # Newer, from a status the order never had here (an event was lost): applied.
    gap = status_change("ev-4", "s-1", at(1), "completed", "active")
    assert (await ok(acme, EVENTS, gap))["outcome"] == "updated"
    order = stored(acme, "s-1")
    assert order is not None
    assert (order.status, order.updated_at) == ("active", at(1))
    assert order.accepted_at == at(6)  # stored as accepted when created, kept

    # A batch item older than the stored state is skipped, not written back.
    old = item(acme, "s-1", team, "scheduled", created=at(6), updatedAt=iso(at(2)))
    counts = await ok(acme, ORDERS, {"orders": [old]})
    assert (counts["stale"], counts["updated"]) == (1, 0)
    order = stored(acme, "s-1")
    assert order is not None and order.status == "active"

    # The lost event arriving at last is stale, and a stale event is recorded: a replay is a dup.
    lost = status_change("ev-5", "s-1", at(2), "in_progress", "completed")
    assert (await ok(acme, EVENTS, lost))["outcome"] == "stale"
    assert (await ok(acme, EVENTS, lost))["outcome"] == "duplicate"


async def test_acceptance_by_event_is_remembered_through_a_cancellation(acme):
    team = new_reseller(acme, "team-cancel")
    await ok(acme, ORDERS, {"orders": [item(acme, "x-1", team, "submitted_to_provider")]})
    accepted = status_change("ev-a", "x-1", at(8), "submitted_to_provider", "accepted")
    await ok(acme, EVENTS, accepted)
    await ok(acme, EVENTS, event("cancelled", "ev-c", "x-1", at(7)))
    order = stored(acme, "x-1")
    assert order is not None
    assert (order.status, order.accepted_at) == ("cancelled", at(8))
    metrics = await acme.program.metrics(team)
    assert (metrics.accepted_orders, metrics.decided_orders) == (1, 1)

    rejected = await ok(acme, EVENTS, event("rejected", "ev-r", "x-1", at(6)))
    assert rejected["status"] == "rejected"


async def test_feedback_rates_an_order_item(acme):
    team = new_reseller(acme, "team-rated")
    await ok(acme, ORDERS, {"orders": [item(acme, "r-1", team, updatedAt=iso(at(9)))]})
    answer = await ok(acme, f"{ORDERS}/r-1/feedback", {"rating": 4, "comment": "quick install"})
    assert answer == {"itemId": "r-1", "rating": 4}
    await ok(acme, f"{ORDERS}/r-1/feedback", {"rating": 5})
    order = stored(acme, "r-1")
    assert order is not None
    assert order.rating == 5
    assert order.updated_at == at(9)  # a rating is not a change of the order in the marketplace

    for rating in (0, 6, 4.5, "5", None):
        response = await acme.post(f"{ORDERS}/r-1/feedback", {"rating": rating})
        assert response.status_code == 422, (rating, response.text)
        assert "rating" in response.json()["detail"]
    missing = await acme.post(f"{ORDERS}/nope/feedback", {"rating": 3})
    assert missing.status_code == 404
    assert "has no order item 'nope'" in missing.json()["detail"]
    order = stored(acme, "r-1")
    assert order is not None and order.rating == 5


async def test_providers_never_touch_each_others_orders(acme, globex):
    team = new_reseller(acme, "team-both")
    await ok(acme, ORDERS, {"orders": [item(acme, "p-1", team, "accepted")]})

    on_their_offer = await globex.post(
        ORDERS, {"orders": [item(globex, "p-2", team, offerId=acme.program.public_offer)]}
    )
    assert on_their_offer.status_code == 422
    assert f"provider {globex.provider_id} has no offer" in on_their_offer.json()["detail"]
    assert (await globex.get(ORDERS)).json()["total"] == 0
    assert (await globex.get(ORDERS, params={"resellerTeamId": team})).json()["items"] == []

    order = stored(acme, "p-1")
    assert order is not None
    assert (order.provider_id, order.status, order.rating) == (acme.provider_id, "accepted", None)


async def test_two_providers_use_the_same_item_ids_without_noticing(acme, globex):
    team = new_reseller(acme, "team-shared")
    counts = {"received": 2, "created": 2, "updated": 0, "unchanged": 0, "stale": 0}
    for api, status in ((acme, "accepted"), (globex, "rejected")):
        batch = [item(api, item_id, team, status) for item_id in ("same-1", "same-2")]
        assert await ok(api, ORDERS, {"orders": batch}) == counts

    created = [
        {"type": "order.created", "eventId": "ev-new", "order": item(api, "same-3", team, status)}
        for api, status in ((globex, "pending"), (acme, "scheduled"))
    ]
    assert outcome(await ok(globex, EVENTS, created[0])) == (True, "created", "pending")
    assert outcome(await ok(acme, EVENTS, created[1])) == (True, "created", "scheduled")
    cancel = event("cancelled", "ev-cancel", "same-1", at(1))
    assert outcome(await ok(globex, EVENTS, cancel)) == (True, "updated", "cancelled")
    assert outcome(await ok(acme, EVENTS, cancel)) == (True, "updated", "cancelled")
    activate = status_change("ev-on", "same-3", at(1), "scheduled", "active")
    assert outcome(await ok(acme, EVENTS, activate)) == (True, "updated", "active")
    await ok(acme, f"{ORDERS}/same-2/feedback", {"rating": 5})
    await ok(globex, f"{ORDERS}/same-2/feedback", {"rating": 2})

    mine = {o["itemId"]: (o["status"], o["rating"]) for o in await listed(acme)}
    theirs = {o["itemId"]: (o["status"], o["rating"]) for o in await listed(globex)}
    assert mine == {
        "same-1": ("cancelled", None),
        "same-2": ("accepted", 5),
        "same-3": ("active", None),
    }
    assert theirs == {
        "same-1": ("cancelled", None),
        "same-2": ("rejected", 2),
        "same-3": ("pending", None),
    }
    assert order_count(acme) == 6  # both providers'
    metrics = await acme.program.metrics(team)
    assert (metrics.total_orders, metrics.average_rating) == (3, 5)


async def test_another_providers_item_answers_as_one_that_does_not_exist(acme, globex):
    """globex asks about item q-1 before and after acme stores one: the answers are the
    same, and acme's item is untouched."""
    team = new_reseller(acme, "team-probe")
    probes: list[tuple[str, dict[str, Any]]] = [
        (f"{ORDERS}/q-1/feedback", {"rating": 1}),
        (EVENTS, event("cancelled", "g-ev-1", "q-1", at(0))),
        (EVENTS, status_change("g-ev-2", "q-1", at(0), "accepted", "rejected")),
        (EVENTS, event("completed", "g-ev-3", "q-1", at(0))),
    ]

    async def answers() -> list[tuple[int, str]]:
        return [
            (response.status_code, response.text)
            for response in [await globex.post(url, body) for url, body in probes]
        ]

    before = await answers()
    await ok(acme, ORDERS, {"orders": [item(acme, "q-1", team, "accepted")]})
    after = await answers()
    assert after == before
    assert {code for code, _ in after} == {404}
    assert all(f"provider {globex.provider_id} has no order item 'q-1'" in t for _, t in after)

    order = stored(acme, "q-1")
    assert order is not None
    assert (order.provider_id, order.status, order.rating) == (acme.provider_id, "accepted", None)
    assert (await globex.get(ORDERS)).json()["total"] == 0
    with acme.program.db.transaction() as session:
        assert list(session.scalars(select(OrderEvent.event_id))) == []
    # globex's event IDs are its own: acme may use the same ones.
    assert (await ok(acme, EVENTS, probes[1][1]))["applied"] is True


async def test_order_endpoints_need_a_key(acme):
    calls = [
        ("post", ORDERS, {"orders": []}),
        ("post", EVENTS, {}),
        ("post", f"{ORDERS}/x/feedback", {"rating": 5}),
        ("get", ORDERS, None),
    ]
    for method, url, body in calls:
        kwargs = {"json": body} if body is not None else {}
        missing = await acme.http.request(method, url, **kwargs)
        assert missing.status_code == 401, url
        assert "missing x-api-key" in missing.json()["detail"]
        wrong = await acme.http.request(method, url, headers={"x-api-key": "pf_wrong"}, **kwargs)
        assert wrong.status_code == 401, url


async def test_list_filters_and_pages(acme):
    north, south = new_reseller(acme, "team-north"), new_reseller(acme, "team-south")
    batch = [item(acme, f"n-{i}", north, "completed", created=at(i + 1)) for i in range(5)]
    batch += [item(acme, "s-0", south, "rejected", offerId=acme.program.preferred_offer)]
    await ok(acme, ORDERS, {"orders": batch})

    first = (await acme.get(ORDERS, params={"pageSize": 4})).json()
    assert first["total"] == 6
    assert [o["itemId"] for o in first["items"]] == ["n-0", "n-1", "n-2", "n-3"]  # newest first
    assert first["items"][0] == {
        "itemId": "n-0",
        "offerId": acme.program.public_offer,
        "resellerTeamId": north,
        "serviceAddress": {"zipCode": "98101"},
        "monthlyPrice": "60.00",
        "status": "completed",
        "createdAt": iso(at(1)),
        "acceptedAt": iso(at(1)),
        "updatedAt": iso(at(1)),
        "rating": None,
    }
    rest = (await acme.get(ORDERS, params={"pageSize": 4, "page": 2})).json()
    assert [o["itemId"] for o in rest["items"]] == ["n-4", "s-0"]
    for params, expected in (
        ({"resellerTeamId": south}, ["s-0"]),
        ({"status": "rejected"}, ["s-0"]),
        ({"offerId": acme.program.preferred_offer}, ["s-0"]),
        ({"status": "completed", "resellerTeamId": south}, []),
    ):
        found = (await acme.get(ORDERS, params=params)).json()["items"]
        assert [o["itemId"] for o in found] == expected, params
    bad = await acme.get(ORDERS, params={"status": "lost"})
    assert bad.status_code == 422 and "status" in bad.json()["detail"]


async def test_values_the_database_cannot_hold_are_refused_not_a_server_error(acme):
    team = new_reseller(acme, "team-edge")
    cases: list[tuple[dict[str, Any], str]] = [
        (item(acme, "nul\x00id", team), "itemId"),
        (item(acme, "e-1", "team\x00edge"), "resellerTeamId"),
        (item(acme, "e-2", team, createdAt="0001-01-01T00:00:00+01:00"), "createdAt"),
        (item(acme, "e-3", team, updatedAt="9999-12-31T23:00:00-05:00"), "updatedAt"),
        (item(acme, "e-4", team, monthlyPrice="123456789012"), "monthlyPrice"),
    ]
    for body, says in cases:
        response = await acme.post(ORDERS, {"orders": [body]})
        assert response.status_code == 422, (body, response.text)
        assert says in response.json()["detail"], (body, response.text)
    hostile_event = event("cancelled", "ev\x00", "e-5", at(1))
    assert (await acme.post(EVENTS, hostile_event)).status_code == 422
    assert (await acme.post(f"{ORDERS}/e%00/feedback", {"rating": 3})).status_code in (404, 422)
    listed = await acme.get(ORDERS, params={"resellerTeamId": "team\x00edge"})
    assert listed.status_code == 422
    assert order_count(acme) == 0
