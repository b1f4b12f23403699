"""program changes: a change with an effective date waits in its own table

Before, a change of a provider's program was in force the moment it was saved. A change may
now carry an effective date: until then it is kept in `program_changes` with the version it
was based on and its status (`scheduled`, then `applied`, `cancelled` or `superseded`), and
the program in force (`providers.program`, `program_versions`) is left as it is. A change that
tightens the criteria is kept there too, as the record its announcement to the partners it
affects is sent from. Upgrading adds the empty table; downgrading drops it, with any change
still waiting (its workflow then finds nothing to put in force and does nothing).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 03:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "program_changes",
        sa.Column("provider_id", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("based_on", sa.Integer(), nullable=False),
        sa.Column("program", sa.JSON(), nullable=False),
        sa.Column("changed_by", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_program_changes_provider_id_providers"),
        ),
        sa.PrimaryKeyConstraint("provider_id", "version", name=op.f("pk_program_changes")),
        if_not_exists=True,
    )


def downgrade() -> None:
    # On SQLite a DROP is not undone when a later step of the same downgrade fails (0004's,
    # without the secret key): a second attempt then finds the table gone.
    op.drop_table("program_changes", if_exists=True)
