"""partner communications: delivery settings, contacts, outbox states

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 19:16:43.639602
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "delivery_settings",
        sa.Column("provider_id", sa.String(length=100), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("smtp_host", sa.String(length=255), nullable=True),
        sa.Column("smtp_port", sa.Integer(), nullable=False),
        sa.Column("smtp_security", sa.String(length=20), nullable=False),
        sa.Column("smtp_username", sa.String(length=320), nullable=True),
        sa.Column("smtp_password", sa.Text(), nullable=True),
        sa.Column("from_address", sa.String(length=320), nullable=True),
        sa.Column("provider_email", sa.String(length=320), nullable=True),
        sa.Column("provider_webhook_url", sa.String(length=2000), nullable=True),
        sa.Column("webhook_secret", sa.String(length=200), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_delivery_settings_provider_id_providers"),
        ),
        sa.PrimaryKeyConstraint("provider_id", name=op.f("pk_delivery_settings")),
    )
    op.create_table(
        "partner_contacts",
        sa.Column("provider_id", sa.String(length=100), nullable=False),
        sa.Column("reseller_team_id", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("webhook_url", sa.String(length=2000), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_partner_contacts_provider_id_providers"),
        ),
        sa.ForeignKeyConstraint(
            ["reseller_team_id"],
            ["resellers.team_id"],
            name=op.f("fk_partner_contacts_reseller_team_id_resellers"),
        ),
        sa.PrimaryKeyConstraint(
            "provider_id", "reseller_team_id", name=op.f("pk_partner_contacts")
        ),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address", sa.String(length=2000), nullable=True))
        # Messages already in the outbox were tried once, by the channel of their day.
        batch_op.add_column(
            sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("1"))
        )
        batch_op.add_column(sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch_op.create_index(
            "ix_notifications_provider_status", ["provider_id", "status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_provider_status")
        batch_op.drop_column("last_error")
        batch_op.drop_column("last_attempt_at")
        batch_op.drop_column("attempts")
        batch_op.drop_column("address")

    op.drop_table("partner_contacts")
    op.drop_table("delivery_settings")
