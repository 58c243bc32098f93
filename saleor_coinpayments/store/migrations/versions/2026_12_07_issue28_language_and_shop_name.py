"""payments.language_code (the buyer's language, from Saleor); configurations.name_chosen (the pay page
shows a configuration's name only when staff chose it, not the channel slug the CLI defaults to)

Revision ID: i28a
Revises: i24a
Create Date: 2026-12-07 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i28a"
down_revision: str | None = "i24a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_configurations = sa.table(
    "configurations",
    sa.column("id", sa.String()),
    sa.column("name", sa.String()),
    sa.column("name_chosen", sa.Boolean()),
)
_channels = sa.table(
    "channel_configurations",
    sa.column("configuration_id", sa.String()),
    sa.column("channel_slug", sa.String()),
)


def upgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("language_code", sa.String(length=35), nullable=True))
    with op.batch_alter_table("configurations") as batch:
        batch.add_column(sa.Column("name_chosen", sa.Boolean(), server_default=sa.true(), nullable=False))
    # A configuration named after one of its own channels was most likely named by the CLI's default.
    defaulted = (
        sa.select(_channels.c.configuration_id)
        .where(
            _channels.c.configuration_id == _configurations.c.id,
            _channels.c.channel_slug == _configurations.c.name,
        )
        .exists()
    )
    op.execute(_configurations.update().where(defaulted).values(name_chosen=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("configurations") as batch:
        batch.drop_column("name_chosen")
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("language_code")
