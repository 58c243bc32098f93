"""automatic billing of new orders, due days and payment reminders (issue 11)

Revision ID: i11a
Revises: i12a
Create Date: 2026-12-01 03:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i11a"
down_revision: str | None = "i12a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("configurations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("invoice_new_orders", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("invoice_due_days", sa.Integer(), server_default="7", nullable=False))
        batch_op.add_column(sa.Column("invoice_reminders", sa.JSON(), server_default="[]", nullable=False))
    op.create_table(
        "invoice_reminders",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("installation_id", sa.String(length=32), nullable=False),
        sa.Column("payment_id", sa.String(length=32), nullable=False),
        sa.Column("offset_days", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["installation_id"],
            ["installations.id"],
            name=op.f("fk_invoice_reminders_installation_id_installations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_invoice_reminders_payment_id_payments"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_reminders")),
        sa.UniqueConstraint("payment_id", "offset_days", name=op.f("uq_invoice_reminders_payment_id")),
    )
    op.create_index("ix_invoice_reminders_status_due", "invoice_reminders", ["status", "due_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_invoice_reminders_status_due", table_name="invoice_reminders")
    op.drop_table("invoice_reminders")
    with op.batch_alter_table("configurations", schema=None) as batch_op:
        batch_op.drop_column("invoice_reminders")
        batch_op.drop_column("invoice_due_days")
        batch_op.drop_column("invoice_new_orders")
