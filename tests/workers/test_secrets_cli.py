"""`partnerflow secrets new-key|reencrypt`, and the delivery commands without a key, in-process
with Typer's test runner on the real database."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from typer.testing import Result

from cli.app import app
from devstack.demo_data import add_provider
from models.database import Database
from models.schema import DeliverySettingsRow
from store.secret_box import SEALED_PREFIX, SecretBox, new_key
from tests.workers.cli_runner import cli_on, runner

PROVIDER = "acme"


@pytest.fixture
def cli(db: Database):
    with db.transaction() as session:
        add_provider(session, PROVIDER, "Acme Fiber")
    return cli_on(db)


def _password(db: Database) -> str | None:
    with db.transaction() as session:
        row = session.get(DeliverySettingsRow, PROVIDER)
        return row.smtp_password if row else None


def _set_password(cli, **env: str | None) -> Result:
    result: Result = cli(
        "delivery",
        "set",
        PROVIDER,
        "--smtp-host",
        "smtp.acme.example",
        "--smtp-username",
        "partners",
        PARTNERFLOW_SMTP_PASSWORD="correct-horse-battery",
        **env,
    )
    return result


def test_new_key_prints_a_fresh_fernet_key_alone_on_stdout():
    first, second = (
        runner.invoke(app, ["secrets", "new-key"]),
        runner.invoke(app, ["secrets", "new-key"]),
    )
    assert first.exit_code == 0, first.output
    key = first.stdout.strip()
    assert len(SecretBox.parse(key).keys) == 1 and "\n" not in key
    assert key != second.stdout.strip()


def test_reencrypt_encrypts_legacy_secrets_and_moves_them_to_the_first_key(cli, db, secret_key):
    assert _set_password(cli).exit_code == 0
    with db.transaction() as session:
        session.execute(update(DeliverySettingsRow).values(smtp_password="legacy-password"))
    done = cli("secrets", "reencrypt")
    assert done.exit_code == 0, done.output
    assert "Encrypted 1 plain-text secret(s), re-encrypted 0" in done.output
    stored = _password(db)
    assert stored is not None and stored.startswith(SEALED_PREFIX)

    newer = SecretBox.parse(new := new_key())
    rotated = cli("secrets", "reencrypt", PARTNERFLOW_SECRET_KEY=f"{new},{secret_key}")
    assert rotated.exit_code == 0, rotated.output
    assert "re-encrypted 1 under an older key" in rotated.output
    moved = _password(db)
    assert moved is not None and newer.is_current(moved)
    assert newer.open(moved, "it") == "legacy-password"


def test_without_a_key_the_commands_exit_1_saying_what_to_set(cli, db):
    refused = _set_password(cli, PARTNERFLOW_SECRET_KEY=None)
    assert refused.exit_code == 1
    assert "PARTNERFLOW_SECRET_KEY" in refused.output
    assert "partnerflow secrets new-key" in refused.output
    assert "correct-horse" not in refused.output and _password(db) is None
    reencrypt = cli("secrets", "reencrypt", PARTNERFLOW_SECRET_KEY=None)
    assert reencrypt.exit_code == 1 and "PARTNERFLOW_SECRET_KEY" in reencrypt.output


def test_a_wrong_key_exits_1_naming_the_secret(cli, db):
    assert _set_password(cli).exit_code == 0
    other = new_key()
    shown = cli("delivery", "show", PROVIDER, PARTNERFLOW_SECRET_KEY=other)
    assert shown.exit_code == 1
    assert "the SMTP password of provider acme cannot be decrypted" in shown.output
    assert "correct-horse" not in shown.output and "Traceback" not in shown.output
