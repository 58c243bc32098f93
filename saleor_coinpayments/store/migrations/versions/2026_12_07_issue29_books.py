"""invoice_payments: what CoinPayments reports per payment of an invoice (coin, fees, payout), for the books

Revision ID: i29a
Revises: i12b
Create Date: 2026-12-07 11:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i29a"
down_revision: str | None = "i12b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _decimal(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.String(length=64), nullable=nullable)


def _time(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "invoice_payments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("payment_id", sa.String(length=32), nullable=False),
        sa.Column("coin_currency_id", sa.String(length=128), nullable=False),
        sa.Column("coin_symbol", sa.String(length=32), nullable=False),
        sa.Column("native_currency", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=40), nullable=False),
        sa.Column("order_number", sa.String(length=64), nullable=True),
        _decimal("expected_amount"),
        _decimal("actual_amount", nullable=False),
        _decimal("native_actual_amount", nullable=False),
        _decimal("rate"),
        _decimal("fee_transaction"),
        _decimal("fee_network"),
        _decimal("fee_conversion"),
        _decimal("native_fee_total"),
        _decimal("payout_amount"),
        _decimal("native_payout_amount"),
        sa.Column("payout_tx", sa.String(length=255), nullable=True),
        _time("payout_completed_at"),
        sa.Column("buyer_tx_ids", sa.JSON(), nullable=False),
        sa.Column("refund_email", sa.String(length=320), nullable=True),
        _time("received_at"),
        _time("returned_at"),
        _time("updated_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_invoice_payments_payment_id_payments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_payments")),
        sa.UniqueConstraint("payment_id", "coin_currency_id", name=op.f("uq_invoice_payments_payment_id")),
    )
    op.create_index("ix_invoice_payments_received_at", "invoice_payments", ["received_at"])
    op.create_index("ix_invoice_payments_payout_completed_at", "invoice_payments", ["payout_completed_at"])
    op.create_index("ix_invoice_payments_returned_at", "invoice_payments", ["returned_at"])


def downgrade() -> None:
    op.drop_table("invoice_payments")
