"""The migrations against the models, on SQLite and PostgreSQL: head is models/schema.py exactly,
an old create_all database is adopted, and a schema that is not the code's is refused."""

from __future__ import annotations

import importlib
import shutil
import smtplib
import tomllib
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest
from alembic import command as alembic_command
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError
from typer.testing import CliRunner

import migrations.runner
from cli.app import app
from migrations.runner import (
    SchemaNotCurrent,
    SchemaState,
    alembic_config,
    code_heads,
    new_revision,
    schema_differences,
    schema_status,
    upgrade_database,
)
from models.orders import OrderItem, OrderStatus, ServiceAddress
from models.schema import Base, Order, OrderEvent, Provider
from services.delivery import reencrypt_secrets
from services.orders import upsert_orders
from store.database import open_database
from store.delivery_settings import delivery_settings
from store.secret_box import SEALED_PREFIX, SECRET_KEY_VARIABLE
from tests.migrations.old_databases import BASELINE, made_before_migrations

runner = CliRunner()
TABLES = set(Base.metadata.tables)
# Tables partnerflow did not have yet before program reviews (dropped in this order).
REVIEW_TABLES = ("review_snapshots", "program_reviews")

NEXT_REVISION = '''"""A revision newer than the code under test has."""

import sqlalchemy as sa
from alembic import op

revision = "9001"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("probe", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade() -> None:
    op.drop_table("probe")
'''


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_head_builds_exactly_the_models(db):
    assert schema_status(db.engine).state is SchemaState.CURRENT
    assert _tables(db.engine) == TABLES
    assert schema_differences(db.engine) == []


def test_a_new_database_is_refused_until_upgraded(empty_db):
    with pytest.raises(SchemaNotCurrent, match=r"has no schema yet: run `partnerflow db upgrade`"):
        open_database(_url(empty_db.engine)).engine.dispose()
    result = upgrade_database(empty_db.engine)
    assert result.before.state is SchemaState.EMPTY
    assert set(result.created_tables) == TABLES
    assert result.after.state is SchemaState.CURRENT
    assert result.after.revisions == code_heads()
    open_database(_url(empty_db.engine)).engine.dispose()


def test_the_baseline_is_what_create_all_made_before_migrations(empty_db):
    # While no later revision exists: models/schema.py is then partnerflow 0.1's schema.
    if code_heads() != [BASELINE]:
        pytest.skip("later revisions changed the models: tests/migrations/old_databases.py")
    Base.metadata.create_all(empty_db.engine)
    assert upgrade_database(empty_db.engine).created_tables == []
    assert schema_differences(empty_db.engine) == []


def test_a_database_made_by_create_all_is_refused_then_adopted(empty_db):
    kept = made_before_migrations(empty_db)
    with pytest.raises(SchemaNotCurrent, match="before schema migrations: run `partnerflow db"):
        open_database(_url(empty_db.engine)).engine.dispose()

    result = upgrade_database(empty_db.engine)
    assert result.before.state is SchemaState.UNVERSIONED
    assert not kept & set(result.created_tables)
    assert result.after.state is SchemaState.CURRENT
    assert schema_differences(empty_db.engine) == []
    with empty_db.transaction() as session:
        assert session.get(Provider, "acme") is not None


def test_an_older_create_all_database_gains_what_it_lacked(empty_db):
    made_before_migrations(empty_db, lacking=REVIEW_TABLES)
    with empty_db.engine.begin() as connection:
        connection.execute(text("ALTER TABLE orders DROP COLUMN rating_comment"))

    result = upgrade_database(empty_db.engine)
    assert {"program_reviews", "review_snapshots"} <= set(result.created_tables)
    assert schema_differences(empty_db.engine) == []
    with empty_db.transaction() as session:
        assert session.get(Provider, "acme") is not None


@pytest.fixture
def newer_code(tmp_path: Path) -> Path:
    """This code's migrations plus one more revision, as the next partnerflow would ship them."""
    location = tmp_path / "newer-migrations"
    shutil.copytree(
        migrations.runner.SCRIPT_LOCATION, location, ignore=shutil.ignore_patterns("__pycache__")
    )
    (location / "versions" / "9001_probe.py").write_text(NEXT_REVISION.format(head=code_heads()[0]))
    return location


def test_a_database_behind_the_code_is_refused_with_what_to_run(empty_db, newer_code, monkeypatch):
    upgrade_database(empty_db.engine)
    monkeypatch.setattr(migrations.runner, "SCRIPT_LOCATION", newer_code)
    status = schema_status(empty_db.engine)
    assert status.state is SchemaState.BEHIND
    with pytest.raises(SchemaNotCurrent) as refused:
        open_database(_url(empty_db.engine)).engine.dispose()
    head = code_heads()
    assert str(refused.value).endswith(
        f"is at schema revision {status.revisions[0]}, and this partnerflow needs {head[0]}: "
        "run `partnerflow db upgrade` (with the same PARTNERFLOW_DATABASE_URL), then start "
        "this again"
    )
    assert upgrade_database(empty_db.engine).after.state is SchemaState.CURRENT
    assert "probe" in _tables(empty_db.engine)


def test_a_database_ahead_of_the_code_is_refused(empty_db, newer_code, monkeypatch):
    with monkeypatch.context() as newer:
        newer.setattr(migrations.runner, "SCRIPT_LOCATION", newer_code)
        upgrade_database(empty_db.engine)
    assert schema_status(empty_db.engine).state is SchemaState.UNKNOWN
    with pytest.raises(SchemaNotCurrent, match="9001, which this partnerflow .* does not know"):
        open_database(_url(empty_db.engine)).engine.dispose()
    with pytest.raises(SchemaNotCurrent, match="a newer partnerflow has migrated it"):
        upgrade_database(empty_db.engine)


def test_db_commands_adopt_report_and_check(empty_db):
    if empty_db.engine.dialect.name != "sqlite":
        pytest.skip("the commands are the same on PostgreSQL; the runner is tested on both")
    env = {"PARTNERFLOW_DATABASE_URL": _url(empty_db.engine), "COLUMNS": "200"}
    made_before_migrations(empty_db, lacking=REVIEW_TABLES)

    current = runner.invoke(app, ["db", "current"], env=env)
    assert current.exit_code == 0, current.output
    assert "unversioned" in current.output and "partnerflow db upgrade" in current.output
    assert runner.invoke(app, ["db", "check"], env=env).exit_code == 1

    upgraded = runner.invoke(app, ["db", "upgrade"], env=env)
    assert upgraded.exit_code == 0, upgraded.output
    assert "Adopted the database" in upgraded.output
    assert "program_reviews, reseller_feedback, reseller_keys, review_snapshots" in upgraded.output

    checked = runner.invoke(app, ["db", "check"], env=env)
    assert checked.exit_code == 0, checked.output
    assert f"at revision {code_heads()[0]} and matches" in checked.output

    with empty_db.engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_orders_provider_created"))
    drifted = runner.invoke(app, ["db", "check"], env=env)
    assert drifted.exit_code == 1
    assert "add_index ix_orders_provider_created on orders" in drifted.output


def test_the_migrations_keep_utc_datetimes(db):
    created = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    with db.transaction() as session:
        session.add(Provider(id="acme", name="Acme Fiber", program={}, created_at=created))
    with db.transaction() as session:
        provider = session.get(Provider, "acme")
        assert provider is not None and provider.created_at == created


def test_a_new_revision_is_numbered_after_head_and_empty_when_nothing_changed(
    tmp_path, monkeypatch
):
    location = tmp_path / "migrations"
    shutil.copytree(
        migrations.runner.SCRIPT_LOCATION, location, ignore=shutil.ignore_patterns("__pycache__")
    )
    monkeypatch.setattr(migrations.runner, "SCRIPT_LOCATION", location)
    head = code_heads()[0]
    path = new_revision("nothing changed", tmp_path / "scratch.db")
    assert path.parent == location / "versions"
    assert path.name == f"{int(head) + 1:04d}_nothing_changed.py"
    source = path.read_text()
    assert f"down_revision: str | Sequence[str] | None = {head!r}" in source
    upgrade = source.split("def upgrade() -> None:")[1].split("def downgrade")[0]
    assert "pass" in upgrade and "op." not in upgrade


def test_the_package_ships_every_migration_file():
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    setuptools = pyproject["tool"]["setuptools"]
    assert "migrations*" in setuptools["packages"]["find"]["include"]
    declared = set(setuptools["package-data"]["migrations"])
    location = migrations.runner.SCRIPT_LOCATION
    assert (location / "versions" / "__init__.py").exists()  # a package, so it is installed
    for path in location.rglob("*"):
        if path.is_file() and path.suffix not in (".py", ".pyc"):
            assert str(path.relative_to(location)) in declared, path


def _migrate(engine: Engine, action: str, revision: str) -> None:
    with engine.connect() as connection:
        with connection.begin():
            getattr(alembic_command, action)(alembic_config(connection), revision)


def test_0004_widens_the_signing_secret_and_its_downgrade_decrypts(
    empty_db, monkeypatch, secret_key
):
    engine = empty_db.engine
    upgrade_database(engine, "0003")
    legacy = "whsec_" + "x" * 194  # the longest the 200-character column took
    with empty_db.transaction() as session:
        session.add(Provider(id="acme", name="Acme", program={}, created_at=datetime.now(UTC)))
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO delivery_settings (provider_id, channel, smtp_port, smtp_security, "
                "smtp_username, smtp_password, webhook_secret, updated_at) VALUES ('acme', "
                "'webhook', 587, 'starttls', 'u', 'legacy-password', :secret, CURRENT_TIMESTAMP)"
            ),
            {"secret": legacy},
        )
    upgrade_database(engine)
    assert schema_differences(engine) == []
    with empty_db.transaction() as session:
        secret = delivery_settings(session, "acme").webhook_secret
        assert secret is not None and secret.get_secret_value() == legacy
        reencrypt_secrets(session)

    def stored() -> tuple[str, str]:
        with engine.connect() as connection:
            row = connection.execute(
                text("SELECT smtp_password, webhook_secret FROM delivery_settings")
            ).one()
        return row[0], row[1]

    assert all(value.startswith(SEALED_PREFIX) for value in stored())
    assert len(stored()[1]) > 200

    monkeypatch.delenv(SECRET_KEY_VARIABLE)
    with pytest.raises(RuntimeError, match="set PARTNERFLOW_SECRET_KEY to the key"):
        _migrate(engine, "downgrade", "0003")
    assert schema_status(engine).revisions == code_heads()  # refused whole

    monkeypatch.setenv(SECRET_KEY_VARIABLE, secret_key)
    _migrate(engine, "downgrade", "0003")
    assert schema_status(engine).revisions == ["0003"]
    assert stored() == ("legacy-password", legacy)  # what the older code reads
    upgrade_database(engine)
    assert schema_status(engine).state is SchemaState.CURRENT
    assert schema_differences(engine) == []


def test_head_has_the_models_primary_keys(db):
    """Alembic's comparison leaves primary keys out: compared here, table by table."""
    inspector = inspect(db.engine)
    for table in Base.metadata.sorted_tables:
        reflected = inspector.get_pk_constraint(table.name)["constrained_columns"]
        assert reflected == [column.name for column in table.primary_key], table.name


SEED_0004 = [
    "INSERT INTO providers (id, name, program, program_version, created_at) VALUES "
    "('acme', 'Acme', '{}', 1, CURRENT_TIMESTAMP), ('globex', 'Globex', '{}', 1, "
    "CURRENT_TIMESTAMP)",
    "INSERT INTO resellers (team_id, name, created_at) VALUES ('team-a', 'A', CURRENT_TIMESTAMP)",
    "INSERT INTO offers (id, provider_id, name, visibility, monthly_price, created_at, "
    "updated_at) VALUES ('acme-fiber', 'acme', 'Fiber', 'public', 60, CURRENT_TIMESTAMP, "
    "CURRENT_TIMESTAMP), ('globex-fiber', 'globex', 'Fiber', 'public', 50, CURRENT_TIMESTAMP, "
    "CURRENT_TIMESTAMP)",
    "INSERT INTO orders (id, provider_id, offer_id, reseller_team_id, zip_code, monthly_price, "
    "status, created_at, updated_at, rating) VALUES "
    "('o-1', 'acme', 'acme-fiber', 'team-a', '98101', 60, 'completed', '2026-10-01 12:00:00', "
    "'2026-10-02 12:00:00', 4), "
    "('o-2', 'globex', 'globex-fiber', 'team-a', '10115', 50, 'pending', '2026-10-03 12:00:00', "
    "'2026-10-03 12:00:00', NULL)",
    "INSERT INTO order_events (provider_id, event_id, event_type, order_id, received_at) "
    "VALUES ('acme', 'ev-1', 'order.completed', 'o-1', CURRENT_TIMESTAMP)",
]
ORDER_ROWS = text(
    "SELECT provider_id, id, offer_id, status, monthly_price, rating FROM orders ORDER BY id"
)


def _orders_at_0004(engine: Engine) -> list[tuple[object, ...]]:
    """A database at revision 0004 with an order of each provider and an applied event."""
    upgrade_database(engine, "0004")
    with engine.begin() as connection:
        for statement in SEED_0004:
            connection.execute(text(statement))
        return [tuple(row) for row in connection.execute(ORDER_ROWS)]


def _globex_order(item_id: str) -> OrderItem:
    return OrderItem(
        item_id=item_id,
        offer_id="globex-fiber",
        reseller_team_id="team-a",
        service_address=ServiceAddress(zip_code="10115"),
        monthly_price=Decimal(50),
        status=OrderStatus.ACCEPTED,
        created_at=datetime(2026, 10, 5, tzinfo=UTC),
    )


def test_0005_keys_orders_by_provider_and_keeps_every_order(empty_db):
    engine = empty_db.engine
    before = _orders_at_0004(engine)
    upgrade_database(engine)
    assert schema_differences(engine) == []
    assert inspect(engine).get_pk_constraint("orders")["constrained_columns"] == [
        "provider_id",
        "id",
    ]
    with engine.connect() as connection:
        assert [tuple(row) for row in connection.execute(ORDER_ROWS)] == before

    with empty_db.transaction() as session:
        assert upsert_orders(session, "globex", [_globex_order("o-1")]).created == 1
        acme = session.get_one(Order, ("acme", "o-1"))
        assert (acme.status, acme.rating) == ("completed", 4)
    with pytest.raises(IntegrityError), empty_db.transaction() as session:
        session.add(
            OrderEvent(provider_id="globex", event_id="ev-x", event_type="x", order_id="o-9")
        )

    with pytest.raises(RuntimeError, match=r"more than one provider has orders of .* o-1,"):
        _migrate(engine, "downgrade", "0004")
    assert schema_status(engine).revisions == code_heads()  # refused whole
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM orders WHERE provider_id = 'globex' AND id = 'o-1'"))
    _migrate(engine, "downgrade", "0004")
    assert inspect(engine).get_pk_constraint("orders")["constrained_columns"] == ["id"]
    with engine.connect() as connection:
        assert [tuple(row) for row in connection.execute(ORDER_ROWS)] == before
    upgrade_database(engine)
    assert schema_differences(engine) == []


def test_0005_refuses_an_event_of_an_order_its_provider_lacks(empty_db):
    engine = empty_db.engine
    _orders_at_0004(engine)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO order_events (provider_id, event_id, event_type, order_id, "
                "received_at) VALUES ('globex', 'ev-2', 'order.cancelled', 'o-1', "
                "CURRENT_TIMESTAMP)"
            )
        )
    with pytest.raises(RuntimeError, match=r"cannot upgrade to revision 0005: 1 row\(s\)"):
        upgrade_database(engine)
    assert schema_status(engine).revisions == ["0004"]


# ---------------------------------------------------------------- 0006: outbox errors

LEAK = "internal-token=sk_live_DO-NOT-SHOW; redis 7.2 on 10.0.3.4:6379"
"""What an internal service answered a worker that older code let reach it."""
HOOK = "http://10.0.3.4:6379/hook"
REDIRECTED = " (a redirect, which is not followed: set the URL it leads to)"
MAIL_DOWN = "MailServerUnavailable: the mail server"
GAVE_UP = "gave up after 12 tries over 2 days; last error: "


def _smtp_error(error: smtplib.SMTPException) -> str:
    """How activities/notifications.py stores an error it retries: `Type: str(error)`."""
    return f"{type(error).__name__}: {error}"


OLD_ERRORS = [
    # The webhook channel before revision 0006 (activities/webhook_channel.py at 5bc470f).
    (
        f"the webhook at {HOOK} refused the message: HTTP 404 {LEAK}",
        f"the webhook at {HOOK} refused the message: HTTP 404",
    ),
    (
        f"the webhook at {HOOK} refused the message: HTTP 302 {LEAK} "
        "(redirect to http://169.254.169.254/latest/meta-data/: set that URL)",
        f"the webhook at {HOOK} refused the message: HTTP 302{REDIRECTED}",
    ),
    (
        f"the webhook at {HOOK} refused the message: HTTP 301 (redirect to ?: set that URL)",
        f"the webhook at {HOOK} refused the message: HTTP 301{REDIRECTED}",
    ),
    (
        f"WebhookUnavailable: the webhook at {HOOK} answered HTTP 503 {LEAK}\nline two",
        f"WebhookUnavailable: the webhook at {HOOK} answered HTTP 503",
    ),
    (
        f"{GAVE_UP}WebhookUnavailable: the webhook at {HOOK} answered HTTP 502 {LEAK}",
        f"{GAVE_UP}WebhookUnavailable: the webhook at {HOOK} answered HTTP 502",
    ),
    (  # a reply that quotes another format is cut where the first one starts
        f"WebhookUnavailable: the webhook at {HOOK} answered HTTP 500 the mail server x "
        f"refused y: 550 {LEAK}",
        f"WebhookUnavailable: the webhook at {HOOK} answered HTTP 500",
    ),
    (
        f"the mail server mx.example refused a@b.example: 550 {LEAK} the webhook at "
        "http://x.example/ refused the message: HTTP 200 (redirect to x: set that URL)",
        "the mail server mx.example refused a@b.example: SMTP 550",
    ),
    (
        "RemoteProtocolError: illegal status line: bytearray(b'SSH-2.0-OpenSSH_9.6')",
        "RemoteProtocolError: the answer was not valid HTTP",
    ),
    # The email channel before revision 0006 (activities/email_channel.py at 5bc470f).
    (
        f"the mail server smtp.acme.example refused gone@team-a.example: 550 5.1.1 {LEAK}",
        "the mail server smtp.acme.example refused gone@team-a.example: SMTP 550",
    ),
    (
        "the mail server 10.0.0.5 refused the message to sales@team-a.example: 554 5.7.1 "
        f"{LEAK}\n{LEAK}",
        "the mail server 10.0.0.5 refused the message to sales@team-a.example: SMTP 554",
    ),
    (
        f"{GAVE_UP}the mail server mx.example refused a@b.example: 550",
        f"{GAVE_UP}the mail server mx.example refused a@b.example: SMTP 550",
    ),
    (
        _smtp_error(smtplib.SMTPRecipientsRefused({"s@team-a.example": (450, LEAK.encode())})),
        f"{MAIL_DOWN} refused the recipient: SMTP 450",
    ),
    (
        _smtp_error(smtplib.SMTPSenderRefused(451, LEAK.encode(), "p@acme.example")),
        f"{MAIL_DOWN} refused the sender: SMTP 451",
    ),
    (
        _smtp_error(smtplib.SMTPDataError(452, LEAK.encode())),
        f"{MAIL_DOWN} refused the message: SMTP 452",
    ),
    (
        _smtp_error(smtplib.SMTPAuthenticationError(535, LEAK.encode())),
        f"{MAIL_DOWN} refused the login: SMTP 535",
    ),
    (
        _smtp_error(smtplib.SMTPConnectError(554, LEAK.encode())),
        f"{MAIL_DOWN} refused the connection: SMTP 554",
    ),
    (
        _smtp_error(smtplib.SMTPHeloError(501, LEAK.encode())),
        f"{MAIL_DOWN} refused our greeting: SMTP 501",
    ),
    (
        _smtp_error(smtplib.SMTPResponseException(454, LEAK.encode())),
        f"{MAIL_DOWN} answered SMTP 454",
    ),
    (
        GAVE_UP
        + _smtp_error(
            smtplib.SMTPException(
                "Server AUTH mechanism infinite loop. Last response: " + repr((334, LEAK.encode()))
            )
        ),
        f"{GAVE_UP}{MAIL_DOWN} could not be used during the login (SMTPException)",
    ),
]
"""Each value older code wrote with a reply in it, and what revision 0006 leaves of it."""

OUR_OWN_WORDS = [
    None,
    "no email address for team-a: set one with PUT /provider/partners/team-a/contact",
    "ConnectError: [Errno 111] Connection refused",
    "ConnectionRefusedError: [Errno 111] Connection refused",
    "SMTPServerDisconnected: Connection unexpectedly closed: timed out",
    "SMTPNotSupportedError: STARTTLS extension not supported by server.",
    "SecretKeyError: the webhook signing secret of provider acme cannot be decrypted",
    f"the webhook at {HOOK} refused the message: HTTP 410",
    f"the webhook at {HOOK} refused the message: HTTP 307{REDIRECTED}",
    "WebhookUnavailable: could not connect to hooks.example.com: connection refused",
    "the SMTP host 127.0.0.1 must not point at a private or local address (127.0.0.1)",
    f"{MAIL_DOWN} smtp.acme.example refused the message to a@b.example: SMTP 451",
    f"{GAVE_UP}MailServerUnavailable: could not connect to smtp.acme.example:587: timed out",
]
"""Values with no reply in them, as older and current code write them: left as they are."""


def _revision_0006() -> ModuleType:
    return importlib.import_module("migrations.versions.0006_outbox_errors_without_replies")


@pytest.mark.parametrize(("old", "kept"), OLD_ERRORS)
def test_0006_keeps_of_each_old_reply_only_what_we_can_say(old: str, kept: str):
    without_replies = _revision_0006().without_replies
    assert without_replies(old) == kept
    assert without_replies(kept) == kept, "a second run changes nothing"
    assert "internal-token" not in kept and "SSH-2.0" not in kept and "169.254" not in kept


@pytest.mark.parametrize("error", [value for value in OUR_OWN_WORDS if value is not None])
def test_0006_leaves_our_own_words_alone(error: str):
    assert _revision_0006().without_replies(error) == error


def test_0006_rewrites_the_outbox_and_its_downgrade_keeps_it(empty_db):
    engine = empty_db.engine
    upgrade_database(engine, "0005")
    # Each value once, then more than a batch of one, so that the upgrade reads several.
    old, kept = OLD_ERRORS[0]
    many = _revision_0006().BATCH + 1
    values = [old for old, _ in OLD_ERRORS] + OUR_OWN_WORDS + [old] * many
    expected = [kept for _, kept in OLD_ERRORS] + OUR_OWN_WORDS + [kept] * many
    with engine.begin() as connection:
        for statement in SEED_0004[:2]:
            connection.execute(text(statement))
        connection.execute(
            text(
                "INSERT INTO notifications (idempotency_key, provider_id, reseller_team_id, "
                "recipient, kind, channel, subject, body, status, created_at, attempts, "
                "last_error) VALUES (:key, 'acme', 'team-a', 'partner', 'welcome', 'email', "
                "'Welcome', 'Hello', 'bounced', CURRENT_TIMESTAMP, 1, :error)"
            ),
            [{"key": f"k{n:05d}", "error": value} for n, value in enumerate(values)],
        )

    def stored() -> list[str | None]:
        with engine.connect() as connection:
            query = text("SELECT last_error FROM notifications ORDER BY idempotency_key")
            return list(connection.scalars(query))

    upgrade_database(engine)
    assert schema_status(engine).state is SchemaState.CURRENT
    assert stored() == expected
    _migrate(engine, "downgrade", "0005")
    assert stored() == expected, "nothing to undo: the replies are gone"
    upgrade_database(engine)
    assert stored() == expected
    assert schema_differences(engine) == []
