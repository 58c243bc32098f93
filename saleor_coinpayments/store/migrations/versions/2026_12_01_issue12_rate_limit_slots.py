"""rate_limit_slots: the CoinPayments rate limit per client id, shared by every replica

Revision ID: i12b
Revises: i15a
Create Date: 2026-12-01 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i12b"
down_revision: str | None = "i15a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_slots",
        sa.Column("client_key", sa.String(length=64), nullable=False),
        sa.Column("next_slot", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("client_key", name=op.f("pk_rate_limit_slots")),
    )


def downgrade() -> None:
    op.drop_table("rate_limit_slots")
