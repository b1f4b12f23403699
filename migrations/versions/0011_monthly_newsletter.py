"""monthly newsletter: a provider's opt-in, and one row per month it was sent

`newsletter_settings` holds whether a provider sends the monthly newsletter (none: it does
not). `newsletters` keeps each month's newsletter of a provider: where it stands and how many
partners it went to; its messages are in the outbox under `newsletter/{provider}/{month}/`.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 07:44:18.116329
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A table a failed first attempt on SQLite (whose DDL is not undone) left is kept.
    present = set(sa.inspect(op.get_bind()).get_table_names())
    if "newsletter_settings" not in present:
        _settings()
    if "newsletters" not in present:
        _newsletters()


def _settings() -> None:
    op.create_table(
        "newsletter_settings",
        sa.Column("provider_id", sa.String(length=100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_newsletter_settings_provider_id_providers"),
        ),
        sa.PrimaryKeyConstraint("provider_id", name=op.f("pk_newsletter_settings")),
    )


def _newsletters() -> None:
    op.create_table(
        "newsletters",
        sa.Column("provider_id", sa.String(length=100), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_newsletters_provider_id_providers")
        ),
        sa.PrimaryKeyConstraint("provider_id", "month", name=op.f("pk_newsletters")),
    )


def downgrade() -> None:
    present = set(sa.inspect(op.get_bind()).get_table_names())
    for table in ("newsletters", "newsletter_settings"):
        if table in present:
            op.drop_table(table)
