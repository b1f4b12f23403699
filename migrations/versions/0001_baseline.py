"""Baseline: the schema as partnerflow had it before migrations, made with `create_all`.

That is partnerflow 0.1's tables and the providers' message templates, the last
table added before Alembic was.

Every table and index is created only where it is missing, so that the same
revision builds a new database and adopts one made before migrations: such a
database keeps its rows, gains the tables and indexes an older partnerflow did
not have yet, and is stamped with this revision. The one column ever added to
an existing table before migrations, `orders.rating_comment`, is added too
where it is missing.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "providers",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("program", sa.JSON(), nullable=False),
        sa.Column("program_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_providers")),
        if_not_exists=True,
    )
    op.create_table(
        "resellers",
        sa.Column("team_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_resellers")),
        if_not_exists=True,
    )
    op.create_table(
        "agreement_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("idempotency_key", sa.String(length=400), nullable=False),
        sa.Column("provider_id", sa.String(length=100), nullable=False),
        sa.Column("agreement_id", sa.String(length=200), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_agreement_events_provider_id_providers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreement_events")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_agreement_events_idempotency_key")),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_agreement_events_agreement"),
        "agreement_events",
        ["provider_id", "agreement_id"],
        if_not_exists=True,
    )

    op.create_table(
        "agreement_scorecards",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("idempotency_key", sa.String(length=400), nullable=False),
        sa.Column("provider_id", sa.String(length=100), nullable=False),
        sa.Column("agreement_id", sa.String(length=200), nullable=False),
        sa.Column("reseller_team_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("term_number", sa.Integer(), nullable=False),
        sa.Column("period_number", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("met", sa.Boolean(), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_agreement_scorecards_provider_id_providers"),
        ),
        sa.ForeignKeyConstraint(
            ["reseller_team_id"],
            ["resellers.team_id"],
            name=op.f("fk_agreement_scorecards_reseller_team_id_resellers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreement_scorecards")),
        sa.UniqueConstraint(
            "idempotency_key", name=op.f("uq_agreement_scorecards_idempotency_key")
        ),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_agreement_scorecards_agreement"),
        "agreement_scorecards",
        ["provider_id", "agreement_id"],
        if_not_exists=True,
    )

    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("provider_id", sa.String(length=100), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_api_keys_provider_id_providers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_api_keys_provider_id"), "api_keys", ["provider_id"], if_not_exists=True
    )

    op.create_table(
        "exclusive_claims",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("provider_id", sa.String(length=100), nullable=False),
        sa.Column("claim", sa.String(length=120), nullable=False),
        sa.Column("agreement_id", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_exclusive_claims_provider_id_providers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exclusive_claims")),
        sa.UniqueConstraint("provider_id", "claim", name=op.f("uq_exclusive_claims_provider_id")),
        if_not_exists=True,
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("idempotency_key", sa.String(length=400), nullable=False),
        sa.Column("provider_id", sa.String(length=100), nullable=False),
        sa.Column("reseller_team_id", sa.String(length=100), nullable=False),
        sa.Column("recipient", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_notifications_provider_id_providers")
        ),
        sa.ForeignKeyConstraint(
            ["reseller_team_id"],
            ["resellers.team_id"],
            name=op.f("fk_notifications_reseller_team_id_resellers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_notifications_idempotency_key")),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_notifications_partner"),
        "notifications",
        ["provider_id", "reseller_team_id"],
        if_not_exists=True,
    )

    op.create_table(
        "offers",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("provider_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("visibility", sa.String(length=20), nullable=False),
        sa.Column("min_tier", sa.String(length=20), nullable=True),
        sa.Column("monthly_price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_offers_provider_id_providers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offers")),
        if_not_exists=True,
    )
    op.create_index(op.f("ix_offers_provider_id"), "offers", ["provider_id"], if_not_exists=True)

    op.create_table(
        "order_events",
        sa.Column("provider_id", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.String(length=100), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_order_events_provider_id_providers")
        ),
        sa.PrimaryKeyConstraint("provider_id", "event_id", name=op.f("pk_order_events")),
        if_not_exists=True,
    )
    op.create_table(
        "partner_notes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("idempotency_key", sa.String(length=400), nullable=False),
        sa.Column("provider_id", sa.String(length=100), nullable=False),
        sa.Column("reseller_team_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_partner_notes_provider_id_providers")
        ),
        sa.ForeignKeyConstraint(
            ["reseller_team_id"],
            ["resellers.team_id"],
            name=op.f("fk_partner_notes_reseller_team_id_resellers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_notes")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_partner_notes_idempotency_key")),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_partner_notes_partner"),
        "partner_notes",
        ["provider_id", "reseller_team_id"],
        if_not_exists=True,
    )

    op.create_table(
        "preferred_list",
        sa.Column("provider_id", sa.String(length=100), nullable=False),
        sa.Column("reseller_team_id", sa.String(length=100), nullable=False),
        sa.Column("workflow_id", sa.String(length=300), nullable=False),
        sa.Column("partnership_id", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("tier", sa.String(length=20), nullable=False),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("grace_deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sequence", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_preferred_list_provider_id_providers")
        ),
        sa.ForeignKeyConstraint(
            ["reseller_team_id"],
            ["resellers.team_id"],
            name=op.f("fk_preferred_list_reseller_team_id_resellers"),
        ),
        sa.PrimaryKeyConstraint("provider_id", "reseller_team_id", name=op.f("pk_preferred_list")),
        if_not_exists=True,
    )
    op.create_table(
        "program_reviews",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("provider_id", sa.String(length=100), nullable=False),
        sa.Column("cadence", sa.String(length=20), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("program_version", sa.Integer(), nullable=False),
        sa.Column("program", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assessment", sa.JSON(), nullable=True),
        sa.Column("fan_out", sa.JSON(), nullable=True),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_program_reviews_provider_id_providers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_reviews")),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_program_reviews_provider_end"),
        "program_reviews",
        ["provider_id", "window_end"],
        if_not_exists=True,
    )

    op.create_table(
        "program_versions",
        sa.Column("provider_id", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("program", sa.JSON(), nullable=False),
        sa.Column("changed_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_program_versions_provider_id_providers"),
        ),
        sa.PrimaryKeyConstraint("provider_id", "version", name=op.f("pk_program_versions")),
        if_not_exists=True,
    )
    op.create_table(
        "transition_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("idempotency_key", sa.String(length=400), nullable=False),
        sa.Column("workflow_id", sa.String(length=300), nullable=False),
        sa.Column("provider_id", sa.String(length=100), nullable=False),
        sa.Column("reseller_team_id", sa.String(length=100), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("from_tier", sa.String(length=20), nullable=False),
        sa.Column("to_tier", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_transition_log_provider_id_providers")
        ),
        sa.ForeignKeyConstraint(
            ["reseller_team_id"],
            ["resellers.team_id"],
            name=op.f("fk_transition_log_reseller_team_id_resellers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transition_log")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_transition_log_idempotency_key")),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_transition_log_workflow_id"), "transition_log", ["workflow_id"], if_not_exists=True
    )

    op.create_table(
        "agreements",
        sa.Column("provider_id", sa.String(length=100), nullable=False),
        sa.Column("agreement_id", sa.String(length=200), nullable=False),
        sa.Column("agreement_uid", sa.String(length=100), nullable=False),
        sa.Column("workflow_id", sa.String(length=300), nullable=False),
        sa.Column("reseller_team_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("offer_id", sa.String(length=100), nullable=False),
        sa.Column("zip_codes", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("term_number", sa.Integer(), nullable=False),
        sa.Column("term_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("breaches_in_term", sa.Integer(), nullable=False),
        sa.Column("previous_visibility", sa.String(length=20), nullable=False),
        sa.Column("previous_min_tier", sa.String(length=20), nullable=True),
        sa.Column("previous_allowed", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offers.id"], name=op.f("fk_agreements_offer_id_offers")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_agreements_provider_id_providers")
        ),
        sa.ForeignKeyConstraint(
            ["reseller_team_id"],
            ["resellers.team_id"],
            name=op.f("fk_agreements_reseller_team_id_resellers"),
        ),
        sa.PrimaryKeyConstraint("provider_id", "agreement_id", name=op.f("pk_agreements")),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_agreements_reseller_team_id"),
        "agreements",
        ["reseller_team_id"],
        if_not_exists=True,
    )

    op.create_table(
        "offer_access",
        sa.Column("offer_id", sa.String(length=100), nullable=False),
        sa.Column("reseller_team_id", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offers.id"], name=op.f("fk_offer_access_offer_id_offers")
        ),
        sa.ForeignKeyConstraint(
            ["reseller_team_id"],
            ["resellers.team_id"],
            name=op.f("fk_offer_access_reseller_team_id_resellers"),
        ),
        sa.PrimaryKeyConstraint(
            "offer_id", "reseller_team_id", "source", name=op.f("pk_offer_access")
        ),
        if_not_exists=True,
    )
    op.create_table(
        "offer_blocks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("provider_id", sa.String(length=100), nullable=False),
        sa.Column("reseller_team_id", sa.String(length=100), nullable=False),
        sa.Column("offer_id", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offers.id"], name=op.f("fk_offer_blocks_offer_id_offers")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_offer_blocks_provider_id_providers")
        ),
        sa.ForeignKeyConstraint(
            ["reseller_team_id"],
            ["resellers.team_id"],
            name=op.f("fk_offer_blocks_reseller_team_id_resellers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offer_blocks")),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_offer_blocks_partner"),
        "offer_blocks",
        ["provider_id", "reseller_team_id"],
        if_not_exists=True,
    )

    op.create_table(
        "orders",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("provider_id", sa.String(length=100), nullable=False),
        sa.Column("offer_id", sa.String(length=100), nullable=False),
        sa.Column("reseller_team_id", sa.String(length=100), nullable=False),
        sa.Column("zip_code", sa.String(length=10), nullable=False),
        sa.Column("monthly_price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("rating_comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offers.id"], name=op.f("fk_orders_offer_id_offers")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_orders_provider_id_providers")
        ),
        sa.ForeignKeyConstraint(
            ["reseller_team_id"],
            ["resellers.team_id"],
            name=op.f("fk_orders_reseller_team_id_resellers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_orders_provider_created"),
        "orders",
        ["provider_id", "created_at"],
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_orders_provider_reseller_created"),
        "orders",
        ["provider_id", "reseller_team_id", "created_at"],
        if_not_exists=True,
    )

    op.create_table(
        "review_snapshots",
        sa.Column("review_id", sa.String(length=200), nullable=False),
        sa.Column("reseller_team_id", sa.String(length=100), nullable=False),
        sa.Column("status_before", sa.String(length=20), nullable=True),
        sa.Column("tier_before", sa.String(length=20), nullable=False),
        sa.Column("standing", sa.String(length=20), nullable=False),
        sa.Column("status_after", sa.String(length=20), nullable=True),
        sa.Column("tier_after", sa.String(length=20), nullable=False),
        sa.Column("total_orders", sa.Integer(), nullable=False),
        sa.Column("accepted_orders", sa.Integer(), nullable=False),
        sa.Column("decided_orders", sa.Integer(), nullable=False),
        sa.Column("fulfilled_orders", sa.Integer(), nullable=False),
        sa.Column("orders_per_month", sa.Double(), nullable=False),
        sa.Column("acceptance_rate", sa.Double(), nullable=True),
        sa.Column("completion_rate", sa.Double(), nullable=True),
        sa.Column("cancellation_rate", sa.Double(), nullable=True),
        sa.Column("average_rating", sa.Double(), nullable=True),
        sa.Column("rated_orders", sa.Integer(), nullable=False),
        sa.Column("average_order_value", sa.Double(), nullable=True),
        sa.Column("revenue", sa.Double(), nullable=False),
        sa.Column("month_over_month_growth", sa.Double(), nullable=True),
        sa.Column("tenure_months", sa.Integer(), nullable=False),
        sa.Column("failed_criteria", sa.Text(), nullable=True),
        sa.Column("signalled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["program_reviews.id"],
            name=op.f("fk_review_snapshots_review_id_program_reviews"),
        ),
        sa.PrimaryKeyConstraint("review_id", "reseller_team_id", name=op.f("pk_review_snapshots")),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_review_snapshots_review_standing"),
        "review_snapshots",
        ["review_id", "standing"],
        if_not_exists=True,
    )
    op.create_table(
        "message_templates",
        sa.Column("provider_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("changed_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_message_templates_provider_id_providers"),
        ),
        sa.PrimaryKeyConstraint(
            "provider_id", "kind", "version", name=op.f("pk_message_templates")
        ),
        if_not_exists=True,
    )
    _add_columns_older_databases_lack()


def _add_columns_older_databases_lack() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("orders")}
    if "rating_comment" not in columns:
        with op.batch_alter_table("orders") as batch:
            batch.add_column(sa.Column("rating_comment", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_table("message_templates")
    op.drop_table("review_snapshots")
    op.drop_table("orders")
    op.drop_table("offer_blocks")
    op.drop_table("offer_access")
    op.drop_table("agreements")
    op.drop_table("transition_log")
    op.drop_table("program_versions")
    op.drop_table("program_reviews")
    op.drop_table("preferred_list")
    op.drop_table("partner_notes")
    op.drop_table("order_events")
    op.drop_table("offers")
    op.drop_table("notifications")
    op.drop_table("exclusive_claims")
    op.drop_table("api_keys")
    op.drop_table("agreement_scorecards")
    op.drop_table("agreement_events")
    op.drop_table("resellers")
    op.drop_table("providers")
