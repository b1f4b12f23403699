"""reseller registry and key labels: resellers gain a contact and a region, keys a label

The marketplace's resellers are now registered and updated through partnerflow (`partnerflow
resellers import`, `PUT /marketplace/resellers`) rather than by SQL, with the fields the
providers search and read: a contact's name, a phone number and a region, beside the name,
email and join date they had. A provider's API keys can now be listed, labelled and revoked:
each gains a `label` (what the key is for) and `last_used_at` (written at most once a minute
per key). Upgrading adds the columns, empty; downgrading drops them and what they held.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 04:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RESELLER_COLUMNS = (
    ("contact_name", sa.String(length=200)),
    ("phone", sa.String(length=50)),
    ("region", sa.String(length=100)),
)
KEY_COLUMNS = (
    ("label", sa.String(length=100)),
    ("last_used_at", sa.DateTime(timezone=True)),
)


def _columns(table: str) -> set[str]:
    return {column["name"] for column in sa.inspect(op.get_bind()).get_columns(table)}


def upgrade() -> None:
    # A column already there is left alone: a second attempt after a failed one on SQLite
    # (whose ALTERs are not undone with the rest of the step) finds the first's columns.
    for table, columns in (("resellers", RESELLER_COLUMNS), ("api_keys", KEY_COLUMNS)):
        present = _columns(table)
        for name, kind in columns:
            if name not in present:
                op.add_column(table, sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+ has it): batch mode's copy of `resellers` would be
    # refused on SQLite, whose foreign keys from other tables point at it.
    for table, columns in (("api_keys", KEY_COLUMNS), ("resellers", RESELLER_COLUMNS)):
        present = _columns(table)
        for name, _ in reversed(columns):
            if name in present:
                op.execute(f"ALTER TABLE {table} DROP COLUMN {name}")
