"""The fake Saleor's in-memory model: apps, checkouts, orders, transactions and their events.

Amounts and statuses follow Saleor 3.23 as PROTOCOL.md §5 and captures/README.md
("Verified behaviours" B1–B9) describe them: only counted events (`include_in_calculations`)
move money; events are grouped by (kind, pspReference); a REQUEST is pending only while its
group has no SUCCESS or FAILURE; a SUCCESS counts unless a newer FAILURE of its group exists.
"""

from __future__ import annotations

import base64
import itertools
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from saleor_coinpayments.money import currency_decimals, quantize

ZERO = Decimal(0)

KINDS = ("AUTHORIZATION", "CHARGE", "REFUND", "CANCEL")


def global_id(type_name: str, pk: object) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def parse_global_id(value: str) -> tuple[str, str] | None:
    try:
        decoded = base64.b64decode(value.encode(), validate=True).decode()
    except (ValueError, UnicodeError):
        return None
    type_name, sep, pk = decoded.partition(":")
    return (type_name, pk) if sep and pk else None


def round_money(amount: Decimal, currency: str) -> Decimal:
    return quantize(amount, currency_decimals(currency))


class Clock:
    """Strictly increasing UTC timestamps (event order must never tie)."""

    def __init__(self) -> None:
        self._last = datetime.now(UTC)

    def now(self) -> datetime:
        current = datetime.now(UTC)
        if current <= self._last:
            current = self._last + timedelta(microseconds=1)
        self._last = current
        return current


@dataclass
class MoneyValue:
    TYPENAME = "Money"
    amount: Decimal
    currency: str


@dataclass
class TaxedMoneyValue:
    TYPENAME = "TaxedMoney"
    net: MoneyValue
    gross: MoneyValue

    @property
    def currency(self) -> str:
        return self.gross.currency

    @property
    def tax(self) -> MoneyValue:
        return MoneyValue(self.gross.amount - self.net.amount, self.gross.currency)

    @classmethod
    def of(cls, gross: Decimal, currency: str, net: Decimal | None = None) -> TaxedMoneyValue:
        return cls(MoneyValue(net if net is not None else gross, currency), MoneyValue(gross, currency))

    def times(self, quantity: int) -> TaxedMoneyValue:
        return TaxedMoneyValue(
            MoneyValue(self.net.amount * quantity, self.currency),
            MoneyValue(self.gross.amount * quantity, self.currency),
        )


def taxed_sum(values: list[TaxedMoneyValue], currency: str) -> TaxedMoneyValue:
    return TaxedMoneyValue(
        MoneyValue(sum((v.net.amount for v in values), ZERO), currency),
        MoneyValue(sum((v.gross.amount for v in values), ZERO), currency),
    )


@dataclass
class Channel:
    TYPENAME = "Channel"
    pk: int
    slug: str
    currency_code: str
    name: str = ""
    default_transaction_flow_strategy: str = "CHARGE"
    allow_unpaid_orders: bool = False

    @property
    def id(self) -> str:
        return global_id("Channel", self.pk)


@dataclass
class Country:
    TYPENAME = "CountryDisplay"
    code: str


@dataclass
class Address:
    TYPENAME = "Address"
    first_name: str = "Ada"
    last_name: str = "Lovelace"
    company_name: str = ""
    street_address1: str = "1 Example St"
    street_address2: str = ""
    city: str = "LONDON"
    postal_code: str = "N1 9GU"
    country_code: str = "GB"
    country_area: str = ""
    phone: str | None = ""

    @property
    def country(self) -> Country:
        return Country(self.country_code)


@dataclass
class User:
    TYPENAME = "User"
    pk: int
    email: str

    @property
    def id(self) -> str:
        return global_id("User", self.pk)


@dataclass
class Webhook:
    TYPENAME = "Webhook"
    pk: int
    app: App
    name: str
    target_url: str
    query: str
    sync_events: list[str]
    async_events: list[str]
    is_active: bool = True

    @property
    def id(self) -> str:
        return global_id("Webhook", self.pk)


@dataclass
class App:
    TYPENAME = "App"
    pk: int
    identifier: str
    name: str
    token: str
    permissions: set[str]
    manifest: dict[str, Any] = field(default_factory=dict)
    is_active: bool = True
    webhooks: list[Webhook] = field(default_factory=list)

    @property
    def id(self) -> str:
        return global_id("App", self.pk)


@dataclass
class Line:
    """A line to put in a checkout or order (prices per unit)."""

    product_name: str
    variant_name: str
    sku: str | None
    quantity: int
    unit_gross: Decimal
    unit_net: Decimal | None = None


@dataclass
class CheckoutLineNode:
    TYPENAME = "CheckoutLine"
    pk: int
    line: Line
    currency: str

    @property
    def id(self) -> str:
        return global_id("CheckoutLine", self.pk)

    @property
    def quantity(self) -> int:
        return self.line.quantity

    @property
    def unit_price(self) -> TaxedMoneyValue:
        return TaxedMoneyValue.of(self.line.unit_gross, self.currency, self.line.unit_net)

    @property
    def total_price(self) -> TaxedMoneyValue:
        return self.unit_price.times(self.line.quantity)

    @property
    def variant(self) -> ProductVariantNode:
        return ProductVariantNode(self.pk, self.line)


@dataclass
class ProductVariantNode:
    TYPENAME = "ProductVariant"
    pk: int
    line: Line

    @property
    def id(self) -> str:
        return global_id("ProductVariant", self.pk)

    @property
    def name(self) -> str:
        return self.line.variant_name

    @property
    def sku(self) -> str | None:
        return self.line.sku

    @property
    def product(self) -> ProductNode:
        return ProductNode(self.pk, self.line.product_name)


@dataclass
class ProductNode:
    TYPENAME = "Product"
    pk: int
    name: str

    @property
    def id(self) -> str:
        return global_id("Product", self.pk)


@dataclass
class OrderLineNode:
    TYPENAME = "OrderLine"
    pk: int
    line: Line
    currency: str

    @property
    def id(self) -> str:
        return global_id("OrderLine", self.pk)

    @property
    def quantity(self) -> int:
        return self.line.quantity

    @property
    def product_name(self) -> str:
        return self.line.product_name

    @property
    def variant_name(self) -> str:
        return self.line.variant_name

    @property
    def product_sku(self) -> str | None:
        return self.line.sku

    @property
    def unit_price(self) -> TaxedMoneyValue:
        return TaxedMoneyValue.of(self.line.unit_gross, self.currency, self.line.unit_net)

    @property
    def total_price(self) -> TaxedMoneyValue:
        return self.unit_price.times(self.line.quantity)


@dataclass
class OrderDiscountNode:
    TYPENAME = "OrderDiscount"
    pk: int
    amount: Decimal
    currency: str
    name: str | None = "Voucher"
    type: str = "VOUCHER"
    value_type: str = "FIXED"

    @property
    def id(self) -> str:
        return global_id("OrderDiscount", self.pk)

    @property
    def value(self) -> Decimal:
        return self.amount

    @property
    def total(self) -> MoneyValue:
        return MoneyValue(self.amount, self.currency)


@dataclass
class TransactionEvent:
    TYPENAME = "TransactionEvent"
    pk: int
    type: str
    amount_value: Decimal
    currency: str
    psp_reference: str = ""
    message: str = ""
    external_url: str = ""
    include_in_calculations: bool = False
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    app: App | None = None
    idempotency_key: str | None = None
    user: User | None = None  # the staff user behind a request event (transactionRequestAction)

    @property
    def id(self) -> str:
        return global_id("TransactionEvent", self.pk)

    @property
    def amount(self) -> MoneyValue:
        return MoneyValue(self.amount_value, self.currency)

    @property
    def created_by(self) -> User | App | None:
        return self.user or self.app


@dataclass
class TransactionItem:
    TYPENAME = "TransactionItem"
    token: uuid.UUID
    currency: str
    app: App | None
    checkout: Checkout | None = None
    order: Order | None = None
    name: str = ""
    message: str = ""
    psp_reference: str = ""
    external_url: str = ""
    actions: list[str] = field(default_factory=list)
    events: list[TransactionEvent] = field(default_factory=list)  # oldest first
    idempotency_key: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    amounts: dict[str, Decimal] = field(default_factory=dict)
    # 3.22+: `TransactionItem.paymentMethodDetails`, e.g. {"type": "OTHER", "name": "Bitcoin (BTC) via …"}
    payment_method_details: dict[str, Any] | None = None

    @property
    def id(self) -> str:
        return global_id("TransactionItem", self.token)

    def money(self, key: str) -> MoneyValue:
        return MoneyValue(self.amounts.get(key, ZERO), self.currency)

    def recalculate(self) -> None:
        self.amounts = calculate_amounts(self.events)


def calculate_amounts(events: list[TransactionEvent]) -> dict[str, Decimal]:
    """Saleor's recalculate_transaction_amounts, reduced to what the fake needs."""
    counted = [e for e in events if e.include_in_calculations]
    success = {kind: ZERO for kind in KINDS}
    pending = {kind: ZERO for kind in KINDS}
    charge_back = refund_reverse = ZERO
    adjustments = [e for e in counted if e.type == "AUTHORIZATION_ADJUSTMENT"]
    for kind in KINDS:
        groups: dict[str, list[TransactionEvent]] = {}
        for event in counted:
            if event.type in {f"{kind}_REQUEST", f"{kind}_SUCCESS", f"{kind}_FAILURE"}:
                groups.setdefault(event.psp_reference, []).append(event)
        for group in groups.values():
            finals = [e for e in group if e.type in {f"{kind}_SUCCESS", f"{kind}_FAILURE"}]
            if not finals:
                pending[kind] += sum((e.amount_value for e in group if e.type == f"{kind}_REQUEST"), ZERO)
            failures = [e for e in group if e.type == f"{kind}_FAILURE"]
            for event in group:
                if event.type != f"{kind}_SUCCESS":
                    continue
                if any(f.created_at > event.created_at for f in failures):
                    continue
                success[kind] += event.amount_value
    for event in counted:
        if event.type == "CHARGE_BACK":
            charge_back += event.amount_value
        elif event.type == "REFUND_REVERSE":
            refund_reverse += event.amount_value
    authorized = success["AUTHORIZATION"]
    if adjustments:
        authorized = max(adjustments, key=lambda e: e.created_at).amount_value
    charged = success["CHARGE"] - charge_back - success["REFUND"] + refund_reverse - pending["REFUND"]
    refunded = success["REFUND"] - refund_reverse
    authorized = authorized - success["CHARGE"] - pending["CHARGE"] - success["CANCEL"] - pending["CANCEL"]
    return {
        "authorized": max(authorized, ZERO),
        "authorize_pending": pending["AUTHORIZATION"],
        "charged": charged,
        "charge_pending": pending["CHARGE"],
        "refunded": refunded,
        "refund_pending": pending["REFUND"],
        "canceled": success["CANCEL"],
        "cancel_pending": pending["CANCEL"],
    }


@dataclass
class Checkout:
    TYPENAME = "Checkout"
    token: uuid.UUID
    channel: Channel
    email: str | None
    lines: list[CheckoutLineNode]
    shipping_gross: Decimal
    shipping_net: Decimal
    discount_amount: Decimal
    billing_address: Address | None
    user: User | None = None
    transactions: list[TransactionItem] = field(default_factory=list)
    completing: bool = False
    language_code: str = "EN_US"  # Saleor's default for a checkout created without one

    @property
    def id(self) -> str:
        return global_id("Checkout", self.token)

    @property
    def currency(self) -> str:
        return self.channel.currency_code

    @property
    def subtotal_price(self) -> TaxedMoneyValue:
        return taxed_sum([line.total_price for line in self.lines], self.currency)

    @property
    def shipping_price(self) -> TaxedMoneyValue:
        return TaxedMoneyValue.of(self.shipping_gross, self.currency, self.shipping_net)

    @property
    def discount(self) -> MoneyValue | None:
        return MoneyValue(self.discount_amount, self.currency) if self.discount_amount else None

    @property
    def total_price(self) -> TaxedMoneyValue:
        subtotal, shipping = self.subtotal_price, self.shipping_price
        return TaxedMoneyValue(
            MoneyValue(subtotal.net.amount + shipping.net.amount - self.discount_amount, self.currency),
            MoneyValue(subtotal.gross.amount + shipping.gross.amount - self.discount_amount, self.currency),
        )

    @property
    def total(self) -> Decimal:
        return self.total_price.gross.amount

    def covered(self) -> dict[str, Decimal]:
        return _sum_amounts(self.transactions)

    @property
    def charge_status(self) -> str:
        sums = self.covered()
        return _charge_status(sums["charged"] + sums["charge_pending"], self.total)

    @property
    def authorize_status(self) -> str:
        sums = self.covered()
        paid = sums["authorized"] + sums["authorize_pending"] + sums["charged"] + sums["charge_pending"]
        return _authorize_status(paid, self.total)

    @property
    def total_balance(self) -> MoneyValue:
        # a checkout's balance counts pending charges (B2b: CHARGE_REQUEST answered → balance 0)
        sums = self.covered()
        return MoneyValue(sums["charged"] + sums["charge_pending"] - self.total, self.currency)


def _sum_amounts(transactions: list[TransactionItem]) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = {}
    for transaction in transactions:
        for key, value in transaction.amounts.items():
            sums[key] = sums.get(key, ZERO) + value
    for key in ("authorized", "authorize_pending", "charged", "charge_pending", "refunded"):
        sums.setdefault(key, ZERO)
    return sums


def _charge_status(charged: Decimal, total: Decimal) -> str:
    if charged <= 0:
        return "FULL" if total <= 0 else "NONE"
    if charged < total:
        return "PARTIAL"
    if charged == total:
        return "FULL"
    return "OVERCHARGED"


def _authorize_status(covered: Decimal, total: Decimal) -> str:
    if covered <= 0:
        return "FULL" if total <= 0 else "NONE"
    return "PARTIAL" if covered < total else "FULL"


@dataclass
class Invoice:
    TYPENAME = "Invoice"
    pk: int
    order: Order
    number: str | None = None
    url: str | None = None
    status: str = "PENDING"
    sent_notifications: int = 0  # invoiceSendNotification calls that went out (INVOICE_SENT)

    @property
    def id(self) -> str:
        return global_id("Invoice", self.pk)


@dataclass(frozen=True)
class OrderEvent:
    """An entry of an order's history; Saleor stamps `date` itself (invoiceSendNotification adds
    INVOICE_SENT with the buyer's e-mail, orderNoteAdd NOTE_ADDED with the message)."""

    TYPENAME = "OrderEvent"
    pk: int
    type: str
    date: datetime
    app: App | None = None
    email: str | None = None
    message: str | None = None

    @property
    def id(self) -> str:
        return global_id("OrderEvent", self.pk)


@dataclass
class Order:
    TYPENAME = "Order"
    token: uuid.UUID
    number: str
    channel: Channel
    user_email: str | None
    lines: list[OrderLineNode]
    shipping_gross: Decimal
    shipping_net: Decimal
    discounts: list[OrderDiscountNode]
    billing_address: Address | None
    user: User | None = None
    status: str = "UNFULFILLED"
    origin: str = "DRAFT"
    language_code_enum: str = "EN_US"
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    transactions: list[TransactionItem] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    events: list[OrderEvent] = field(default_factory=list)  # oldest first

    @property
    def id(self) -> str:
        return global_id("Order", self.token)

    @property
    def currency(self) -> str:
        return self.channel.currency_code

    @property
    def subtotal(self) -> TaxedMoneyValue:
        return taxed_sum([line.total_price for line in self.lines], self.currency)

    @property
    def shipping_price(self) -> TaxedMoneyValue:
        return TaxedMoneyValue.of(self.shipping_gross, self.currency, self.shipping_net)

    @property
    def discount_total(self) -> Decimal:
        return sum((d.amount for d in self.discounts), ZERO)

    @property
    def undiscounted_total(self) -> TaxedMoneyValue:
        subtotal, shipping = self.subtotal, self.shipping_price
        return TaxedMoneyValue(
            MoneyValue(subtotal.net.amount + shipping.net.amount, self.currency),
            MoneyValue(subtotal.gross.amount + shipping.gross.amount, self.currency),
        )

    @property
    def total(self) -> TaxedMoneyValue:
        undiscounted = self.undiscounted_total
        return TaxedMoneyValue(
            MoneyValue(undiscounted.net.amount - self.discount_total, self.currency),
            MoneyValue(undiscounted.gross.amount - self.discount_total, self.currency),
        )

    @property
    def total_amount(self) -> Decimal:
        return self.total.gross.amount

    def covered(self) -> dict[str, Decimal]:
        return _sum_amounts(self.transactions)

    @property
    def charge_status(self) -> str:
        # orders count settled charges only: a pending charge leaves the order unpaid
        return _charge_status(self.covered()["charged"], self.total_amount)

    @property
    def authorize_status(self) -> str:
        sums = self.covered()
        return _authorize_status(sums["authorized"] + sums["charged"], self.total_amount)

    @property
    def total_charged(self) -> MoneyValue:
        return MoneyValue(self.covered()["charged"], self.currency)

    @property
    def total_balance(self) -> MoneyValue:
        return MoneyValue(self.covered()["charged"] - self.total_amount, self.currency)

    @property
    def is_paid(self) -> bool:
        return self.covered()["charged"] >= self.total_amount

    @property
    def payment_status(self) -> str:
        charged = self.covered()["charged"]
        if charged <= 0:
            return "NOT_CHARGED"
        if charged < self.total_amount:
            return "PARTIALLY_CHARGED"
        return "FULLY_CHARGED"


class Model:
    """All of the fake Saleor's state. Callers hold `FakeSaleor.lock` while touching it."""

    def __init__(self) -> None:
        self.clock = Clock()
        self._ids = itertools.count(1)
        self._order_numbers = itertools.count(1)
        self.channels: dict[str, Channel] = {}
        self.apps: list[App] = []
        self.checkouts: dict[str, Checkout] = {}
        self.orders: dict[str, Order] = {}
        self.transactions: dict[str, TransactionItem] = {}
        self.invoices: dict[str, Invoice] = {}
        self.add_channel("default-channel", "USD")

    def next_pk(self) -> int:
        return next(self._ids)

    def next_order_number(self) -> str:
        return str(next(self._order_numbers))

    def add_channel(self, slug: str, currency: str, name: str | None = None) -> Channel:
        """A channel; its name, as staff see it in the Dashboard, defaults to the slug in title case."""
        title = name if name is not None else slug.replace("-", " ").title()
        channel = Channel(pk=len(self.channels) + 1, slug=slug, currency_code=currency, name=title)
        self.channels[slug] = channel
        return channel

    def new_app_token(self) -> str:
        return secrets.token_urlsafe(22)[:30]

    def app_by_token(self, token: str | None) -> App | None:
        if not token:
            return None
        for app in self.apps:
            if secrets.compare_digest(app.token, token) and app.is_active:
                return app
        return None

    def app_by_identifier(self, identifier: str) -> App | None:
        for app in self.apps:
            if app.identifier == identifier and app.is_active:
                return app
        return None

    def node(self, value: str | None, *types: str) -> Any:
        """The object behind a global id, if it is one of `types`."""
        parsed = parse_global_id(value or "")
        if parsed is None or parsed[0] not in types:
            return None
        type_name, _pk = parsed
        table: dict[str, Any] = {
            "Checkout": self.checkouts,
            "Order": self.orders,
            "TransactionItem": self.transactions,
            "Invoice": self.invoices,
        }.get(type_name, {})
        if type_name == "App":
            return next((a for a in self.apps if a.id == value), None)
        if type_name == "Webhook":
            return next((w for a in self.apps for w in a.webhooks if w.id == value), None)
        return table.get(value or "")

    def add_event(
        self, transaction: TransactionItem, event_type: str, amount: Decimal, **fields: Any
    ) -> TransactionEvent:
        event = TransactionEvent(
            pk=self.next_pk(),
            type=event_type,
            amount_value=round_money(amount, transaction.currency),
            currency=transaction.currency,
            created_at=fields.pop("created_at", None) or self.clock.now(),
            **fields,
        )
        transaction.events.append(event)
        return event
