"""Errors a new user meets first read well: malformed JSON, a missing body, and a field out of
range named as the API names it."""

from __future__ import annotations

import json

from api.app import create_app
from tests.api.conftest import ProviderApi


async def test_malformed_json_says_so_and_where(acme: ProviderApi):
    response = await acme.http.post(
        "/provider/partners/preferred",
        content=b'{"resellerTeamId": "team-one" "tier": "gold"}',
        headers={"x-api-key": acme.key, "content-type": "application/json"},
    )
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail.startswith("the body is not valid JSON: Expecting ',' delimiter")
    assert "(at character 30)" in detail


async def test_a_body_that_is_not_utf8_is_malformed_json_too(acme: ProviderApi):
    response = await acme.http.post(
        "/provider/partners/preferred",
        content=b'{"resellerTeamId": "\xff\xfe"}',
        headers={"x-api-key": acme.key, "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json() == {"detail": "the body is not valid JSON: it is not UTF-8 text"}


async def test_a_missing_body_says_the_body_is_missing(acme: ProviderApi):
    response = await acme.http.post(
        "/provider/partners/preferred",
        headers={"x-api-key": acme.key, "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json() == {"detail": "the request has no body: send a JSON object"}


async def test_a_field_out_of_range_is_named_in_camel_case(acme: ProviderApi):
    response = await acme.post(
        "/provider/partners/team-one/at-risk",
        {"reason": "late installs this month", "graceDays": 5},
    )
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail.startswith("graceDays: ")
    assert "grace_days" not in detail


def test_the_schema_documents_every_error_answer_as_the_body_it_is():
    """A client generated from the OpenAPI document reads `{"detail": "..."}` for each error."""
    schema = create_app().openapi()
    problem = {"$ref": "#/components/schemas/Problem"}
    operations = [
        operation
        for path, item in schema["paths"].items()
        if path.startswith(("/provider/", "/reseller/"))
        for operation in item.values()
    ]
    assert len(operations) > 20
    for operation in operations:
        for code in ("401", "404", "409", "413", "422", "503"):
            content = operation["responses"][code]["content"]["application/json"]
            assert content["schema"] == problem, (operation["operationId"], code)
    assert schema["components"]["schemas"]["Problem"]["properties"]["detail"]["type"] == "string"
    assert "HTTPValidationError" not in json.dumps(schema)
