"""The dashboard's sessions: signing in with a key, the cookie's flags, CSRF on every form,
revoked keys, and one provider never reaching another's partners."""

from __future__ import annotations

import pytest

from devstack.demo_data import GOOD
from models.partner import EnrollmentRequest, PartnerStatus
from models.program import Tier
from services.providers import revoke_keys
from tests.web.conftest import sign_in, signed_in

SIGN_IN = "/sign-in"


async def _enrolled(provider, programs, name: str = "team-good") -> str:
    team: str = await provider.program.add_reseller(name, GOOD)
    await programs.enroll(provider.provider_id, team, EnrollmentRequest(tier=Tier.SILVER))
    return team


@pytest.mark.parametrize(
    "path", ["/", "/partners", "/partners/team-x", "/reviews", "/partners.csv"]
)
async def test_without_a_session_every_page_sends_the_browser_to_sign_in(browser, path):
    answer = await browser().get(path)
    assert answer.status_code == 303 and answer.headers["location"] == SIGN_IN


async def test_a_post_without_a_session_changes_nothing_and_asks_to_sign_in(
    browser, acme, programs
):
    team = await _enrolled(acme, programs)
    answer = await browser().post(f"/partners/{team}/notes", data={"text": "sneaky"})
    assert answer.status_code == 303 and answer.headers["location"] == SIGN_IN
    assert (await programs.state(acme.provider_id, team)).notes == []


async def test_a_key_signs_in_with_a_cookie_that_is_httponly_lax_signed_and_expiring(browser, acme):
    client = browser()
    refused = await sign_in(client, "pf_not-a-key")
    assert refused.status_code == 401
    assert "unknown or has been revoked" in refused.text
    assert "partnerflow_session" not in client.cookies

    answer = await sign_in(client, acme.key)
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    assert acme.key not in str(answer.request.url)  # the key travels in the body only
    cookie = next(
        value
        for name, value in answer.headers.multi_items()
        if name == "set-cookie" and value.startswith("partnerflow_session=")
    ).lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert "max-age=28800" in cookie and "secure" not in cookie
    assert acme.key.lower() not in cookie and acme.provider_id in (await client.get("/")).text


async def test_over_https_the_cookie_is_secure(browser, acme):
    answer = await sign_in(browser("https://partnerflow"), acme.key)
    cookie = answer.headers["set-cookie"].lower()
    assert answer.status_code == 303 and "secure" in cookie


async def test_an_altered_or_expired_cookie_is_no_session(browser, acme, monkeypatch):
    client, _ = await signed_in(browser, acme)
    value = client.cookies["partnerflow_session"]
    client.cookies.set(
        "partnerflow_session", value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1]
    )
    assert (await client.get("/")).headers["location"] == SIGN_IN

    client, _ = await signed_in(browser, acme)
    monkeypatch.setattr("web.session.SESSION_SECONDS", -1)  # every session is now too old
    assert (await client.get("/")).headers["location"] == SIGN_IN


async def test_a_session_signed_with_another_secret_key_is_no_session(browser, acme, monkeypatch):
    from store.secret_box import SECRET_KEY_VARIABLE, new_key

    client, _ = await signed_in(browser, acme)
    monkeypatch.setenv(SECRET_KEY_VARIABLE, new_key())
    assert (await client.get("/")).headers["location"] == SIGN_IN


async def test_revoking_the_key_ends_its_sessions(browser, acme, db):
    client, _ = await signed_in(browser, acme)
    with db.transaction() as session:
        assert revoke_keys(session, acme.provider_id) == 1
    answer = await client.get("/")
    assert answer.status_code == 303 and answer.headers["location"] == SIGN_IN
    assert (await sign_in(browser(), acme.key)).status_code == 401


@pytest.mark.parametrize("token", [None, "", "forged-token"])
async def test_a_post_without_the_sessions_csrf_token_is_refused_and_changes_nothing(
    browser, acme, programs, token
):
    team = await _enrolled(acme, programs)
    client, _ = await signed_in(browser, acme)
    form = {"text": "from another site", "kind": "other"}
    if token is not None:
        form["csrf"] = token
    answer = await client.post(f"/partners/{team}/notes", data=form)
    assert answer.status_code == 403 and "Nothing was changed" in answer.text
    flagged = await client.post(
        f"/partners/{team}/at-risk", data={**form, "reason": "late installs since May"}
    )
    assert flagged.status_code == 403
    state = await programs.state(acme.provider_id, team)
    assert state.notes == [] and state.status is PartnerStatus.PREFERRED
    assert (await client.post("/sign-out", data=form)).status_code == 403
    assert (await client.get("/")).status_code == 200  # still signed in


async def test_a_token_of_another_session_is_refused(browser, acme, programs):
    team = await _enrolled(acme, programs)
    client, _ = await signed_in(browser, acme)
    _, other_token = await signed_in(browser, acme)
    answer = await client.post(f"/partners/{team}/notes", data={"text": "x", "csrf": other_token})
    assert answer.status_code == 403


async def test_the_sign_in_form_needs_its_own_token(browser, acme):
    client = browser()
    answer = await client.post(SIGN_IN, data={"api_key": acme.key})
    assert answer.status_code == 403 and "partnerflow_session" not in client.cookies


async def test_sign_out_ends_the_session(browser, acme):
    client, token = await signed_in(browser, acme)
    answer = await client.post("/sign-out", data={"csrf": token})
    assert answer.status_code == 303 and answer.headers["location"] == SIGN_IN
    assert (await client.get("/")).headers["location"] == SIGN_IN


async def test_another_providers_partner_is_not_found_and_not_changed(
    browser, acme, globex, programs
):
    team = await _enrolled(acme, programs, "team-acmes")
    client, token = await signed_in(browser, globex)

    page = await client.get(f"/partners/{team}")
    assert page.status_code == 404 and f"is not a partner of provider {globex.provider_id}" in (
        page.text
    )
    for action, form in [
        ("notes", {"text": "a note from globex"}),
        ("at-risk", {"reason": "late installs since May"}),
        ("remove", {"reason": "did not recover in time"}),
    ]:
        answer = await client.post(f"/partners/{team}/{action}", data={**form, "csrf": token})
        assert answer.status_code == 404, (action, answer.text)
    state = await programs.state(acme.provider_id, team)
    assert state.notes == [] and state.status is PartnerStatus.PREFERRED

    listed = await client.get("/partners")
    assert team not in listed.text
    exported = await client.get("/partners.csv")
    assert team not in exported.text and exported.text.startswith("resellerTeamId,")


async def test_the_pages_are_not_in_the_openapi_document(browser):
    paths = (await browser().get("/openapi.json")).json()["paths"]
    pages = {"/", "/sign-in", "/sign-out", "/partners", "/partners.csv", "/reviews"}
    assert not [p for p in paths if p in pages or p.startswith(("/partners/", "/reviews/"))]


async def test_the_stylesheet_is_served_by_partnerflow(browser):
    answer = await browser().get("/static/dashboard.css")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/css")


async def test_without_a_secret_key_sign_in_says_what_the_operator_must_set(browser, monkeypatch):
    monkeypatch.delenv("PARTNERFLOW_SECRET_KEY")
    answer = await browser().get(SIGN_IN)
    assert answer.status_code == 503 and "PARTNERFLOW_SECRET_KEY" in answer.text
    assert 'name="api_key"' not in answer.text
