"""buyer side: chosen coin and its live status on payments, pay page token, checkout page setting

Revision ID: i9a
Revises: 0002
Create Date: 2026-12-01 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i9a"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("configurations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("checkout_page", sa.String(length=16), server_default="hosted", nullable=False)
        )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("coin_currency_id", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("coin_address", sa.String(length=256), nullable=True))
        batch_op.add_column(sa.Column("coin_amount", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("coin_details", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("coin_status", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("coin_status_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("pay_token_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint("uq_payments_pay_token_hash", ["pay_token_hash"])


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_constraint("uq_payments_pay_token_hash", type_="unique")
        for column in (
            "pay_token_hash",
            "coin_status_at",
            "coin_status",
            "coin_details",
            "coin_amount",
            "coin_address",
            "coin_currency_id",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("configurations", schema=None) as batch_op:
        batch_op.drop_column("checkout_page")
