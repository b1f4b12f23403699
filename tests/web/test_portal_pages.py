"""The reseller's portal over httpx: signing in with a reseller key (good, unknown, revoked, a
provider's), CSRF on its forms, what each page shows, and isolation: a reseller never reads
another reseller's figures, messages, scorecards or feedback, nor a provider's internal
notes, whatever it puts in a URL; and a provider's session never opens the portal, nor a
reseller's the dashboard."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pytest
from markupsafe import escape
from sqlalchemy import update
from temporalio.testing import WorkflowEnvironment

from devstack.demo_data import GOOD, SLIPPING, WEAK
from models.database import Database
from models.partner import AtRiskFlag, EnrollmentRequest
from models.program import Tier
from models.schema import Notification, Offer, PartnerNote, Reseller, ResellerFeedback, utcnow
from services import portal
from services.portal import CriterionGap
from services.reseller_keys import list_reseller_keys, revoke_reseller_key
from tests.api.conftest import ProviderApi
from tests.api.test_reviews import completed, seed, start
from tests.web.conftest import (
    PORTAL_SIGN_IN,
    Provider,
    new_provider,
    portal_sign_in,
    portal_signed_in,
    reseller_key,
    sign_in,
    signed_in,
)
from web.portal_context import bar, criterion_text

# The portal's reads (services/portal.py) run here: on PostgreSQL too where configured.
pytestmark = pytest.mark.both_databases

PORTAL_COOKIE = "partnerflow_portal_session"
AT_RISK_REASON = "late installs since May"


@dataclass
class World:
    good: str
    slipping: str
    outsider: str
    good_key: str
    slipping_key: str
    outsider_key: str


async def _world(acme, programs, db) -> World:
    """A silver partner in good standing, one at risk, and a reseller that is on no list but
    sees the provider's public offer; each with a portal key."""
    good = await acme.program.add_reseller("team-good", GOOD)
    slipping = await acme.program.add_reseller("team-slipping", SLIPPING)
    outsider = await acme.program.add_reseller("team-outsider", WEAK)
    with db.transaction() as session:
        session.get_one(Reseller, good).name = "Good Fibre Co"
    for team in (good, slipping):
        await programs.enroll(acme.provider_id, team, EnrollmentRequest(tier=Tier.SILVER))
    await programs.apply(
        acme.provider_id, slipping, AtRiskFlag(reason=AT_RISK_REASON, grace_days=45)
    )
    return World(
        good,
        slipping,
        outsider,
        reseller_key(db, good),
        reseller_key(db, slipping),
        reseller_key(db, outsider),
    )


def _note(db, provider_id: str, team: str, text: str, visibility: str) -> None:
    with db.transaction() as session:
        session.add(
            PartnerNote(
                idempotency_key=f"test-note/{uuid.uuid4().hex}",
                provider_id=provider_id,
                reseller_team_id=team,
                kind="call",
                text=text,
                author="acme account manager",
                created_at=utcnow(),
                visibility=visibility,
            )
        )


def _message(db, provider_id: str, team: str, subject: str, body: str) -> int:
    with db.transaction() as session:
        row = Notification(
            idempotency_key=f"test-message/{uuid.uuid4().hex}",
            provider_id=provider_id,
            reseller_team_id=team,
            recipient="partner",
            kind="at_risk_warning",
            channel="email",
            subject=subject,
            body=body,
            status="sent",
            sent_at=utcnow(),
        )
        session.add(row)
        session.flush()
        return row.id


def _hidden_provider(env: WorkflowEnvironment, db: Database) -> Provider:
    """A provider whose offers are all for its partners: a reseller on no list of its sees
    none of them, so its program is not open to it."""
    hidden = new_provider(env, db)
    with db.transaction() as session:
        session.execute(
            update(Offer)
            .where(Offer.provider_id == hidden.provider_id)
            .values(visibility="preferred")
        )
    return hidden


# Signing in


@pytest.mark.parametrize(
    "path",
    [
        "/portal",
        "/portal/programs/anything",
        "/portal/agreements",
        "/portal/messages",
        "/portal/messages/1",
        "/portal/scorecards",
        "/portal/programs/anything/scorecards/2026-Q3",
        "/portal/feedback",
    ],
)
async def test_without_a_portal_session_every_page_sends_the_browser_to_the_portals_sign_in(
    browser, path
):
    answer = await browser().get(path)
    assert answer.status_code == 303 and answer.headers["location"] == PORTAL_SIGN_IN


async def test_a_reseller_key_signs_in_with_a_cookie_of_the_portals_own(
    browser, acme, programs, db
):
    world = await _world(acme, programs, db)
    client = browser()
    refused = await portal_sign_in(client, "pfr_not-a-key")
    assert refused.status_code == 401 and "unknown or has been revoked" in refused.text
    provider_key = await portal_sign_in(client, acme.key)
    assert provider_key.status_code == 401 and "provider&#39;s API key" in provider_key.text
    assert PORTAL_COOKIE not in client.cookies

    answer = await portal_sign_in(client, world.good_key)
    assert answer.status_code == 303 and answer.headers["location"] == "/portal"
    assert world.good_key not in str(answer.request.url)  # in the body only
    cookie = next(
        value
        for name, value in answer.headers.multi_items()
        if name == "set-cookie" and value.startswith(f"{PORTAL_COOKIE}=")
    ).lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert "max-age=28800" in cookie and world.good_key.lower() not in cookie
    assert "partnerflow_session" not in client.cookies  # not a provider's session

    page = (await client.get("/portal")).text
    assert "Good Fibre Co" in page and 'action="/portal/sign-out"' in page


async def test_a_revoked_reseller_key_ends_its_sessions_and_signs_in_no_more(
    browser, acme, programs, db
):
    world = await _world(acme, programs, db)
    client, _ = await portal_signed_in(browser, world.good_key)
    with db.transaction() as session:
        (key,) = list_reseller_keys(session, world.good)
        revoke_reseller_key(session, world.good, key.id)
    answer = await client.get("/portal")
    assert answer.status_code == 303 and answer.headers["location"] == PORTAL_SIGN_IN
    assert (await portal_sign_in(browser(), world.good_key)).status_code == 401
    # The team's other key still works.
    await portal_signed_in(browser, reseller_key(db, world.good))


async def test_the_portals_forms_need_the_sessions_token(browser, acme, programs, db):
    world = await _world(acme, programs, db)
    no_token = browser()
    answer = await no_token.post(PORTAL_SIGN_IN, data={"reseller_key": world.good_key})
    assert answer.status_code == 403 and PORTAL_COOKIE not in no_token.cookies

    client, token = await portal_signed_in(browser, world.good_key)
    form = {"provider_id": acme.provider_id, "kind": "process_improvement", "text": "faster"}
    for sent in (form, {**form, "csrf": "forged"}):
        refused = await client.post("/portal/feedback", data=sent)
        assert refused.status_code == 403 and "Nothing was changed" in refused.text
        assert (await client.post("/portal/sign-out", data=sent)).status_code == 403
    with db.transaction() as session:
        assert session.query(ResellerFeedback).count() == 0
    assert (await client.get("/portal")).status_code == 200  # still signed in

    out = await client.post("/portal/sign-out", data={"csrf": token})
    assert out.status_code == 303 and out.headers["location"] == PORTAL_SIGN_IN
    assert (await client.get("/portal")).headers["location"] == PORTAL_SIGN_IN


async def test_a_providers_session_never_opens_the_portal_nor_a_resellers_the_dashboard(
    browser, acme, programs, db
):
    world = await _world(acme, programs, db)
    provider, _ = await signed_in(browser, acme)
    assert (await provider.get("/portal")).headers["location"] == PORTAL_SIGN_IN
    # Its cookie's value under the portal's name: signed with another salt, so no session.
    forged = browser()
    forged.cookies.set(PORTAL_COOKIE, provider.cookies["partnerflow_session"])
    assert (await forged.get("/portal")).headers["location"] == PORTAL_SIGN_IN

    reseller, _ = await portal_signed_in(browser, world.good_key)
    for path in ("/", "/partners", f"/partners/{world.good}", "/feedback"):
        answer = await reseller.get(path)
        assert answer.status_code == 303 and answer.headers["location"] == "/sign-in", path
    forged = browser()
    forged.cookies.set("partnerflow_session", reseller.cookies[PORTAL_COOKIE])
    assert (await forged.get("/")).headers["location"] == "/sign-in"
    # Nor does a reseller key reach the dashboard's sign-in.
    assert (await sign_in(browser(), world.good_key)).status_code == 401


# The pages


async def test_the_programs_page_lists_status_tier_and_days_left(
    browser, env, acme, globex, programs, db
):
    world = await _world(acme, programs, db)
    hidden = _hidden_provider(env, db)
    client, _ = await portal_signed_in(browser, world.slipping_key)
    page = (await client.get("/portal")).text
    table = page[page.index('id="programs"') :]
    row = table[table.index(f"/portal/programs/{acme.provider_id}") :].split("</tr>")[0]
    assert "at risk" in row and "silver" in row
    assert re.search(r"4[45] days left</strong>, until \d{4}-\d\d-\d\d", row)
    # globex's public offer opens its program to everyone: not on its list, bronze.
    other = table[table.index(f"/portal/programs/{globex.provider_id}") :].split("</tr>")[0]
    assert "not on the preferred list" in other and "bronze" in other
    assert hidden.provider_id not in page


async def test_an_at_risk_partner_sees_its_deadline_what_to_fix_and_the_next_tier(
    browser, acme, programs, db, clock
):
    world = await _world(acme, programs, db)
    client, _ = await portal_signed_in(browser, world.slipping_key)
    answer = await client.get(f"/portal/programs/{acme.provider_id}")
    assert answer.status_code == 200, answer.text
    page = answer.text
    with db.transaction() as session:
        standing = portal.standing(session, acme.provider_id, world.slipping, clock())
    assert standing.grace_deadline and standing.days_left is not None
    assert (
        f"At risk: {standing.days_left} days left, until {standing.grace_deadline:%Y-%m-%d}" in page
    )
    assert AT_RISK_REASON in page
    assert standing.to_fix, "SLIPPING misses silver on its figures"
    fix = page[page.index('id="to-fix"') : page.index("</ul>", page.index('id="to-fix"'))]
    for gap in standing.to_fix:
        assert gap.needs and str(escape(gap.needs)) in fix
    assert 'id="tier">silver<' in page and 'id="status">at risk<' in page
    assert standing.current_tier and standing.next_tier
    # Its tier's criteria and gold's, as bars with the value, the line and what it takes.
    own = page[page.index('id="own-tier"') : page.index("</figure>", page.index('id="own-tier"'))]
    assert own.count('class="portal-bar"') == len(standing.current_tier.criteria)
    nxt = page[page.index('id="next-tier"') :]
    assert "The next tier, gold" in nxt
    for gap in standing.next_tier.criteria:
        assert str(escape(gap.label)) in nxt
        if gap.needs:
            assert str(escape(gap.needs)) in nxt
    assert "more orders a month" in nxt  # gold needs more orders than SLIPPING's 14
    # The figures over the window, and the offers with the price it gets and why.
    assert f"Over {standing.window}" in page
    offers = page[page.index('id="offers"') :]
    assert acme.program.public_offer in offers and "Public: every reseller" in offers
    assert acme.program.preferred_offer in offers and "Your tier: for silver" in offers
    assert acme.program.gold_offer not in offers


async def test_a_reseller_on_no_list_sees_the_published_silver_criteria(
    browser, acme, programs, db
):
    world = await _world(acme, programs, db)
    client, _ = await portal_signed_in(browser, world.outsider_key)
    page = (await client.get(f"/portal/programs/{acme.provider_id}")).text
    assert 'id="status">not on the preferred list<' in page and 'id="tier">bronze<' in page
    assert 'id="own-tier"' not in page and 'id="at-risk"' not in page
    assert "The next tier, silver" in page
    assert "more orders a month" in page  # WEAK's 4 orders a month against silver's line
    assert acme.program.preferred_offer not in page


async def test_only_the_notes_the_provider_shared_with_this_partner_show(
    browser, acme, programs, db
):
    world = await _world(acme, programs, db)
    _note(db, acme.provider_id, world.good, "shared: thanks for the quick installs", "partner")
    _note(db, acme.provider_id, world.good, "internal: thinking of dropping them", "internal")
    _note(db, acme.provider_id, world.slipping, "shared with slipping only", "partner")
    client, _ = await portal_signed_in(browser, world.good_key)
    page = (await client.get(f"/portal/programs/{acme.provider_id}")).text
    notes = page[page.index('id="notes"') :]
    assert "shared: thanks for the quick installs" in notes
    assert "internal: thinking of dropping them" not in page
    assert "shared with slipping only" not in page


async def test_messages_are_paged_newest_first_and_a_body_is_shown_as_text(
    browser, acme, programs, db
):
    world = await _world(acme, programs, db)
    first = _message(db, acme.provider_id, world.good, "First of two", "hello")
    second = _message(
        db, acme.provider_id, world.good, "Second <b>bold</b>", "<script>alert(1)</script>\nbye"
    )
    theirs = _message(db, acme.provider_id, world.slipping, "For slipping only", "secret")
    client, _ = await portal_signed_in(browser, world.good_key)
    listed = (await client.get("/portal/messages")).text
    assert listed.index("Second &lt;b&gt;bold&lt;/b&gt;") < listed.index("First of two")
    assert "For slipping only" not in listed
    assert f'href="/portal/messages/{first}"' in listed

    opened = await client.get(f"/portal/messages/{second}")
    assert opened.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in opened.text
    assert "<script>" not in opened.text

    for other in (theirs, 10**9):
        refused = await client.get(f"/portal/messages/{other}")
        assert refused.status_code == 404 and "secret" not in refused.text
        assert "Back to your programs" in refused.text  # the portal's own error page


async def test_a_provider_it_does_not_see_is_not_found_whatever_the_url(
    browser, env, acme, programs, db
):
    world = await _world(acme, programs, db)
    hidden = _hidden_provider(env, db)
    client, _ = await portal_signed_in(browser, world.good_key)
    for provider_id in (hidden.provider_id, "no-such-provider"):
        for path in (
            f"/portal/programs/{provider_id}",
            f"/portal/programs/{provider_id}/scorecards/2026-Q3",
        ):
            answer = await client.get(path)
            assert answer.status_code == 404, (path, answer.text)
            assert "Not found" in answer.text and "Back to your programs" in answer.text
    nonsense = await client.get(f"/portal/programs/{acme.provider_id}/scorecards/2026-Q9")
    assert nonsense.status_code == 404 and "YYYY-Qn" in nonsense.text


async def test_agreements_show_their_terms_and_the_exclusive_offer_says_why(
    browser, acme, programs, db
):
    world = await _world(acme, programs, db)
    provider, token = await signed_in(browser, acme)
    granted = await provider.post(
        "/agreements",
        data={"csrf": token, "agreement_id": "good-1", "reseller_team_id": world.good,
              "kind": "service", "offer_id": acme.program.preferred_offer,
              "min_monthly_orders": "5", "min_completion_rate": "0.9", "term_months": "12",
              "review_period": "quarterly", "cure_period_days": "30", "auto_renew": "on"},
    )  # fmt: skip
    assert granted.status_code == 303, granted.text

    client, _ = await portal_signed_in(browser, world.good_key)
    page = (await client.get("/portal/agreements")).text
    card = page[page.index('id="agreement-good-1"') :]
    assert "active" in card and "min monthly orders" in card and "cure period days" in card
    assert "min completion rate" in card and "0.9" in card
    program = (await client.get(f"/portal/programs/{acme.provider_id}")).text
    assert "Your exclusive agreement good-1" in program

    other, _ = await portal_signed_in(browser, world.slipping_key)
    assert "good-1" not in (await other.get("/portal/agreements")).text
    assert "You have no exclusive agreements." in (await other.get("/portal/agreements")).text


async def test_quarterly_scorecards_are_listed_printable_and_each_partners_own(
    browser, acme, programs, db, clock
):
    teams = await seed(acme, programs, clock)
    api = ProviderApi(acme.program, acme.key, browser())
    review = await completed(api, (await start(api, cadence="quarterly"))["location"])
    quarter = review["period"]
    steady_key = reseller_key(db, teams["steady"])
    weak_key = reseller_key(db, teams["weak"])

    client, _ = await portal_signed_in(browser, steady_key)
    listed = (await client.get("/portal/scorecards")).text
    link = f"/portal/programs/{acme.provider_id}/scorecards/{quarter}"
    assert f'href="{link}"' in listed
    assert f'href="{link}"' in (await client.get(f"/portal/programs/{acme.provider_id}")).text
    card = await client.get(link)
    assert card.status_code == 200, card.text
    assert f"Scorecard {quarter}" in card.text and 'id="tier-after">silver<' in card.text
    assert 'href="/static/portal.css"' in card.text
    css = (await client.get("/static/portal.css")).text
    printing = css[css.index("@media print") :]
    assert "header.top" in printing and "display: none" in printing

    # A reseller that was on no list when the review ran has no scorecard of it.
    weak, _ = await portal_signed_in(browser, weak_key)
    assert link not in (await weak.get("/portal/scorecards")).text
    assert (await weak.get(link)).status_code == 404


async def test_feedback_is_sent_refused_with_what_was_typed_kept_and_listed(
    browser, env, acme, programs, db
):
    world = await _world(acme, programs, db)
    hidden = _hidden_provider(env, db)
    client, token = await portal_signed_in(browser, world.good_key)
    page = (await client.get("/portal/feedback")).text
    assert f'<option value="{acme.provider_id}"' in page
    assert hidden.provider_id not in page

    typed = {
        "csrf": token,
        "provider_id": acme.provider_id,
        "kind": "zip_demand",
        "service_category": "",
        "zip_codes": "",
        "text": "lots of calls from the north",
    }
    refused = await client.post("/portal/feedback", data=typed)
    assert refused.status_code == 422 and "ZIP codes in demand" in refused.text
    assert "lots of calls from the north</textarea>" in refused.text
    assert 'value="zip_demand" selected' in refused.text

    bad_zip = await client.post("/portal/feedback", data={**typed, "zip_codes": "1234 10001"})
    assert bad_zip.status_code == 422 and "1234" in bad_zip.text
    assert 'value="1234 10001"' in bad_zip.text

    elsewhere = await client.post(
        "/portal/feedback", data={**typed, "provider_id": hidden.provider_id, "zip_codes": "10001"}
    )
    assert elsewhere.status_code == 404 and "is open to you" in elsewhere.text
    with db.transaction() as session:
        assert session.query(ResellerFeedback).count() == 0  # nothing half-written

    sent = await client.post("/portal/feedback", data={**typed, "zip_codes": "10002, 10001"})
    assert sent.status_code == 303 and sent.headers["location"] == "/portal/feedback?done=sent"
    listed = (await client.get(sent.headers["location"])).text
    assert "Feedback sent" in listed
    row = listed[listed.index('id="sent-feedback"') :]
    assert "10001, 10002" in row and "lots of calls from the north" in row

    other, _ = await portal_signed_in(browser, world.slipping_key)
    assert "lots of calls from the north" not in (await other.get("/portal/feedback")).text


async def test_the_portal_is_not_in_the_openapi_document(browser):
    paths = (await browser().get("/openapi.json")).json()["paths"]
    assert not [path for path in paths if path.startswith("/portal")]


def test_a_ceiling_passed_draws_a_shorter_bar_and_a_stored_line_reads_as_text():
    over = CriterionGap(
        name="cancellation_rate",
        label="cancellations",
        required=0.05,
        actual=0.10,
        met=False,
        at_most=True,
        text="cancellations 10.0% > 5.0%",
        needs="cancellations 10.0% → 5.0%",
        progress=1.0,
    )
    drawn = bar(over)
    assert (drawn.share, drawn.value, drawn.line) == (0.5, "10.0%", "5.0%")
    stored = {"name": "completion_rate", "label": "completion", "required": 0.95,
              "actual": 0.9, "met": False, "atMost": False}  # fmt: skip
    assert criterion_text(stored) == "completion 90.0% < 95.0%"
