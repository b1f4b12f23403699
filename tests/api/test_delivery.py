"""`/provider/delivery`, partners' contacts and `/provider/notifications` over HTTP: secrets go
in and never come out, bad addresses are refused with the field named, and a partner's bad
address is recorded and shown without holding the partner back."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from clients.requests import poll_until
from devstack.demo_data import GOOD
from tests.api.conftest import ProviderApi
from tests.api.test_partners import enroll
from tests.helpers import replay_histories
from tests.receivers import WebhookRequest, webhook_receiver

DELIVERY = "/provider/delivery"
NOTIFICATIONS = "/provider/notifications"

pytestmark = pytest.mark.usefixtures("local_webhooks")  # receivers on loopback, over http


def contact_url(team: str) -> str:
    return f"/provider/partners/{team}/contact"


async def patched(api: ProviderApi, body: dict[str, Any]) -> dict[str, Any]:
    response = await api.patch(DELIVERY, body)
    assert response.status_code == 200, response.text
    view: dict[str, Any] = response.json()
    return view


async def test_a_provider_starts_on_the_log_channel(acme):
    response = await acme.get(DELIVERY)
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["channel"] == "log"
    assert (view["smtpPasswordSet"], view["webhookSecretSet"]) == (False, False)
    assert view["webhookSecret"] is None


async def test_smtp_settings_are_kept_and_the_password_never_shown(acme):
    view = await patched(
        acme,
        {
            "channel": "email",
            "smtpHost": "smtp.acme.example",
            "smtpPort": 465,
            "smtpSecurity": "tls",
            "smtpUsername": "partners",
            "smtpPassword": "hunter2-but-longer",
            "fromAddress": "partners@acme.example",
        },
    )
    assert (view["channel"], view["smtpHost"], view["smtpPort"]) == (
        "email",
        "smtp.acme.example",
        465,
    )
    assert view["smtpSecurity"] == "tls" and view["smtpPasswordSet"] is True
    read = await acme.get(DELIVERY)
    for answer in (str(view), read.text):
        assert "hunter2" not in answer

    # A field left out keeps its value; null clears one.
    view = await patched(acme, {"smtpPort": 2525, "smtpUsername": None, "smtpPassword": None})
    assert (view["smtpPort"], view["smtpUsername"], view["smtpPasswordSet"]) == (2525, None, False)
    assert view["smtpHost"] == "smtp.acme.example"


async def test_switching_to_webhooks_makes_a_secret_shown_once(acme):
    first = await patched(acme, {"channel": "webhook"})
    secret = first["webhookSecret"]
    assert secret.startswith("whsec_") and first["webhookSecretSet"] is True
    read = await acme.get(DELIVERY)
    assert read.json()["webhookSecret"] is None and secret not in read.text
    again = await patched(acme, {"providerWebhookUrl": "https://ops.acme.example/hooks"})
    assert again["webhookSecret"] is None

    rotated = await acme.post(f"{DELIVERY}/webhook-secret")
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["webhookSecret"] not in (None, secret)

    own = await patched(acme, {"webhookSecret": "whsec_one-we-chose-ourselves"})
    assert own["webhookSecret"] is None and "one-we-chose" not in str(own)


async def test_bad_settings_are_refused_with_the_field_named_and_nothing_changed(acme):
    cases = [
        ({"channel": "email"}, "the email channel needs an SMTP host and a from address"),
        ({"channel": "pigeon"}, "channel"),
        ({"smtpPort": 70000}, "smtpPort"),
        ({"smtpHost": "smtp acme"}, "smtpHost: must be a host name"),
        ({"fromAddress": "not-an-address"}, "fromAddress: value is not a valid email address"),
        ({"providerWebhookUrl": "ftp://acme.example/x"}, "providerWebhookUrl: must be an http"),
        ({"webhookSecret": "short"}, "webhookSecret"),
        ({"smtpPassword": "pw"}, "an SMTP password needs an SMTP username"),
        ({"colour": "red"}, "colour"),
    ]
    for body, says in cases:
        response = await acme.patch(DELIVERY, body)
        assert response.status_code == 422, (body, response.text)
        assert says in response.json()["detail"], (body, response.text)
    assert (await acme.get(DELIVERY)).json()["channel"] == "log"


async def test_a_partners_contact_is_validated_and_falls_back_to_the_resellers_email(acme, globex):
    team = await acme.program.add_reseller("team-mail", GOOD)
    read = await acme.get(contact_url(team))
    assert read.status_code == 200, read.text
    assert read.json() == {
        "resellerTeamId": team,
        "email": None,
        "webhookUrl": None,
        "resellerEmail": f"partners@{team}.example",
        "updatedAt": None,
    }
    put = await acme.put(
        contact_url(team), {"email": "ops@team-mail.example", "webhookUrl": "https://t.example/h"}
    )
    assert put.status_code == 200, put.text
    assert (put.json()["email"], put.json()["webhookUrl"]) == (
        "ops@team-mail.example",
        "https://t.example/h",
    )
    assert (await globex.get(contact_url(team))).status_code == 404, "acme's reseller only"

    cases = [
        ({"email": "ops at team"}, 422, "email: value is not a valid email address"),
        ({"webhookUrl": "not a url"}, 422, "webhookUrl: must be a URL without spaces"),
        ({"webhookUrl": "https://user:pw@t.example/h"}, 422, "must not carry a user name"),
        ({"webhookUrl": "mailto:ops@t.example"}, 422, "must be an http:// or https:// URL"),
    ]
    for body, code, says in cases:
        response = await acme.put(contact_url(team), body)
        assert response.status_code == code, (body, response.text)
        assert says in response.json()["detail"], (body, response.text)
    unknown = await acme.put(contact_url("team-nobody"), {"email": "a@b.example"})
    assert unknown.status_code == 404 and "team-nobody is not a partner or" in unknown.text
    cleared = await acme.put(contact_url(team), {})
    assert (cleared.json()["email"], cleared.json()["webhookUrl"]) == (None, None)


async def test_a_bounced_address_is_shown_and_the_partner_still_enrolled(acme, globex):
    good = await acme.program.add_reseller("team-good", GOOD)
    gone = await acme.program.add_reseller("team-gone", GOOD)
    nowhere = await acme.program.add_reseller("team-nowhere", GOOD)

    def answer(request: WebhookRequest, earlier: int) -> int:
        return 404 if request.path.endswith(gone) else 200

    with webhook_receiver(answer=answer) as receiver:
        await patched(acme, {"channel": "webhook"})
        for team in (good, gone):
            response = await acme.put(contact_url(team), {"webhookUrl": receiver.url(f"/{team}")})
            assert response.status_code == 200, response.text
        partners = [await enroll(acme, team) for team in (good, gone, nowhere)]
        assert all(p["status"] == "preferred" for p in partners)

        async def settled() -> dict[str, Any]:
            response = await acme.get(NOTIFICATIONS, params={"kind": "welcome"})
            page: dict[str, Any] = response.json()
            return page

        await poll_until(
            settled,
            lambda page: (
                page["total"] == 3
                and all(item["status"] in ("sent", "bounced", "failed") for item in page["items"])
            ),
            timeout=15,
        )

    bounced = (await acme.get(NOTIFICATIONS, params={"status": "bounced"})).json()
    assert bounced["total"] == 1
    [item] = bounced["items"]
    assert (item["resellerTeamId"], item["kind"], item["channel"]) == (gone, "welcome", "webhook")
    assert item["address"] == receiver.url(f"/{gone}") and item["attempts"] == 1
    assert "refused the message: HTTP 404" in item["lastError"]
    assert item["subject"] and "orders" in item["body"]

    [failed] = (await acme.get(NOTIFICATIONS, params={"status": "failed"})).json()["items"]
    assert failed["resellerTeamId"] == nowhere and failed["address"] is None
    assert failed["lastError"].startswith(f"no webhook URL for {nowhere}")

    [sent] = (await acme.get(NOTIFICATIONS, params={"resellerTeamId": good})).json()["items"]
    assert (sent["status"], sent["sentAt"] is not None) == ("sent", True)
    one = await acme.get(f"{NOTIFICATIONS}/{sent['id']}")
    assert one.status_code == 200 and one.json() == sent

    for team in (good, gone, nowhere):
        partner = (await acme.get(f"/provider/partners/{team}")).json()
        assert partner["status"] == "preferred", team

    first_page = (await acme.get(NOTIFICATIONS, params={"pageSize": 2})).json()
    second_page = (await acme.get(NOTIFICATIONS, params={"pageSize": 2, "page": 2})).json()
    assert (first_page["total"], len(first_page["items"]), len(second_page["items"])) == (3, 2, 1)
    ids = [i["id"] for i in first_page["items"] + second_page["items"]]
    assert ids == sorted(ids, reverse=True), "the latest first"

    assert (await globex.get(NOTIFICATIONS)).json()["total"] == 0
    assert (await globex.get(f"{NOTIFICATIONS}/{sent['id']}")).status_code == 404


async def test_bad_outbox_queries_get_a_4xx(acme):
    cases = [
        ({"status": "lost"}, "status"),
        ({"kind": "postcard"}, "kind"),
        ({"pageSize": 0}, "pageSize"),
        ({"resellerTeamId": "a/b"}, "resellerTeamId"),
    ]
    for params, says in cases:
        response = await acme.get(NOTIFICATIONS, params=params)
        assert response.status_code == 422, (params, response.text)
        assert says in response.json()["detail"], (params, response.text)
    missing = await acme.get(f"{NOTIFICATIONS}/999999")
    assert missing.status_code == 404 and "no message 999999" in missing.text


async def test_a_provider_fixes_the_addresses_and_sends_the_messages_again(acme, globex):
    good = await acme.program.add_reseller("team-good", GOOD)
    moved = await acme.program.add_reseller("team-moved", GOOD)
    nowhere = await acme.program.add_reseller("team-nowhere", GOOD)

    def answer(request: WebhookRequest, earlier: int) -> int:
        return 404 if request.path.startswith("/old/") else 200

    async def welcome_of(team: str) -> dict[str, Any]:
        page = (await acme.get(NOTIFICATIONS, params={"resellerTeamId": team})).json()
        if not page["items"]:  # the welcome is recorded just after the enrollment answers
            return {"status": "not recorded yet"}
        [item] = page["items"]
        found: dict[str, Any] = item
        return found

    def settled(item: dict[str, Any]) -> bool:
        return item["status"] in ("sent", "bounced", "failed")

    with webhook_receiver(answer=answer) as receiver:
        await patched(acme, {"channel": "webhook"})
        await acme.put(contact_url(good), {"webhookUrl": receiver.url(f"/new/{good}")})
        await acme.put(contact_url(moved), {"webhookUrl": receiver.url(f"/old/{moved}")})
        for team in (good, moved, nowhere):
            await enroll(acme, team)
        sent, bounced, failed = [
            await poll_until(partial(welcome_of, team), settled, timeout=15)
            for team in (good, moved, nowhere)
        ]
        assert (sent["status"], bounced["status"], failed["status"]) == (
            "sent",
            "bounced",
            "failed",
        )

        refused = await acme.post(f"{NOTIFICATIONS}/{sent['id']}/resend")
        assert refused.status_code == 409 and "is sent" in refused.json()["detail"]
        elsewhere = await globex.post(f"{NOTIFICATIONS}/{bounced['id']}/resend")
        assert elsewhere.status_code == 404
        bad = await acme.post(f"{NOTIFICATIONS}/resend", {"status": "sent"})
        assert bad.status_code == 422 and "status" in bad.json()["detail"]

        await acme.put(contact_url(moved), {"webhookUrl": receiver.url(f"/new/{moved}")})
        await acme.put(contact_url(nowhere), {"webhookUrl": receiver.url(f"/new/{nowhere}")})
        one = await acme.post(f"{NOTIFICATIONS}/{bounced['id']}/resend")
        assert one.status_code == 202, one.text
        assert one.json()["workflowId"] == f"delivery/{bounced['idempotencyKey']}"
        batch = await acme.post(f"{NOTIFICATIONS}/resend", {"resellerTeamId": nowhere})
        assert batch.status_code == 202, batch.text
        assert [r["notification"]["id"] for r in batch.json()["resent"]] == [failed["id"]]
        assert (batch.json()["underWay"], batch.json()["remaining"]) == ([], 0)

        delivered = [
            await poll_until(partial(welcome_of, team), lambda i: i["status"] == "sent", timeout=15)
            for team in (moved, nowhere)
        ]
    for item, tries in zip(delivered, (2, 1), strict=True):  # no try without a contact
        assert item["address"].startswith(receiver.url("/new/"))
        assert item["attempts"] == tries and item["resentAt"] is not None
    assert sorted(m["resellerTeamId"] for m in receiver.messages.values()) == sorted(
        [good, moved, nowhere]
    ), "each welcome reached its partner once"
    again = await acme.post(f"{NOTIFICATIONS}/resend", {})
    assert again.json() == {"resent": [], "underWay": [], "remaining": 0}
    workflows = {one.json()["workflowId"], batch.json()["resent"][0]["workflowId"]}
    assert acme.program.env is not None
    await replay_histories(acme.program.env.client, workflows, label="resent")


async def test_without_a_secret_key_a_secret_is_refused_with_503_saying_what_to_set(
    acme, monkeypatch
):
    monkeypatch.delenv("PARTNERFLOW_SECRET_KEY")
    response = await acme.patch(DELIVERY, {"channel": "webhook"})
    assert response.status_code == 503, response.text
    detail = response.json()["detail"]
    assert "store the webhook signing secret of provider" in detail
    assert "PARTNERFLOW_SECRET_KEY" in detail and "partnerflow secrets new-key" in detail
    assert "whsec_" not in response.text
    assert (await acme.get(DELIVERY)).json()["channel"] == "log"  # nothing stored
    assert (await acme.post(f"{DELIVERY}/webhook-secret")).status_code == 503
