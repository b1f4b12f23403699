"""order items per provider: orders keyed by (provider_id, id)

An item ID was unique across providers, so one provider's item could take the ID
another provider's later import needed, and tell it that the other had that item. Each
provider now has its own item IDs: the primary key of `orders` becomes
(provider_id, id), and an applied webhook event names its order by the same two columns,
under a foreign key. Every stored order keeps its ID and provider.

Upgrading refuses, changing nothing, when an applied event names an order its provider does
not have (which partnerflow never wrote). Downgrading refuses while two providers have an
order of the same item ID, which the single-column key cannot hold.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 10:12:40.118337
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

orders = sa.table("orders", sa.column("id", sa.String()), sa.column("provider_id", sa.String()))
order_events = sa.table(
    "order_events", sa.column("provider_id", sa.String()), sa.column("order_id", sa.String())
)


def _in_one_transaction() -> None:
    """pysqlite opens a transaction only before INSERT, UPDATE or DELETE, so a batch's first
    CREATE TABLE would commit alone: a refusal after it (by this revision or the next one
    down) would leave the table's copy behind, and the next try would fail on it."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    sqlite: Any = bind.connection.driver_connection
    if not sqlite.in_transaction:
        bind.exec_driver_sql("BEGIN")


def _events_without_their_order() -> int:
    """How many applied events name an item ID their provider has no order of."""
    theirs = sa.exists().where(
        orders.c.provider_id == order_events.c.provider_id,
        orders.c.id == order_events.c.order_id,
    )
    query = sa.select(sa.func.count()).select_from(order_events).where(~theirs)
    return int(op.get_bind().scalar(query) or 0)


def _item_ids_of_several_providers() -> list[str]:
    query = (
        sa.select(orders.c.id)
        .group_by(orders.c.id)
        .having(sa.func.count() > 1)
        .order_by(orders.c.id)
        .limit(5)
    )
    return list(op.get_bind().scalars(query))


def upgrade() -> None:
    _in_one_transaction()
    orphans = _events_without_their_order()
    if orphans:
        raise RuntimeError(
            f"cannot upgrade to revision 0005: {orphans} row(s) of order_events name an item "
            "ID that their provider has no order of; delete them or add the orders, then "
            "upgrade again"
        )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint("pk_orders", type_="primary")
        batch_op.create_primary_key("pk_orders", ["provider_id", "id"])
    with op.batch_alter_table("order_events", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_order_events_provider_id_orders"),
            "orders",
            ["provider_id", "order_id"],
            ["provider_id", "id"],
        )


def downgrade() -> None:
    _in_one_transaction()
    shared = _item_ids_of_several_providers()
    if shared:
        raise RuntimeError(
            "cannot downgrade below revision 0005: more than one provider has orders of the "
            f"item ID(s) {', '.join(shared)}, which the older code keeps unique across providers"
        )
    with op.batch_alter_table("order_events", schema=None) as batch_op:
        batch_op.drop_constraint("fk_order_events_provider_id_orders", type_="foreignkey")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint("pk_orders", type_="primary")
        batch_op.create_primary_key("pk_orders", ["id"])
