"""`partnerflow delivery set` and `contacts set` refuse a webhook URL or an SMTP host into the
operator's network as the API does, naming the field, and take what the operator's settings
allow."""

from __future__ import annotations

import pytest

from devstack.demo_data import GOOD
from models.database import Database
from models.program import ProgramSettings
from tests.helpers import Program
from tests.workers.cli_runner import Invoke, cli_on

TEAM = "team-cli"
PRODUCT_DEFAULT = {
    "PARTNERFLOW_WEBHOOK_ALLOW_HTTP": None,
    "PARTNERFLOW_WEBHOOK_ALLOWED_HOSTS": None,
    "PARTNERFLOW_SMTP_ALLOWED_HOSTS": None,
}


@pytest.fixture
async def program(db: Database) -> Program:
    program = Program(db, None, ProgramSettings()).create()
    await program.add_reseller(TEAM, GOOD)
    return program


def test_a_url_into_the_operators_network_exits_1_naming_the_field(program: Program):
    cli: Invoke = cli_on(program.db)
    provider = program.provider_id
    contact = cli(
        "contacts", "set", provider, TEAM, "--webhook-url", "https://0x7f.1/", **PRODUCT_DEFAULT
    )
    assert contact.exit_code == 1, contact.output
    assert "webhookUrl: must not point at a private or local address (0x7f.1 is 127.0.0.1)" in (
        contact.output
    )
    own = cli(
        "delivery", "set", provider, "--provider-webhook-url", "http://hooks.acme.example/",
        **PRODUCT_DEFAULT,
    )  # fmt: skip
    assert own.exit_code == 1, own.output
    assert "providerWebhookUrl: must be an https:// URL: plain http:// is not allowed" in own.output


def test_the_operators_settings_let_a_local_receiver_in(program: Program):
    cli: Invoke = cli_on(program.db)
    allowed = cli(
        "contacts", "set", program.provider_id, TEAM, "--webhook-url", "http://localhost:8080/h",
        PARTNERFLOW_WEBHOOK_ALLOW_HTTP="true", PARTNERFLOW_WEBHOOK_ALLOWED_HOSTS="localhost",
    )  # fmt: skip
    assert allowed.exit_code == 0, allowed.output
    assert "http://localhost:8080/h" in allowed.output


def test_a_mail_server_in_the_operators_network_exits_1_unless_allowed(program: Program):
    cli: Invoke = cli_on(program.db)
    args = ["delivery", "set", program.provider_id, "--channel", "email", "--smtp-host"]
    args += ["169.254.169.254", "--from-address", "partners@acme.example"]
    refused = cli(*args, **PRODUCT_DEFAULT)
    assert refused.exit_code == 1, refused.output
    assert "smtpHost: must not point at a private or local address (169.254.169.254)" in (
        refused.output
    )
    allowed = cli(*args, **{**PRODUCT_DEFAULT, "PARTNERFLOW_SMTP_ALLOWED_HOSTS": "169.254.0.0/16"})
    assert allowed.exit_code == 0, allowed.output
    assert "169.254.169.254:587" in allowed.output
