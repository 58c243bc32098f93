"""installations.saleor_schema_version: the Saleor line an installation talks to (e.g. "3.23")

Revision ID: i27a
Revises: i29a
Create Date: 2026-12-07 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i27a"
down_revision: str | None = "i29a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("installations") as batch:
        batch.add_column(sa.Column("saleor_schema_version", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("installations") as batch:
        batch.drop_column("saleor_schema_version")
