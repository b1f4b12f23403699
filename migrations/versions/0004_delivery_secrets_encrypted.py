"""delivery secrets encrypted: webhook_secret as text

A webhook signing secret is now stored as a Fernet token (store.secret_box), longer than
the 200 characters the column held. Upgrading encrypts nothing: plain-text secrets still
read, and `partnerflow secrets reencrypt` (or their next write) encrypts them, with the key
that the migration does not need. Downgrading decrypts them back to plain text, which the
code before this revision reads, with the keys in PARTNERFLOW_SECRET_KEY.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 20:53:42.129946
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out rather than imported, so that this revision keeps working as the code changes.
SEALED_PREFIX = "fernet:"
SECRET_KEY_VARIABLE = "PARTNERFLOW_SECRET_KEY"
SECRET_COLUMNS = ("smtp_password", "webhook_secret")

settings = sa.table(
    "delivery_settings",
    sa.column("provider_id", sa.String()),
    *(sa.column(name, sa.Text()) for name in SECRET_COLUMNS),
)


def upgrade() -> None:
    with op.batch_alter_table("delivery_settings", schema=None) as batch_op:
        batch_op.alter_column(
            "webhook_secret",
            existing_type=sa.VARCHAR(length=200),
            type_=sa.Text(),
            existing_nullable=True,
        )


def _decrypt_stored_secrets() -> None:
    """Plain text again, which the code before this revision reads as the secret itself."""
    connection = op.get_bind()
    rows = connection.execute(sa.select(settings)).mappings().all()
    sealed = [
        row for row in rows if any((row[c] or "").startswith(SEALED_PREFIX) for c in SECRET_COLUMNS)
    ]
    if not sealed:
        return
    keys = [key.strip() for key in os.environ.get(SECRET_KEY_VARIABLE, "").split(",")]
    if not any(keys):
        raise RuntimeError(
            f"cannot downgrade below revision 0004: {len(sealed)} provider(s) have encrypted "
            f"delivery secrets, which the older code cannot read; set {SECRET_KEY_VARIABLE} to "
            "the key(s) they were encrypted with, so that the downgrade decrypts them"
        )
    box = MultiFernet([Fernet(key) for key in keys if key])
    for row in sealed:
        plain = {}
        for column in SECRET_COLUMNS:
            stored = row[column]
            if stored is None or not stored.startswith(SEALED_PREFIX):
                continue
            try:
                token = stored.removeprefix(SEALED_PREFIX).encode()
                plain[column] = box.decrypt(token).decode()
            except InvalidToken:
                raise RuntimeError(
                    f"cannot downgrade below revision 0004: the {column} of provider "
                    f"{row['provider_id']} cannot be decrypted with the keys in "
                    f"{SECRET_KEY_VARIABLE}"
                ) from None
        connection.execute(
            settings.update().where(settings.c.provider_id == row["provider_id"]).values(**plain)
        )


def downgrade() -> None:
    _decrypt_stored_secrets()
    with op.batch_alter_table("delivery_settings", schema=None) as batch_op:
        batch_op.alter_column(
            "webhook_secret",
            existing_type=sa.Text(),
            type_=sa.VARCHAR(length=200),
            existing_nullable=True,
        )
