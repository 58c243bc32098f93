"""The tables. Every change here comes with an Alembic migration (see store/migrations)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from saleor_coinpayments.states import PaymentState
from saleor_coinpayments.store.types import AwareDateTime, DecimalText, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def core_table(model: type[Base]) -> Table:
    """The model's table, for Core statements on hot paths (the ORM's statement pipeline would only
    add cost where no object in the session needs to follow the change)."""
    return cast(Table, model.__table__)


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow, onupdate=utcnow)


class Installation(Timestamped, Base):
    """One Saleor that installed the app (the "APL" record), keyed by its API URL."""

    __tablename__ = "installations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    saleor_api_url: Mapped[str] = mapped_column(String(2048), unique=True)
    app_id: Mapped[str] = mapped_column(String(256))
    app_token_encrypted: Mapped[str] = mapped_column(Text)
    jwks: Mapped[dict[str, Any]] = mapped_column(JSON)
    jwks_fetched_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    # The Saleor line it talks to ("3.23"), from Saleor-Schema-Version at registration and the
    # `version` of its webhooks; None until known. Decides what the app may send (3.22+ fields).
    saleor_schema_version: Mapped[str | None] = mapped_column(String(16), nullable=True)


class Configuration(Timestamped, Base):
    """A named set of CoinPayments credentials of one installation."""

    __tablename__ = "configurations"
    __table_args__ = (UniqueConstraint("installation_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    installation_id: Mapped[str] = mapped_column(ForeignKey("installations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    # Whether staff chose the name (the Dashboard, `config set --name`): only then does the pay page
    # show it; a name the CLI defaulted to the channel slug is a label, and the page names the shop
    # as Saleor does.
    name_chosen: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    client_id: Mapped[str] = mapped_column(String(64))
    client_secret_encrypted: Mapped[str] = mapped_column(Text)
    api_url: Mapped[str] = mapped_column(String(512))
    accepted_coins: Mapped[list[str]] = mapped_column(JSON, default=list)
    client_webhook_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    last_check_ok: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    last_check_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Sent-out invoices (issue 11): bill new orders automatically, days until due, reminder offsets.
    invoice_new_orders: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    invoice_due_days: Mapped[int] = mapped_column(Integer, default=7, server_default="7")
    invoice_reminders: Mapped[list[int]] = mapped_column(JSON, default=list, server_default="[]")
    # "hosted" (CoinPayments' checkout window) or "app" (the app's own pay page, web/pay_page.py).
    checkout_page: Mapped[str] = mapped_column(String(16), default="hosted", server_default="hosted")


class ChannelConfiguration(Timestamped, Base):
    """Which configuration pays for which Saleor channel."""

    __tablename__ = "channel_configurations"

    installation_id: Mapped[str] = mapped_column(ForeignKey("installations.id", ondelete="CASCADE"), primary_key=True)
    channel_slug: Mapped[str] = mapped_column(String(255), primary_key=True)
    configuration_id: Mapped[str] = mapped_column(ForeignKey("configurations.id", ondelete="CASCADE"))


class PaymentFlow(enum.StrEnum):
    CHECKOUT = "checkout"
    SENT_INVOICE = "sent_invoice"


class Payment(Timestamped, Base):
    """One CoinPayments invoice for one Saleor transaction."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("installation_id", "saleor_transaction_id"),
        UniqueConstraint("installation_id", "request_key", name="uq_payments_installation_request_key"),
        # The reconciler's lookup of due invoices, earliest deadline first (PaymentRepository.rank_due).
        Index("ix_payments_read_by", "read_by"),
        Index("ix_payments_next_check_at", "next_check_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    installation_id: Mapped[str] = mapped_column(ForeignKey("installations.id", ondelete="CASCADE"))
    configuration_id: Mapped[str] = mapped_column(ForeignKey("configurations.id", ondelete="RESTRICT"))
    flow: Mapped[str] = mapped_column(String(20), default=PaymentFlow.CHECKOUT.value)
    # NULL for a sent-out invoice until `transactionCreate` on the order has been delivered.
    saleor_transaction_id: Mapped[str | None] = mapped_column(String(512), nullable=True)
    # Sent-out invoices only: `order:<order id>:<generation>`, one per live invoice of an order.
    request_key: Mapped[str | None] = mapped_column(String(600), nullable=True)
    source_type: Mapped[str] = mapped_column(String(20))
    source_id: Mapped[str] = mapped_column(String(512))
    channel_slug: Mapped[str] = mapped_column(String(255))
    our_invoice_ref: Mapped[str] = mapped_column(String(127), unique=True)
    invoice_id: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    checkout_link: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    invoice_link: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    currency: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(DecimalText())
    state: Mapped[str] = mapped_column(String(20), default=PaymentState.UNPAID.value)
    is_final: Mapped[bool] = mapped_column(Boolean, default=False)
    credited_amount: Mapped[Decimal] = mapped_column(DecimalText(), default=Decimal(0))
    reported_amount: Mapped[Decimal] = mapped_column(DecimalText(), default=Decimal(0))
    credit_count: Mapped[int] = mapped_column(Integer, default=0)
    pending_reported: Mapped[bool] = mapped_column(Boolean, default=False)
    failure_reported: Mapped[bool] = mapped_column(Boolean, default=False)
    confirmations: Mapped[int] = mapped_column(Integer, default=0)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_notification_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    last_checked_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    # When the reconciler next re-reads the invoice (payments/schedule.py); NULL while there is
    # nothing to read (no invoice yet, a sent-out invoice without its order transaction) and once final.
    next_check_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True, default=None)
    # The deadline of that read: due invoices are read earliest deadline first. Equal to
    # `next_check_at` where a buyer may wait; later where nobody does (paid, waiting for `completed`).
    read_by: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True, default=None)
    # When a read last found the invoice changed (status, amounts, confirmations); the schedule's
    # "untouched for" counts from here. NULL: nothing changed since it was made.
    changed_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    # A buyer polls the pay page or transactionProcess until then: the schedule reads seconds apart.
    watching_until: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    # The coin the buyer chose (Get Payment Address) and what Get Payment Status last said about it.
    coin_currency_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    coin_address: Mapped[str | None] = mapped_column(String(256), nullable=True)
    coin_amount: Mapped[Decimal | None] = mapped_column(DecimalText(), nullable=True)
    coin_details: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    coin_status: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    coin_status_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    # The checkout's or order's `languageCode` as Saleor sent it (`DE`, `PT_BR`): the pay page's language.
    language_code: Mapped[str | None] = mapped_column(String(35), nullable=True)
    # SHA-256 of the pay page token (`/pay/<token>`); the token itself is never stored.
    pay_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)


class InvoicePaymentRecord(Base):
    """What CoinPayments reports about one payment (one coin) of a payment's invoice: the coin and
    amount that came in, the fees it kept, the payout. Upserted on every read of the invoice, so the
    books are exported from here without asking CoinPayments again (payments/books/)."""

    __tablename__ = "invoice_payments"
    __table_args__ = (
        UniqueConstraint("payment_id", "coin_currency_id"),
        Index("ix_invoice_payments_received_at", "received_at"),
        Index("ix_invoice_payments_payout_completed_at", "payout_completed_at"),
        Index("ix_invoice_payments_returned_at", "returned_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"))
    coin_currency_id: Mapped[str] = mapped_column(String(128))
    coin_symbol: Mapped[str] = mapped_column(String(32))
    native_currency: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(40))
    # `customData.saleorOrderNumber` of the invoice, when it was made for an order.
    order_number: Mapped[str | None] = mapped_column(String(64), nullable=True)
    expected_amount: Mapped[Decimal | None] = mapped_column(DecimalText(), nullable=True)
    actual_amount: Mapped[Decimal] = mapped_column(DecimalText())
    native_actual_amount: Mapped[Decimal] = mapped_column(DecimalText())
    # Invoice currency per coin, from the expected amounts (CoinPayments' quote).
    rate: Mapped[Decimal | None] = mapped_column(DecimalText(), nullable=True)
    fee_transaction: Mapped[Decimal | None] = mapped_column(DecimalText(), nullable=True)
    fee_network: Mapped[Decimal | None] = mapped_column(DecimalText(), nullable=True)
    fee_conversion: Mapped[Decimal | None] = mapped_column(DecimalText(), nullable=True)
    native_fee_total: Mapped[Decimal | None] = mapped_column(DecimalText(), nullable=True)
    payout_amount: Mapped[Decimal | None] = mapped_column(DecimalText(), nullable=True)
    native_payout_amount: Mapped[Decimal | None] = mapped_column(DecimalText(), nullable=True)
    payout_tx: Mapped[str | None] = mapped_column(String(255), nullable=True)
    payout_completed_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    buyer_tx_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    refund_email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    # When the money counts as received (confirmed, else first seen pending) and when CoinPayments
    # was first seen giving it back to the buyer (a refund state).
    received_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    returned_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)


class RefundState(enum.StrEnum):
    """`requested` until staff settle it: `sent` (the transfer was made) or `declined`."""

    REQUESTED = "requested"
    SENT = "sent"
    DECLINED = "declined"


class RefundOrigin(enum.StrEnum):
    SALEOR = "saleor"  # TRANSACTION_REFUND_REQUESTED, acknowledged asynchronously
    STAFF = "staff"  # "refund what came in" on an under-paid invoice
    SURPLUS = "surplus"  # a suggestion: over-payment or late money


class Refund(Timestamped, Base):
    """Money owed back to a buyer for one payment, until staff send it (or decline it)."""

    __tablename__ = "refunds"
    __table_args__ = (
        UniqueConstraint("installation_id", "request_key", name="uq_refunds_installation_request_key"),
        Index("ix_refunds_installation_state", "installation_id", "state"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    installation_id: Mapped[str] = mapped_column(ForeignKey("installations.id", ondelete="CASCADE"))
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"), index=True)
    saleor_transaction_id: Mapped[str] = mapped_column(String(512))
    # What makes a request the same request again (Saleor's request event, or the suggestion's cause).
    request_key: Mapped[str] = mapped_column(String(600))
    psp_reference: Mapped[str] = mapped_column(String(127), unique=True)
    origin: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20), default=RefundState.REQUESTED.value)
    amount: Mapped[Decimal] = mapped_column(DecimalText())
    currency: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    requested_by: Mapped[str | None] = mapped_column(String(320), nullable=True)
    buyer_email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    settled_by: Mapped[str | None] = mapped_column(String(320), nullable=True)
    settled_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    coin: Mapped[str | None] = mapped_column(String(32), nullable=True)
    coin_amount: Mapped[Decimal | None] = mapped_column(DecimalText(), nullable=True)
    tx_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    decline_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # a permanent refusal; the reason is in last_error
    EXPIRED = "expired"  # still failing transiently after OUTBOX_RETRY_HOURS


class OutboxMessage(Base):
    """A report to Saleor, written in the same transaction as the state change that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_next_attempt", "status", "next_attempt_at"),
        Index("ix_outbox_ordering", "ordering_key", "status", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    installation_id: Mapped[str] = mapped_column(ForeignKey("installations.id", ondelete="CASCADE"))
    payment_id: Mapped[str | None] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"), nullable=True)
    kind: Mapped[str] = mapped_column(String(40))
    dedup_key: Mapped[str] = mapped_column(String(255), unique=True)
    # Rows with one key (the Saleor transaction of an event report) are delivered in created order.
    ordering_key: Mapped[str | None] = mapped_column(String(512), nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    # Who holds the lease: a worker records an outcome only while the row is still its own.
    claim_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    # Start of the retry window (OUTBOX_RETRY_HOURS): when queued, or re-queued by `outbox retry`.
    queued_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)


class ReminderStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    STOPPED = "stopped"


class InvoiceReminder(Base):
    """One payment reminder of a sent-out invoice: due at `due_at`, claimed with a lease, done once."""

    __tablename__ = "invoice_reminders"
    __table_args__ = (
        UniqueConstraint("payment_id", "offset_days"),
        Index("ix_invoice_reminders_status_due", "status", "due_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    installation_id: Mapped[str] = mapped_column(ForeignKey("installations.id", ondelete="CASCADE"))
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"))
    offset_days: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(AwareDateTime())
    status: Mapped[str] = mapped_column(String(20), default=ReminderStatus.PENDING.value)
    claimed_until: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)


class Notification(Base):
    """A received CoinPayments notification: de-duplication and audit."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    source: Mapped[str] = mapped_column(String(80))
    external_id: Mapped[str] = mapped_column(String(128))
    invoice_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    event_type: Mapped[str] = mapped_column(String(64))
    state: Mapped[str | None] = mapped_column(String(40), nullable=True)
    received_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    handled_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)


class RateLimitSlot(Base):
    """The next free CoinPayments request slot of one client id, shared by every replica (see
    coinpayments/ratelimit.py). Seconds since the epoch on the database's clock."""

    __tablename__ = "rate_limit_slots"

    client_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_slot: Mapped[float] = mapped_column(Float(precision=53))


class Lease(Base):
    """A named job that one replica at a time does (e.g. the invoice-list sweep): held until `until`."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    until: Mapped[datetime] = mapped_column(AwareDateTime())
