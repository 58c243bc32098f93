"""sent-out invoices: transaction id known later, one request key per order invoice

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.alter_column("saleor_transaction_id", existing_type=sa.String(length=512), nullable=True)
        batch_op.add_column(sa.Column("request_key", sa.String(length=600), nullable=True))
        batch_op.create_unique_constraint("uq_payments_installation_request_key", ["installation_id", "request_key"])


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_constraint("uq_payments_installation_request_key", type_="unique")
        batch_op.drop_column("request_key")
        batch_op.alter_column("saleor_transaction_id", existing_type=sa.String(length=512), nullable=False)
