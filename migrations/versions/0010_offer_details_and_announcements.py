"""offer details and announcements: the program documents' offer shape, tier prices, and
messages a provider sends its partners when it chooses

Offers gain what the program documents give them: a category, a status (only an `active`
offer is seen by anyone; every offer before this revision is active), a name for the
provider's own use (`internal_name`, never shown to resellers), a description, metadata
(early access and its public launch date, an exclusivity date, a minimum of monthly orders)
and a price per tier (`tier_prices`). `announcements` keeps each announcement a provider
sends (now or at a time): its kind, text, audience and where it stands.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 06:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def offer_columns() -> tuple[sa.Column[object], ...]:
    """Fresh each time: a column added to a table belongs to it."""
    return (
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False, server_default="active"),
        sa.Column("internal_name", sa.String(length=200), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=True),
        sa.Column("tier_prices", sa.JSON(), nullable=True),
    )


def _columns(table: str) -> set[str]:
    return {column["name"] for column in sa.inspect(op.get_bind()).get_columns(table)}


def upgrade() -> None:
    # What a failed first attempt on SQLite (whose DDL is not undone) left is kept.
    present = _columns("offers")
    for column in offer_columns():
        if column.name not in present:
            op.add_column("offers", column)
    if "announcements" not in sa.inspect(op.get_bind()).get_table_names():
        op.create_table(
            "announcements",
            sa.Column("provider_id", sa.String(length=100), nullable=False),
            sa.Column("id", sa.String(length=100), nullable=False),
            sa.Column("kind", sa.String(length=40), nullable=False),
            sa.Column("subject", sa.Text(), nullable=False),
            sa.Column("body", sa.Text(), nullable=False),
            sa.Column("audience", sa.JSON(), nullable=False),
            sa.Column("send_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("status", sa.String(length=20), nullable=False),
            sa.Column("recipients", sa.Integer(), nullable=True),
            sa.Column("created_by", sa.String(length=200), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
            sa.ForeignKeyConstraint(
                ["provider_id"],
                ["providers.id"],
                name=op.f("fk_announcements_provider_id_providers"),
            ),
            sa.PrimaryKeyConstraint("provider_id", "id", name=op.f("pk_announcements")),
        )


def downgrade() -> None:
    if "announcements" in sa.inspect(op.get_bind()).get_table_names():
        op.drop_table("announcements")
    present = _columns("offers")
    for column in reversed(offer_columns()):
        if column.name in present:
            op.execute(f"ALTER TABLE offers DROP COLUMN {column.name}")
