"""read schedule: next_check_at NULL when nothing is to be read, its own index, read_by (the
read's deadline, indexed), changed_at and watching_until on payments; the leases table (one replica sweeps the invoice list)

Revision ID: i24a
Revises: i27a
Create Date: 2026-12-07 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i24a"
down_revision: str | None = "i27a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_payments = sa.table(
    "payments",
    sa.column("is_final", sa.Boolean()),
    sa.column("invoice_id", sa.String()),
    sa.column("saleor_transaction_id", sa.String()),
    sa.column("next_check_at", sa.DateTime(timezone=True)),
    sa.column("read_by", sa.DateTime(timezone=True)),
    sa.column("changed_at", sa.DateTime(timezone=True)),
    sa.column("last_notification_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_final_next_check")
        batch_op.alter_column("next_check_at", existing_type=sa.DateTime(timezone=True), nullable=True)
        batch_op.add_column(sa.Column("read_by", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("watching_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_payments_read_by", ["read_by"], unique=False)
        batch_op.create_index("ix_payments_next_check_at", ["next_check_at"], unique=False)
    # Nothing to read: final payments and rows without an invoice or (sent-out) an order transaction.
    op.execute(
        _payments.update()
        .where(
            sa.or_(
                _payments.c.is_final.is_(sa.true()),
                _payments.c.invoice_id.is_(None),
                _payments.c.saleor_transaction_id.is_(None),
            )
        )
        .values(next_check_at=None)
    )
    op.execute(_payments.update().values(read_by=_payments.c.next_check_at))
    # Open payments keep their next read (spread as before, so an upgrade is no burst of reads); the
    # last notification, if any, is the last change known: the schedule backs off from there.
    op.execute(
        _payments.update()
        .where(_payments.c.is_final.is_(sa.false()), _payments.c.last_notification_at.is_not(None))
        .values(changed_at=_payments.c.last_notification_at)
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )


def downgrade() -> None:
    op.drop_table("leases")
    op.execute(
        _payments.update()
        .where(_payments.c.next_check_at.is_(None))
        .values(next_check_at=sa.func.coalesce(_payments.c.last_notification_at, sa.func.current_timestamp()))
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_next_check_at")
        batch_op.drop_index("ix_payments_read_by")
        batch_op.drop_column("watching_until")
        batch_op.drop_column("read_by")
        batch_op.drop_column("changed_at")
        batch_op.alter_column("next_check_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.create_index("ix_payments_final_next_check", ["is_final", "next_check_at"], unique=False)
