"""The catalogue's pages over httpx: offers (who sees each, create, change), agreements (grant,
terminate) and message templates (preview, save, reset), each going through the same service
or client call as the API, with the API's refusals shown on the page."""

from __future__ import annotations

import re

import pytest
from markupsafe import escape

from devstack.demo_data import GOOD
from models.agreement import AgreementStatus
from models.partner import EnrollmentRequest
from models.program import Tier
from models.schema import Reseller
from models.templates import CATALOGUE
from services import offers, templates
from services.templates import parse_kind
from tests.web.conftest import signed_in

# The catalogue's own SQL (services/catalog.py) runs here: on PostgreSQL too where configured.
pytestmark = pytest.mark.both_databases


async def _partners(acme, programs, db) -> tuple[str, str]:
    """Two silver partners, one named "North Fibre"."""
    north = await acme.program.add_reseller("team-north", GOOD)
    south = await acme.program.add_reseller("team-south", GOOD)
    with db.transaction() as session:
        session.get_one(Reseller, north).name = "North Fibre"
    for team in (north, south):
        await programs.enroll(acme.provider_id, team, EnrollmentRequest(tier=Tier.SILVER))
    return north, south


def _viewers(page: str) -> set[str]:
    table = page[page.index('id="viewers"') : page.index("</table>", page.index('id="viewers"'))]
    return set(re.findall(r'href="/partners/([^"]+)"', table))


async def test_offers_show_what_the_database_holds_and_who_sees_each(browser, acme, programs, db):
    north, south = await _partners(acme, programs, db)
    program = acme.program
    client, _ = await signed_in(browser, acme)

    listed = (await client.get("/offers")).text
    with db.transaction() as session:
        records, total = offers.list_offers(session, acme.provider_id)
    assert f"{total} offers" in listed
    for record in records:
        assert f'href="/offers/{record.offer_id}"' in listed
        assert f"<td>{record.visibility.value}</td>" in listed
    assert f'id="sees-{program.preferred_offer}">2<' in listed
    assert f'id="sees-{program.public_offer}">every reseller<' in listed

    page = (await client.get(f"/offers/{program.preferred_offer}")).text
    assert 'id="visibility">preferred<' in page and 'id="sees">2<' in page
    assert _viewers(page) == {north, south} and "North Fibre" in page
    assert set(program.visible_offers(north)) >= {program.preferred_offer}


async def test_an_offer_is_created_and_changed_and_a_refusal_shown_inline(
    browser, acme, programs, db
):
    north, south = await _partners(acme, programs, db)
    client, token = await signed_in(browser, acme)
    offer_id = f"{acme.provider_id}-gold-only"

    bad = await client.post(
        "/offers",
        data={"csrf": token, "offer_id": offer_id, "name": "Gold only", "monthly_price": "49.5",
              "visibility": "public", "min_tier": "gold"},
    )  # fmt: skip
    api = await client.post(
        "/provider/offers",
        json={"offerId": offer_id, "name": "Gold only", "monthlyPrice": 49.5,
              "visibility": "public", "minTier": "gold"},
        headers={"x-api-key": acme.key},
    )  # fmt: skip
    assert bad.status_code == api.status_code == 422
    assert str(escape(api.json()["detail"])) in bad.text and 'value="Gold only"' in bad.text

    created = await client.post(
        "/offers",
        data={"csrf": token, "offer_id": offer_id, "name": "Selected few", "monthly_price": "49.5",
              "visibility": "selected", "allowed_resellers": north},
    )  # fmt: skip
    assert created.status_code == 303, created.text
    page = (await client.get(created.headers["location"])).text
    assert "Offer created." in page and 'id="visibility">selected<' in page
    assert _viewers(page) == {north} and acme.program.offer_visibility(offer_id) == (
        "selected",
        [north],
    )

    changed = await client.post(
        f"/offers/{offer_id}",
        data={"csrf": token, "name": "Selected few", "monthly_price": "55",
              "visibility": "selected", "allowed_resellers": f"{north}\n{south}"},
    )  # fmt: skip
    assert changed.status_code == 303, changed.text
    page = (await client.get(changed.headers["location"])).text
    assert "Offer changed." in page and 'id="price">55.00<' in page
    assert _viewers(page) == {north, south}


async def test_an_agreement_is_granted_and_its_offer_keeps_its_audience_until_terminated(
    browser, acme, programs, db
):
    north, south = await _partners(acme, programs, db)
    offer_id = acme.program.preferred_offer
    client, token = await signed_in(browser, acme)
    assert "No agreements yet." in (await client.get("/agreements")).text

    refused = await client.post(
        "/agreements",
        data={"csrf": token, "agreement_id": "north-1", "reseller_team_id": north,
              "kind": "regional", "offer_id": offer_id, "min_monthly_orders": "5",
              "term_months": "12", "review_period": "quarterly", "cure_period_days": "30"},
    )  # fmt: skip
    assert refused.status_code == 422
    assert "a regional exclusive needs the ZIP codes of its region" in refused.text
    assert f'value="{north}"' in refused.text

    granted = await client.post(
        "/agreements",
        data={"csrf": token, "agreement_id": "north-1", "reseller_team_id": north,
              "kind": "service", "offer_id": offer_id, "min_monthly_orders": "5",
              "min_completion_rate": "0.9", "term_months": "12", "review_period": "quarterly",
              "cure_period_days": "30", "auto_renew": "on"},
    )  # fmt: skip
    assert granted.status_code == 303, granted.text
    page = (await client.get(granted.headers["location"])).text
    assert "Agreement granted." in page and 'id="status">active<' in page
    assert "at least 5" in page and "created" in page  # the terms and the history
    listed = (await client.get("/agreements")).text
    assert 'href="/agreements/north-1"' in listed and f'href="/partners/{north}"' in listed

    # The offer is exclusive now: its audience cannot change, with the API's own text.
    held = await client.post(
        f"/offers/{offer_id}",
        data={"csrf": token, "name": "Fibre", "monthly_price": "50", "visibility": "public"},
    )
    api = await client.patch(
        f"/provider/offers/{offer_id}",
        json={"visibility": "public"},
        headers={"x-api-key": acme.key},
    )
    assert held.status_code == api.status_code == 409
    assert "end or amend agreement north-1 first" in api.json()["detail"]
    assert str(escape(api.json()["detail"])) in held.text
    assert acme.program.offer_visibility(offer_id) == ("selected", [north])

    nothing = await client.post("/agreements/north-1/amend", data={"csrf": token, "reason": "x"})
    assert nothing.status_code == 422 and "an amendment changes at least one of" in nothing.text
    amended = await client.post(
        "/agreements/north-1/amend",
        data={"csrf": token, "min_monthly_orders": "8", "standards_min_rating": "4",
              "reason": "demand grew"},
    )  # fmt: skip
    assert amended.status_code == 303, amended.text
    page = (await client.get(amended.headers["location"])).text
    pending = page[page.index("From the next review period") :]
    assert "at least 8" in pending and "min rating</dt><dd>4.0" in pending
    renewed = await client.post("/agreements/north-1/renew", data={"csrf": token})
    assert renewed.status_code == 303, renewed.text
    assert "Renewed for another term." in (await client.get(renewed.headers["location"])).text

    no_reason = await client.post("/agreements/north-1/terminate", data={"csrf": token})
    assert no_reason.status_code == 422 and "reason" in no_reason.text
    ended = await client.post(
        "/agreements/north-1/terminate", data={"csrf": token, "reason": "region re-tendered"}
    )
    assert ended.status_code == 303, ended.text
    page = (await client.get(ended.headers["location"])).text
    assert "Terminated." in page and 'id="status">terminated<' in page
    assert "region re-tendered" in page and 'id="form-amend"' not in page
    state = await web_agreement(client, acme, "north-1")
    assert state is AgreementStatus.TERMINATED
    assert acme.program.offer_visibility(offer_id)[0] == "preferred"


async def web_agreement(client, acme, agreement_id: str) -> AgreementStatus:
    """The agreement's status as the API answers it."""
    answer = await client.get(
        f"/provider/agreements/{agreement_id}", headers={"x-api-key": acme.key}
    )
    assert answer.status_code == 200, answer.text
    return AgreementStatus(answer.json()["status"])


async def test_a_template_is_previewed_for_a_partner_saved_and_reset(browser, acme, programs, db):
    north, _ = await _partners(acme, programs, db)
    client, token = await signed_in(browser, acme)
    listed = (await client.get("/templates")).text
    assert 'href="/templates/welcome"' in listed and 'id="own-body-welcome">no<' in listed
    for kind in CATALOGUE:
        assert (await client.get(f"/templates/{kind.value}")).status_code == 200, kind
    assert (await client.get("/templates/no_such_kind")).status_code == 404

    body = "Hello {{ partner }} <b>&</b>, welcome aboard."
    preview = await client.post(
        "/templates/welcome",
        data={"csrf": token, "subject": "Hi {{ partner }}", "body": body,
              "reseller_team_id": north, "action": "preview"},
    )  # fmt: skip
    assert preview.status_code == 200, preview.text
    shown = preview.text[preview.text.index('id="preview-body"') :]
    assert "Hello North Fibre &lt;b&gt;&amp;&lt;/b&gt;, welcome aboard." in shown  # escaped
    assert 'id="preview-subject">Hi North Fibre<' in preview.text
    with db.transaction() as session:
        assert templates.current_template(session, acme.provider_id, parse_kind("welcome")) is None

    saved = await client.post(
        "/templates/welcome",
        data={"csrf": token, "subject": "Hi {{ partner }}", "body": body, "action": "save"},
    )
    assert saved.status_code == 303, saved.text
    page = (await client.get(saved.headers["location"])).text
    assert "Saved" in page and 'id="body-source">yours<' in page
    with db.transaction() as session:
        record = templates.current_template(session, acme.provider_id, parse_kind("welcome"))
    assert record and record.body == body and record.changed_by == "dashboard"
    assert 'id="own-body-welcome">yes<' in (await client.get("/templates")).text

    reset = await client.post("/templates/welcome/reset", data={"csrf": token})
    assert reset.status_code == 303
    page = (await client.get(reset.headers["location"])).text
    assert "shipped templates are back" in page and 'id="body-source">shipped<' in page
    with db.transaction() as session:
        record = templates.current_template(session, acme.provider_id, parse_kind("welcome"))
    assert record and not record.in_force


async def test_a_template_that_does_not_render_is_refused_naming_its_line(browser, acme, db):
    client, token = await signed_in(browser, acme)
    broken = "Hello {{ partner }}\n{% if %}"
    refused = await client.post(
        "/templates/welcome", data={"csrf": token, "body": broken, "action": "save"}
    )
    api = await client.put(
        "/provider/templates/welcome", json={"body": broken}, headers={"x-api-key": acme.key}
    )
    assert refused.status_code == api.status_code == 422
    assert "body line 2: Expected an expression" in api.json()["detail"]
    assert str(escape(api.json()["detail"])) in refused.text
    assert "{% if %}" in refused.text  # what was typed is kept
    with db.transaction() as session:
        assert templates.current_template(session, acme.provider_id, parse_kind("welcome")) is None

    sandboxed = await client.post(
        "/templates/welcome",
        data={"csrf": token, "body": "Hi\n{{ ''.__class__ }}", "action": "preview"},
    )
    assert sandboxed.status_code == 422
    assert "body line 2: not allowed: access to attribute &#39;__class__&#39;" in sandboxed.text


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/offers", {"offer_id": "x-1", "name": "X", "monthly_price": "1", "visibility": "public"}),
        ("/agreements", {"agreement_id": "x", "reseller_team_id": "team-x", "kind": "service"}),
        ("/templates/welcome", {"body": "Hi {{ partner }}", "action": "save"}),
        ("/templates/welcome/reset", {}),
    ],
)
async def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(
    browser, acme, db, path, form
):
    client, _ = await signed_in(browser, acme)
    with db.transaction() as session:
        before = offers.list_offers(session, acme.provider_id)
    answer = await client.post(path, data=form)
    assert answer.status_code == 403 and "security token" in answer.text
    with db.transaction() as session:
        assert offers.list_offers(session, acme.provider_id) == before
        assert templates.current_templates(session, acme.provider_id) == {}


async def test_another_providers_offer_and_agreement_are_not_found(
    browser, acme, globex, programs, db
):
    north, _ = await _partners(acme, programs, db)
    owner, token = await signed_in(browser, acme)
    granted = await owner.post(
        "/agreements",
        data={"csrf": token, "agreement_id": "mine", "reseller_team_id": north,
              "kind": "service", "offer_id": acme.program.preferred_offer,
              "min_monthly_orders": "1", "auto_renew": "on"},
    )  # fmt: skip
    assert granted.status_code == 303, granted.text

    client, other = await signed_in(browser, globex)
    offer_id = acme.program.public_offer
    assert (await client.get(f"/offers/{offer_id}")).status_code == 404
    changed = await client.post(
        f"/offers/{offer_id}",
        data={"csrf": other, "name": "mine now", "monthly_price": "1", "visibility": "public"},
    )
    assert changed.status_code == 404
    assert offer_id not in (await client.get("/offers")).text
    assert (await client.get("/agreements/mine")).status_code == 404
    ended = await client.post(
        "/agreements/mine/terminate", data={"csrf": other, "reason": "not yours to end"}
    )
    assert ended.status_code == 404
    assert "mine" not in (await client.get("/agreements")).text.split("<main>")[1].split("Grant")[0]
    assert await web_agreement(owner, acme, "mine") is AgreementStatus.ACTIVE
    with db.transaction() as session:
        assert offers.get_offer(session, acme.provider_id, offer_id).name != "mine now"
