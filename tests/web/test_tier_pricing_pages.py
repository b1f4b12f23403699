"""Tier pricing in the pages: the provider sets the tiers' discounts on the program page, as
`PATCH /provider/program` would, and a partner's portal shows the price its tier gets."""

from __future__ import annotations

import re

import pytest

from devstack.demo_data import GOOD
from models.partner import EnrollmentRequest
from models.program import Tier
from services import program
from tests.web.conftest import portal_signed_in, reseller_key, signed_in

# The program's SQL runs here: on PostgreSQL too where configured.
pytestmark = pytest.mark.both_databases

FIELD = re.compile(r'<input name="((?:silver|gold)\.\w+)" value="([^"]*)"')


async def test_the_program_page_sets_the_discounts_and_the_portal_shows_them(
    browser, acme, programs, db
):
    client, csrf = await signed_in(browser, acme)
    page = (await client.get("/program")).text
    assert "silver 0%, gold 0% off list prices" in page
    form = {**dict(FIELD.findall(page)), "csrf": csrf, "version": "1"}
    assert (form["silver.discount"], form["gold.discount"]) == ("0", "0")

    refused = await client.post("/program", data={**form, "gold.discount": "95", "action": "save"})
    assert refused.status_code == 422, refused.text
    assert "tierDiscounts.gold" in refused.text and 'value="95"' in refused.text

    changed = {**form, "silver.discount": "5", "gold.discount": "10"}
    saved = await client.post("/program", data={**changed, "action": "save"})
    assert saved.status_code == 303, saved.text
    with db.transaction() as session:
        discounts = program.current_program(session, acme.provider_id).settings.tier_discounts
    assert (discounts.silver, discounts.gold) == (5, 10)
    assert "silver 5%, gold 10% off list prices" in (await client.get("/program")).text

    team = await acme.program.add_reseller("team-priced", GOOD)
    await programs.enroll(acme.provider_id, team, EnrollmentRequest(tier=Tier.SILVER))
    portal, _ = await portal_signed_in(browser, reseller_key(db, team))
    shown = (await portal.get(f"/portal/programs/{acme.provider_id}")).text
    offers = shown[shown.index('id="offers"') :]
    assert "57.00" in offers and "5% silver discount" in offers and "60.00" in offers
