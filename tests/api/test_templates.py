"""`/provider/templates` over HTTP: overrides round-trip, are refused when they cannot render,
and are what a real workflow's message is rendered from."""

from __future__ import annotations

import re
from typing import Any

import pytest

from devstack.demo_data import GOOD
from models.notifications import NotificationKind
from tests.api.conftest import ProviderApi

TEMPLATES = "/provider/templates"
WELCOME = f"{TEMPLATES}/welcome"
OWN_BODY = """\
{% import "macros.j2" as m %}
Hello {{ partner }}, welcome to {{ provider }} as {{ tier_label }}.
{% for benefit in benefits %}
* {{ benefit }}
{% endfor %}
{{ m.figures(metrics) }}
Orders last quarter: {{ metrics.total_orders }}; rating {{ metrics.average_rating|number(2) }}.
"""


async def put(api: ProviderApi, kind: str, **body: Any) -> dict[str, Any]:
    response = await api.put(f"{TEMPLATES}/{kind}", body)
    assert response.status_code == 200, response.text
    view: dict[str, Any] = response.json()
    return view


async def test_every_kind_is_listed_with_the_shipped_templates_in_force(acme):
    response = await acme.get(TEMPLATES)
    assert response.status_code == 200, response.text
    listed = {item["kind"]: item for item in response.json()}
    assert set(listed) == {kind.value for kind in NotificationKind}
    assert not any(i["subjectOverridden"] or i["bodyOverridden"] for i in listed.values())
    assert listed["candidate_notice"]["recipient"] == "provider"
    assert listed["friendly_notice"]["recipient"] == "partner"

    welcome = (await acme.get(WELCOME)).json()
    assert welcome["subject"] == welcome["defaultSubject"]
    assert "{{ provider }}" in welcome["subject"]
    assert "m.figures(metrics)" in welcome["body"]
    names = [v["name"] for v in welcome["variables"]]
    assert {"partner", "tier", "benefits", "tier_offers", "metrics"} <= set(names)
    assert "percent" in welcome["filters"]
    assert "metrics.average_rating" in welcome["optional"]


async def test_an_override_round_trips_as_versions_and_resets(acme):
    saved = await put(acme, "welcome", body=OWN_BODY, changedBy="marketing@acme")
    assert (saved["bodyOverridden"], saved["subjectOverridden"]) == (True, False)
    assert saved["body"] == OWN_BODY and saved["subject"] == saved["defaultSubject"]
    assert (saved["version"], saved["changedBy"]) == (1, "marketing@acme")
    assert (await acme.get(WELCOME)).json()["body"] == OWN_BODY

    assert (await put(acme, "welcome", body=OWN_BODY))["version"] == 1, "same again: no version"
    both = await put(acme, "welcome", subject="Welcome, {{ partner }}!", body=OWN_BODY)
    assert both["version"] == 2 and both["subject"] == "Welcome, {{ partner }}!"

    reset = await acme.delete(WELCOME, params={"changedBy": "ops"})
    assert reset.status_code == 200, reset.text
    shipped = reset.json()
    assert (shipped["bodyOverridden"], shipped["subjectOverridden"]) == (False, False)
    assert shipped["body"] == shipped["defaultBody"] and shipped["version"] == 3
    assert (await acme.delete(WELCOME)).json()["version"] == 3, "nothing to reset"

    versions = (await acme.get(f"{WELCOME}/versions")).json()
    assert [(v["version"], v["reset"], v["changedBy"]) for v in versions] == [
        (3, True, "ops"),
        (2, False, "api"),
        (1, False, "marketing@acme"),
    ]
    listed = {i["kind"]: i for i in (await acme.get(TEMPLATES)).json()}
    assert listed["welcome"]["version"] == 3 and not listed["welcome"]["bodyOverridden"]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("Hello {{ partner }}\n{% if %}", "body line 2: Expected an expression"),
        ("Hello\n\n{{ partner.nickname }}", "body line 3: "),
        ("Hello {{ parnter }}", "'parnter' is undefined"),
        ("Hi\n{{ ''.__class__ }}", "body line 2: not allowed: access to attribute '__class__'"),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "unsafe"),
        ("{{ metrics.average_rating + 0.1 }}", "in a message without metrics.average_rating"),
        ("{{ '{:>999999}'.format(1) }}", "str.format is not available"),
        ("{% for i in range(100000) %}x{% endfor %}", "range() gives at most 1000"),
        ("{% macro f() %}{% endmacro %}", "may not define macros"),
        ("x" * 20_001, "at most 20000 characters"),
    ],
    ids=[
        "syntax",
        "unknown-field",
        "unknown-variable",
        "sandbox",
        "sandbox-subclasses",
        "optional-unguarded",
        "format",
        "range",
        "macro",
        "too-long",
    ],
)
async def test_a_template_that_cannot_render_is_refused_when_saved(acme, body, says):
    response = await acme.put(WELCOME, {"body": body})
    assert response.status_code == 422, response.text
    assert says in response.json()["detail"], response.text
    assert not (await acme.get(WELCOME)).json()["bodyOverridden"], "nothing saved"


async def test_bad_requests_say_what_is_wrong(acme):
    empty = await acme.put(WELCOME, {})
    assert empty.status_code == 422 and "give a subject, a body or both" in empty.json()["detail"]
    long = await acme.put(
        WELCOME, {"subject": "{% for c in benefits %}{{ c }} {{ c }}{% endfor %}"}
    )
    assert long.status_code == 422, long.text
    assert "subject: renders a subject of" in long.json()["detail"]
    lines = await acme.put(WELCOME, {"subject": "Welcome,\n  {{ partner }}\n"})
    assert lines.json()["subject"] == "Welcome,\n  {{ partner }}\n", "rendered on one line"
    blank = await acme.put(WELCOME, {"subject": "{{ '' }}"})
    assert "renders an empty subject" in blank.json()["detail"]
    unknown = await acme.get(f"{TEMPLATES}/no_such_kind")
    assert unknown.status_code == 422 and "welcome" in unknown.json()["detail"]


async def test_preview_renders_drafts_against_samples_or_a_partner(acme, programs):
    sample = await acme.post(f"{WELCOME}/preview", {})
    assert sample.status_code == 200, sample.text
    assert "Northwind Telecom" in sample.json()["body"]
    assert "Welcome to the" in sample.json()["subject"]

    draft = await acme.post(f"{WELCOME}/preview", {"subject": "Hi {{ partner }}"})
    assert draft.json()["subject"] == "Hi Northwind Telecom"

    team = await acme.program.add_reseller("team-previewed", GOOD)
    partner = await acme.post(f"{WELCOME}/preview", {"body": OWN_BODY, "resellerTeamId": team})
    assert partner.status_code == 200, partner.text
    assert f"Hello {team}" in partner.json()["body"]
    orders = re.search(r"Orders last quarter: (\d+);", partner.json()["body"])
    assert orders and int(orders.group(1)) > 0, "the partner's own orders, not the sample's 84"

    broken = await acme.post(f"{WELCOME}/preview", {"body": "{{ nope }}"})
    assert broken.status_code == 422 and "'nope' is undefined" in broken.json()["detail"]
    nobody = await acme.post(f"{WELCOME}/preview", {"resellerTeamId": "team-nobody"})
    assert nobody.status_code == 404 and "team-nobody" in nobody.json()["detail"]


async def test_a_providers_templates_are_its_own(acme, globex):
    await put(acme, "welcome", body=OWN_BODY)
    assert not (await globex.get(WELCOME)).json()["bodyOverridden"]
    assert (await globex.get(f"{WELCOME}/versions")).json() == []
    assert (await acme.http.get(TEMPLATES)).status_code == 401


async def test_a_real_welcome_is_rendered_from_the_override(acme, programs):
    await put(acme, "welcome", subject="{{ partner }}, welcome to {{ provider }}", body=OWN_BODY)
    team = await acme.program.add_reseller("team-welcomed", GOOD)
    response = await acme.post("/provider/partners/preferred", {"resellerTeamId": team})
    assert response.status_code == 200, response.text

    [welcome] = await acme.program.sent(team, "welcome")
    metrics = (await programs.state(acme.provider_id, team)).last_metrics
    assert metrics is not None
    assert welcome.subject == f"{team}, welcome to Provider {acme.provider_id}"
    assert welcome.body.startswith(
        f"Hello {team}, welcome to Provider {acme.provider_id} as silver (preferred)."
    )
    assert f"Orders last quarter: {metrics.total_orders};" in welcome.body
    assert "* the offers the provider reserves for preferred partners" in welcome.body
    assert "Your figures for the last quarter" in welcome.body
