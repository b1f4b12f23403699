"""reseller portal: reseller keys, feedback, and notes a partner may read

Resellers sign in to a portal of their own. An operator issues a reseller team its keys
(`partnerflow resellers key TEAM`); like a provider's, each is kept only as a SHA-256 digest
with a prefix and a label, and can be revoked. Resellers send the providers whose programs
they see feedback of the program documents' kinds, kept in `reseller_feedback`. A provider's
notes on a partner gain a visibility: every note written before is `internal`, the default,
and only a note written `partner` is shown to the reseller.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 05:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _tables() -> set[str]:
    return set(sa.inspect(op.get_bind()).get_table_names())


def _columns(table: str) -> set[str]:
    return {column["name"] for column in sa.inspect(op.get_bind()).get_columns(table)}


def upgrade() -> None:
    # What a failed first attempt on SQLite (whose DDL is not undone) left is kept.
    tables = _tables()
    if "reseller_keys" not in tables:
        op.create_table(
            "reseller_keys",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("reseller_team_id", sa.String(length=100), nullable=False),
            sa.Column("key_hash", sa.String(length=64), nullable=False),
            sa.Column("prefix", sa.String(length=16), nullable=False),
            sa.Column("label", sa.String(length=100), nullable=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
            sa.ForeignKeyConstraint(
                ["reseller_team_id"],
                ["resellers.team_id"],
                name=op.f("fk_reseller_keys_reseller_team_id_resellers"),
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_reseller_keys")),
            sa.UniqueConstraint("key_hash", name=op.f("uq_reseller_keys_key_hash")),
        )
        op.create_index(
            op.f("ix_reseller_keys_reseller_team_id"),
            "reseller_keys",
            ["reseller_team_id"],
            unique=False,
        )
    if "reseller_feedback" not in tables:
        op.create_table(
            "reseller_feedback",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("provider_id", sa.String(length=100), nullable=False),
            sa.Column("reseller_team_id", sa.String(length=100), nullable=False),
            sa.Column("kind", sa.String(length=40), nullable=False),
            sa.Column("service_category", sa.String(length=100), nullable=True),
            sa.Column("zip_codes", sa.JSON(), nullable=False),
            sa.Column("text", sa.Text(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(
                ["provider_id"],
                ["providers.id"],
                name=op.f("fk_reseller_feedback_provider_id_providers"),
            ),
            sa.ForeignKeyConstraint(
                ["reseller_team_id"],
                ["resellers.team_id"],
                name=op.f("fk_reseller_feedback_reseller_team_id_resellers"),
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_reseller_feedback")),
        )
        op.create_index(
            "ix_reseller_feedback_provider_created",
            "reseller_feedback",
            ["provider_id", "created_at"],
            unique=False,
        )
        op.create_index(
            "ix_reseller_feedback_reseller_created",
            "reseller_feedback",
            ["reseller_team_id", "created_at"],
            unique=False,
        )
    if "visibility" not in _columns("partner_notes"):
        op.add_column(
            "partner_notes",
            sa.Column(
                "visibility", sa.String(length=20), nullable=False, server_default="internal"
            ),
        )


def downgrade() -> None:
    if "visibility" in _columns("partner_notes"):
        op.execute("ALTER TABLE partner_notes DROP COLUMN visibility")
    tables = _tables()
    if "reseller_feedback" in tables:
        op.drop_index("ix_reseller_feedback_reseller_created", table_name="reseller_feedback")
        op.drop_index("ix_reseller_feedback_provider_created", table_name="reseller_feedback")
        op.drop_table("reseller_feedback")
    if "reseller_keys" in tables:
        op.drop_index(op.f("ix_reseller_keys_reseller_team_id"), table_name="reseller_keys")
        op.drop_table("reseller_keys")
