"""Providers' delivery secrets at rest, on the real database (SQLite and PostgreSQL): stored
encrypted under PARTNERFLOW_SECRET_KEY, legacy plain text still read and encrypted by
`reencrypt`, keys rotated, and a missing or wrong key refused with what to do."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from sqlalchemy import update

from devstack.demo_data import add_provider
from models.database import Database
from models.delivery import ChannelKind, DeliveryChange
from models.schema import DeliverySettingsRow
from services.delivery import change_delivery, reencrypt_secrets, rotate_webhook_secret
from store.delivery_settings import delivery_settings
from store.secret_box import (
    SEALED_PREFIX,
    SECRET_KEY_VARIABLE,
    SecretBox,
    SecretKeyInvalid,
    SecretKeyMissing,
    SecretUnreadable,
    new_key,
)

PROVIDER = "acme"
PASSWORD = "correct-horse-battery-staple"
# The longest secrets the models accept: their tokens must fit the columns on both backends.
LONGEST_SIGNING_SECRET = "whsec_" + "é" * 194
LONGEST_PASSWORD = "p" * 1000


@pytest.fixture
def acme(db: Database) -> Database:
    with db.transaction() as session:
        add_provider(session, PROVIDER, "Acme Fiber")
    return db


def configure(db: Database, **settings: object) -> None:
    with db.transaction() as session:
        change_delivery(session, PROVIDER, DeliveryChange.model_validate(settings))


def email_with_password(db: Database, password: str = PASSWORD) -> None:
    configure(
        db,
        channel=ChannelKind.EMAIL,
        smtp_host="smtp.acme.example",
        smtp_username="partners",
        smtp_password=SecretStr(password),
        from_address="partners@acme.example",
    )


def stored(db: Database) -> DeliverySettingsRow:
    with db.transaction() as session:
        row = session.get(DeliverySettingsRow, PROVIDER)
        assert row is not None
        session.expunge(row)
        return row


def read(db: Database) -> tuple[str | None, str | None]:
    with db.transaction() as session:
        settings = delivery_settings(session, PROVIDER)
    return (
        settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        settings.webhook_secret.get_secret_value() if settings.webhook_secret else None,
    )


def store_plain(db: Database, **values: str) -> None:
    """What a partnerflow from before encryption left in the row."""
    with db.transaction() as session:
        session.execute(
            update(DeliverySettingsRow)
            .where(DeliverySettingsRow.provider_id == PROVIDER)
            .values(**values)
        )


def test_secrets_are_stored_encrypted_and_read_in_the_clear(acme, secret_key):
    email_with_password(acme)
    with acme.transaction() as session:
        secret = rotate_webhook_secret(session, PROVIDER).new_webhook_secret
    assert secret is not None
    row = stored(acme)
    for value, plain in ((row.smtp_password, PASSWORD), (row.webhook_secret, secret)):
        assert value is not None and value.startswith(SEALED_PREFIX)
        assert plain not in value
        assert SecretBox.parse(secret_key).open(value, "it") == plain
    assert read(acme) == (PASSWORD, secret)


def test_the_longest_secrets_fit_once_encrypted(acme):
    email_with_password(acme, LONGEST_PASSWORD)
    configure(acme, webhook_secret=SecretStr(LONGEST_SIGNING_SECRET))
    row = stored(acme)
    assert row.webhook_secret is not None and len(row.webhook_secret) > 200
    assert read(acme) == (LONGEST_PASSWORD, LONGEST_SIGNING_SECRET)


def test_a_legacy_plain_secret_still_reads_and_reencrypt_encrypts_it(acme):
    email_with_password(acme)
    with acme.transaction() as session:
        secret = rotate_webhook_secret(session, PROVIDER).new_webhook_secret
    store_plain(acme, smtp_password="legacy-password", webhook_secret="whsec_legacy_0123456789")
    changed_at = stored(acme).updated_at
    assert read(acme) == ("legacy-password", "whsec_legacy_0123456789")
    assert secret is not None and secret not in str(read(acme))

    with acme.transaction() as session:
        done = reencrypt_secrets(session)
    assert (done.encrypted, done.reencrypted, done.current) == (2, 0, 0)
    row = stored(acme)
    assert row.smtp_password is not None and row.smtp_password.startswith(SEALED_PREFIX)
    assert row.webhook_secret is not None and row.webhook_secret.startswith(SEALED_PREFIX)
    assert "legacy" not in row.smtp_password + row.webhook_secret
    assert row.updated_at == changed_at  # re-encrypting is not a change of the settings
    assert read(acme) == ("legacy-password", "whsec_legacy_0123456789")

    with acme.transaction() as session:
        again = reencrypt_secrets(session)
    assert (again.encrypted, again.reencrypted, again.current) == (0, 0, 2)
    assert stored(acme).smtp_password == row.smtp_password  # left as it was


def test_a_legacy_plain_secret_is_encrypted_on_the_next_write(acme):
    email_with_password(acme)
    store_plain(acme, smtp_password="legacy-password")
    configure(acme, smtp_port=2525)  # a change that does not touch the password
    value = stored(acme).smtp_password
    assert value is not None and value.startswith(SEALED_PREFIX)
    assert read(acme)[0] == "legacy-password"


def test_keys_rotate_the_first_encrypting_and_every_one_decrypting(acme, monkeypatch):
    old, new = new_key(), new_key()
    monkeypatch.setenv(SECRET_KEY_VARIABLE, old)
    email_with_password(acme)
    under_old = stored(acme).smtp_password

    monkeypatch.setenv(SECRET_KEY_VARIABLE, f"{new},{old}")
    assert read(acme)[0] == PASSWORD
    with acme.transaction() as session:
        done = reencrypt_secrets(session)
    assert (done.encrypted, done.reencrypted, done.current) == (0, 1, 0)
    under_new = stored(acme).smtp_password
    assert under_new is not None and under_new != under_old
    assert SecretBox.parse(new).is_current(under_new)

    monkeypatch.setenv(SECRET_KEY_VARIABLE, new)  # the old key dropped
    assert read(acme)[0] == PASSWORD
    monkeypatch.setenv(SECRET_KEY_VARIABLE, old)
    with pytest.raises(SecretUnreadable):
        read(acme)


def test_without_a_key_a_secret_is_refused_saying_how_to_make_one(acme, monkeypatch):
    monkeypatch.delenv(SECRET_KEY_VARIABLE)
    with pytest.raises(SecretKeyMissing) as refused:
        email_with_password(acme)
    message = str(refused.value)
    assert "store the SMTP password of provider acme" in message
    assert SECRET_KEY_VARIABLE in message and "partnerflow secrets new-key" in message
    assert PASSWORD not in message
    with acme.transaction() as session:
        assert session.get(DeliverySettingsRow, PROVIDER) is None  # nothing stored

    configure(acme, provider_email="ops@acme.example")  # settings without a secret need no key
    assert read(acme) == (None, None)
    with pytest.raises(SecretKeyMissing, match="webhook signing secret"):
        with acme.transaction() as session:
            rotate_webhook_secret(session, PROVIDER)
    with pytest.raises(SecretKeyMissing, match="re-encrypt"):
        with acme.transaction() as session:
            reencrypt_secrets(session)


def test_an_encrypted_secret_without_a_key_is_refused_and_a_legacy_one_read(acme, monkeypatch):
    email_with_password(acme)
    monkeypatch.delenv(SECRET_KEY_VARIABLE)
    with pytest.raises(SecretKeyMissing, match="read the SMTP password of provider acme"):
        read(acme)
    store_plain(acme, smtp_password="legacy-password")
    assert read(acme)[0] == "legacy-password"


def test_a_wrong_key_names_the_secret_and_the_cause_never_the_value(acme, monkeypatch):
    email_with_password(acme)
    monkeypatch.setenv(SECRET_KEY_VARIABLE, new_key())
    with pytest.raises(SecretUnreadable) as unreadable:
        read(acme)
    message = str(unreadable.value)
    assert "the SMTP password of provider acme cannot be decrypted" in message
    assert "encrypted with another key" in message and SECRET_KEY_VARIABLE in message
    assert PASSWORD not in message
    assert unreadable.value.__cause__ is None and unreadable.value.__suppress_context__

    with pytest.raises(SecretUnreadable, match="SMTP password of provider acme"):
        with acme.transaction() as session:
            reencrypt_secrets(session)  # all or nothing, naming the one it cannot read


def test_a_malformed_key_is_refused_by_its_place_not_its_text(monkeypatch):
    good = new_key()
    with pytest.raises(SecretKeyInvalid) as invalid:
        SecretBox.parse(f"{good},not-a-key-at-all")
    assert "key 2 of 2" in str(invalid.value) and "not-a-key" not in str(invalid.value)
    with pytest.raises(SecretKeyInvalid, match="holds no key"):
        SecretBox.parse(" , ")
    assert len(SecretBox.parse(f" {good} , {new_key()} ").keys) == 2
