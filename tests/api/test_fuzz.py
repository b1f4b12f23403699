"""Property-based fuzz of the OpenAPI schema with schemathesis and every one of its checks:
no 5xx; every answer's status, headers and body as the document states them; a request the
document calls valid is accepted and one it calls invalid refused.

The API runs for real (uvicorn on a local port, the test's worker on the time-skipping
server, the real database); schemathesis drives it over HTTP from a thread, so that the
worker keeps running on this test's event loop.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.openapi.checks import RejectedPositiveData

from api.deps import Services
from api.server import running_api
from devstack.demo_data import GOOD
from models.partner import EnrollmentRequest
from models.program import Tier
from tests.api.conftest import ProviderApi, reseller_api
from tests.workers.processes import free_port

EXAMPLES = int(os.environ.get("PARTNERFLOW_FUZZ_EXAMPLES", "10"))
UNAVAILABLE_HERE = {
    # The time-skipping server has no Schedules; the dev server's are tested in
    # tests/workers/test_review_schedules.py and test_newsletter_schedule.py. Any other 5xx, or
    # these saying anything else, is still a finding.
    "GET /provider/reviews/schedules": "does not implement Schedules",
    "PUT /provider/newsletter": "does not implement Schedules",
}


OPERATOR_POLICY = r"must not point at a private or local address|must be an https:// URL"
SEMANTIC_REFUSALS: dict[str, tuple[str, ...]] = {
    # What no schema can state: which resellers and offers exist, whether a template renders,
    # whether a period has ended, one field compared with another, and what a patch is merged
    # with. Each is a 422 whose detail says which; any other refusal of a request the document
    # calls valid is a finding.
    "POST /provider/partners/preferred": (
        r"^unknown reseller ",
        r"^this program has ",
        r"override needs the reason in notes",
    ),
    "POST /provider/partners/{reseller_team_id}/block": (r"^provider \S+ has no offers ",),
    # An offer announces itself only when active, and a change only with something to say.
    "POST /provider/offers": (r"^unknown resellers ", r"^announce: a \w+ offer is seen by nobody"),
    # An offer's audience is checked against the offer as it is, which a patch leaves out.
    "PATCH /provider/offers/{offer_id}": (
        r"^unknown resellers ",
        r"appl(y|ies) only to ",
        r"^announce: a \w+ offer is seen by nobody",
        r"^announce.kind: ",
    ),
    # Which month has ended depends on the day the request is made.
    "POST /provider/newsletter/sends": (r"^month: \d{4}-\d{2} has not ended yet",),
    "POST /provider/orders": (
        r"^nothing was stored: .*unknown (reseller|offer) ",
        r"^nothing was stored: .* is before createdAt ",
    ),
    "POST /provider/orders/events": (
        r"unknown (reseller|offer) ",
        r" is before createdAt ",
        r"^order.StatusChanged: previousStatus and newStatus are both ",
    ),
    # An effective date is judged against today: the document states no moving bound.
    "PUT /provider/program": (
        r"^gold must require at least as many orders per month as silver",
        r"effectiveDate must be at most two years ahead",
    ),
    "PATCH /provider/program": (
        r"^gold must require at least as many orders per month as silver",
        r"effectiveDate must be at most two years ahead",
    ),
    "POST /provider/program/preview": (
        r"^gold must require at least as many orders per month as silver",
    ),
    "POST /provider/agreements": (r"^provider \S+ has no offer", r"exclusiveUntil"),
    "PUT /provider/templates/{kind}": (r"template does not render: ",),
    # Delivery settings are checked whole, merged with those in force; where a host may lead
    # is the operator's policy, and the document states no host as allowed or not.
    "PATCH /provider/delivery": (
        r"^the email channel needs ",
        r"^an SMTP password needs an SMTP username",
        OPERATOR_POLICY,
    ),
    "PUT /provider/partners/{reseller_team_id}/contact": (OPERATOR_POLICY,),
    "POST /provider/templates/{kind}/preview": (r"template does not render: ",),
    "POST /provider/reviews": (r"it can be reviewed from then on",),
    # Which offers exist, and a time judged against now.
    "POST /provider/announcements": (
        r"^audience.offerId: the provider has no offer ",
        r"^sendAt: must be at most one year ahead",
    ),
    "GET /provider/reviews/{cadence}/{period}": (r"review's period is ",),
    "GET /provider/reviews/{cadence}/{period}/partners": (r"review's period is ",),
    # Which resellers exist decides whether a record without a name may add one, and a team
    # ID given twice in one list is refused as contradictory.
    "PUT /marketplace/resellers": (
        r"^nothing was stored: row \d+: name: required for a new reseller ",
        r"^nothing was stored: row \d+: resellerTeamId: .* is already in row \d+$",
    ),
}


def semantic(operation: str, response: Any, failure: BaseException) -> bool:
    """A schema-valid request refused for what the schema cannot state (SEMANTIC_REFUSALS)."""
    if not isinstance(failure, RejectedPositiveData) or response.status_code != 422:
        return False
    detail = response.json().get("detail", "")
    return any(re.search(p, detail) for p in SEMANTIC_REFUSALS.get(operation, ()))


def failures(case: schemathesis.Case[Any], response: Any) -> list[str]:
    """Every check's failures, but the semantic refusals."""
    try:
        case.validate_response(response)
    except FailureGroup as group:
        found = [f for f in group.exceptions if not semantic(case.operation.label, response, f)]
        return [
            f"{case.method} {case.formatted_path} {case.body!r:.200} -> "
            f"{response.status_code} {response.text[:300]}: {failure!s:.400}"
            for failure in found
        ]
    return []


@dataclass
class Findings:
    answers: Counter[tuple[str, int]] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


MARKETPLACE_KEY = "mk_fuzz_" + "k" * 24
"""The operator's marketplace key, for `PUT /marketplace/resellers`."""


def fuzz(base_url: str, key: str, reseller_key: str, examples: int) -> Findings:
    """Every operation, with valid and with invalid data: what answered, and what failed a
    check."""
    schemes = {
        "APIKeyHeader": {"api_key": key},
        "MarketplaceKey": {"api_key": MARKETPLACE_KEY},
        "ResellerKey": {"api_key": reseller_key},
    }
    config = SchemathesisConfig.from_dict({"auth": {"openapi": schemes}})
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", config=config)
    found = Findings()
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the OpenAPI schema is invalid: {result}"
        operation = result.ok()
        raw = operation.definition.raw
        # The health probes take no parameter, body or key: no request to them is invalid.
        negatable = any(raw.get(part) for part in ("parameters", "requestBody", "security"))
        modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if negatable else [])
        for mode in modes:

            @settings(
                max_examples=examples,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def check(case: schemathesis.Case[Any]) -> None:
                response = case.call(base_url=base_url, timeout=30)
                label = case.operation.label
                found.answers[(label, response.status_code // 100)] += 1
                expected = UNAVAILABLE_HERE.get(label)
                if response.status_code == 503 and expected and expected in response.text:
                    return
                found.failures.extend(failures(case, response))

            check()
    return found


async def test_the_api_is_what_its_schema_says(env, db, programs, acme: ProviderApi, monkeypatch):
    """On both backends: PostgreSQL refuses text that SQLite stores (a NUL), for one."""
    monkeypatch.setenv("PARTNERFLOW_MARKETPLACE_KEY", MARKETPLACE_KEY)
    for team in ("team-a", "team-b"):
        await acme.program.add_reseller(team, GOOD)
    await programs.enroll(acme.provider_id, "team-a", EnrollmentRequest(tier=Tier.SILVER))
    reseller = reseller_api(db, acme.http, "team-a")
    services = Services(db=db, client=env.client, task_queue=programs.task_queue)
    async with running_api(services, "127.0.0.1", free_port()) as base_url:
        found = await asyncio.to_thread(fuzz, base_url, acme.key, reseller.key, EXAMPLES)
    assert not found.failures, f"{len(found.failures)} failed checks:\n" + "\n".join(
        found.failures[:20]
    )
    operations = {label for label, _ in found.answers}
    assert len(operations) >= 10 and "POST /provider/partners/preferred" in operations
    assert found.answers[("GET /provider/partners", 2)] > 0, found.answers
    assert found.answers[("POST /provider/reviews", 2)] > 0, found.answers
    assert found.answers[("GET /health/ready", 2)] > 0, found.answers
    for operation in (
        "GET /provider/resellers",
        "PUT /marketplace/resellers",
        "GET /provider/keys",
        "POST /provider/keys",
        "GET /reseller/me",
        "GET /reseller/programs",
        "GET /reseller/messages",
        "GET /reseller/scorecards",
        "GET /reseller/agreements",
    ):
        assert found.answers[(operation, 2)] > 0, (operation, found.answers)
    assert sum(n for (_, kind), n in found.answers.items() if kind == 4) > 0
