"""What the simulator remembers: client integrations, invoices, payments, hot wallets, transfers.

Plain dataclasses; every rule that changes them lives in `engine.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from saleor_coinpayments.simulator.currencies import WIDE, Currency
from saleor_coinpayments.simulator.validation import CreateInvoice

ACTIVE_STATUSES = frozenset({"unpaid", "pending"})
FINAL_STATUSES = frozenset({"completed", "cancelled", "timedOut", "deleted"})
INVOICE_STATUSES = ("draft", "scheduled", "unpaid", "pending", "paid", "completed", "cancelled", "timedOut", "deleted")
#: Operation names a client's `permissions` list may contain; a signed route outside it answers 403.
OPERATIONS = ("createInvoice", "readInvoices", "cancelInvoice", "manageWebhooks", "readCurrencies")


@dataclass
class ClientWebhook:
    id: str
    notifications_url: str
    notifications: tuple[str, ...]
    created_from_ui: bool = False


@dataclass
class ClientAccount:
    """An API integration: credentials plus the settings the dashboard would hold."""

    client_id: str
    secret: str
    merchant_id: str
    disabled: bool = False
    allowed_ips: list[str] | None = None
    permissions: set[str] | None = None  # None: every operation
    partial_accept_available: bool = False
    webhooks: dict[str, ClientWebhook] = field(default_factory=dict)

    def settings(self) -> dict[str, Any]:
        return {
            "clientId": self.client_id,
            "merchantId": self.merchant_id,
            "disabled": self.disabled,
            "allowedIps": self.allowed_ips,
            "permissions": sorted(self.permissions) if self.permissions is not None else None,
            "partialAcceptAvailable": self.partial_accept_available,
        }


@dataclass
class Transfer:
    """One on-chain transfer to a hot wallet, as the buyer's wallet would send it."""

    id: str
    currency_id: str
    txid: str
    amount: Decimal
    confirmations: int
    detected_at: datetime
    confirmed_at: datetime | None = None
    late: bool = False  # arrived after the payment window closed: it will be refunded


@dataclass
class HotWallet:
    """The deposit address of one coin for one payment, with the exact amount due in that coin."""

    id: str
    currency: Currency
    address: str
    expected: Decimal
    rate: Decimal
    required_confirmations: int
    created_at: datetime
    transfers: list[Transfer] = field(default_factory=list)
    fee_rate: Decimal = Decimal(0)  # CoinPayments' transaction fee, a fraction of what came in
    network_fee: Decimal = Decimal(0)  # the payout's network fee, in the coin
    payout_tx: str | None = None  # the payout's blockchain transaction, once the invoice completed
    paid_out_at: datetime | None = None

    def _sum(self, confirmed: bool | None) -> Decimal:
        total = Decimal(0)
        for t in self.transfers:
            if t.late:
                continue
            is_confirmed = t.confirmations >= self.required_confirmations
            if confirmed is None or confirmed == is_confirmed:
                total += t.amount
        return total

    @property
    def seen(self) -> Decimal:
        return self._sum(None)

    @property
    def confirmed(self) -> Decimal:
        return self._sum(True)

    @property
    def unconfirmed(self) -> Decimal:
        return self._sum(False)

    @property
    def late_amount(self) -> Decimal:
        return sum((t.amount for t in self.transfers if t.late), Decimal(0))

    @property
    def remaining(self) -> Decimal:
        return max(self.expected - self.seen, Decimal(0))

    @property
    def confirmations(self) -> int:
        """Confirmations of the least-confirmed transfer: the one the payment is waiting for."""
        live = [t.confirmations for t in self.transfers if not t.late]
        return min(live) if live else 0


@dataclass
class Payment:
    """The white-label payment of an invoice (coinpayments.md#invoice-flows): refund e-mail, window, hot wallets."""

    id: str
    created_at: datetime
    expires_at: datetime
    refund_email: str
    state: str = "created"
    wallets: dict[str, HotWallet] = field(default_factory=dict)
    detected_at: datetime | None = None
    pending_at: datetime | None = None
    confirmed_at: datetime | None = None
    completed_at: datetime | None = None
    cancelled_at: datetime | None = None
    scheduled_at: datetime | None = None
    refunded_at: datetime | None = None
    error_code: str | None = None

    def coverage(self, kind: str) -> Decimal:
        """Fraction of the invoice covered by `seen` or `confirmed` funds, summed over coins."""
        total = Decimal(0)
        for w in self.wallets.values():
            if w.expected > 0:
                total = WIDE.add(total, WIDE.divide(getattr(w, kind), w.expected))
        return total

    @property
    def has_funds(self) -> bool:
        return any(w.transfers for w in self.wallets.values())

    @property
    def is_active(self) -> bool:
        return self.state in ("created", "detected", "pending")


@dataclass
class Invoice:
    id: str
    client_id: str
    merchant_id: str
    request: CreateInvoice
    status: str
    created_at: datetime
    expires_at: datetime
    po_number: str
    link: str
    checkout_link: str
    partial_accept_available: bool
    payment: Payment | None = None
    confirmed_at: datetime | None = None
    completed_at: datetime | None = None
    cancelled_at: datetime | None = None
    timed_out_at: datetime | None = None
    deleted_at: datetime | None = None
    partial_accepted: bool = False
    history: list[tuple[str, datetime]] = field(default_factory=list)

    @property
    def currency(self) -> Currency:
        return self.request.currency

    @property
    def total(self) -> Decimal:
        return self.request.total
