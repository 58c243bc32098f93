"""outbox: ordering key per Saleor transaction, claim tokens, retry window start

Revision ID: i12a
Revises: i9a
Create Date: 2026-12-01 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i12a"
down_revision: str | None = "i9a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ordering_key", sa.String(length=512), nullable=True))
        batch_op.add_column(sa.Column("claim_token", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_outbox_ordering", ["ordering_key", "status", "created_at"], unique=False)
    # Existing event reports keep their order per transaction; their retry window starts when they were made.
    outbox = sa.table(
        "outbox",
        sa.column("id", sa.String),
        sa.column("kind", sa.String),
        sa.column("status", sa.String),
        sa.column("ordering_key", sa.String),
        sa.column("payload", sa.JSON),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("queued_at", sa.DateTime(timezone=True)),
    )
    op.execute(outbox.update().values(queued_at=outbox.c.created_at))
    connection = op.get_bind()
    waiting = connection.execute(
        sa.select(outbox.c.id, outbox.c.payload).where(
            outbox.c.kind == "transaction_event_report", outbox.c.status == "pending"
        )
    ).all()
    for row_id, payload in waiting:
        if isinstance(payload, dict) and payload.get("id"):
            connection.execute(outbox.update().where(outbox.c.id == row_id).values(ordering_key=str(payload["id"])))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_ordering")
        batch_op.drop_column("queued_at")
        batch_op.drop_column("claim_token")
        batch_op.drop_column("ordering_key")
