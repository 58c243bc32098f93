"""Building blocks shared by the CoinPayments models: enums, amount and time types, currencies.

Strict where the facts are sure (coinpayments.md), tolerant where it records doubt: enum casing differs between docs
(camelCase) and deliveries (PascalCase), so enums are matched case-insensitively; numbers arrive as
JSON strings or numbers, and are read as `Decimal` — a Python float is refused outright.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)
from pydantic.alias_generators import to_camel

from saleor_coinpayments.money import MoneyError, to_decimal


class WireModel(BaseModel):
    """A CoinPayments JSON object: camelCase on the wire, unknown fields ignored, immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True, protected_namespaces=()
    )


class CaseInsensitiveEnum(StrEnum):
    """A string enum read whatever the casing (`timedOut`, `TimedOut`, `TIMEDOUT`)."""

    @classmethod
    def _aliases(cls) -> dict[str, str]:
        return {}

    @classmethod
    def lookup(cls, value: str) -> Self | None:
        """The member for `value`, or None when unknown."""
        key = value.strip().lower().replace("_", "")
        key = cls._aliases().get(key, key)
        for member in cls:
            if member.value.lower() == key:
                return member
        return None

    @classmethod
    def parse(cls, value: object) -> Self:
        """The member for `value`, or `ValueError` (a pydantic validation error inside models)."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            member = cls.lookup(value)
            if member is not None:
                return member
        raise ValueError(f"unknown {cls.__name__}: {value!r}")


class InvoiceStatus(CaseInsensitiveEnum):
    """Invoice status and the two extra stored states (`scheduledForPayout`, `cancelling`): coinpayments.md#statuses."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    UNPAID = "unpaid"
    PENDING = "pending"
    PAID = "paid"
    SCHEDULED_FOR_PAYOUT = "scheduledForPayout"
    COMPLETED = "completed"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"
    TIMED_OUT = "timedOut"
    DELETED = "deleted"

    @classmethod
    def _aliases(cls) -> dict[str, str]:
        return {"canceled": "cancelled", "expired": "timedout"}


class PaymentState(CaseInsensitiveEnum):
    """State of one payment (one coin) on an invoice (coinpayments.md#statuses); `UNKNOWN` for anything new."""

    CREATED = "created"
    DETECTED = "detected"
    PENDING = "pending"
    CONFIRMED = "confirmed"
    SCHEDULED_FOR_PAYOUT = "scheduledForPayout"
    COMPLETED = "completed"
    CANCELLED_WAITING_REFUND = "cancelledWaitingRefund"
    TIMED_OUT_WAITING_REFUND = "timedOutWaitingRefund"
    TIMED_OUT_REFUND_PROCESSED = "timedOutRefundProcessed"
    CANCELLED_REFUND_PROCESSED = "cancelledRefundProcessed"
    REFUNDED = "refunded"
    UNKNOWN = "unknown"

    @classmethod
    def parse_lenient(cls, value: object) -> PaymentState:
        """Payment states are less certain than invoice statuses: an unknown one is `UNKNOWN`."""
        if isinstance(value, str):
            return cls.lookup(value) or cls.UNKNOWN
        return cls.UNKNOWN


class WebhookEventType(CaseInsensitiveEnum):
    """Notification `type`: delivered PascalCase, subscribed camelCase; `UNKNOWN` for others.

    See coinpayments.md#webhook-events.
    """

    INVOICE_CREATED = "invoiceCreated"
    INVOICE_PENDING = "invoicePending"
    INVOICE_PAID = "invoicePaid"
    INVOICE_COMPLETED = "invoiceCompleted"
    INVOICE_CANCELLED = "invoiceCancelled"
    INVOICE_TIMED_OUT = "invoiceTimedOut"
    PAYMENT_CREATED = "paymentCreated"
    PAYMENT_TIMED_OUT = "paymentTimedOut"
    UNKNOWN = "unknown"

    @classmethod
    def _aliases(cls) -> dict[str, str]:
        # Sources disagree on the payment events' names (coinpayments.md#webhook-events); both mean the same.
        return {"invoicepaymentcreated": "paymentcreated", "invoicepaymenttimedout": "paymenttimedout"}

    @classmethod
    def parse_lenient(cls, value: object) -> WebhookEventType:
        if isinstance(value, str):
            return cls.lookup(value) or cls.UNKNOWN
        return cls.UNKNOWN


INVOICE_EVENTS: tuple[WebhookEventType, ...] = (
    WebhookEventType.INVOICE_CREATED,
    WebhookEventType.INVOICE_PENDING,
    WebhookEventType.INVOICE_PAID,
    WebhookEventType.INVOICE_COMPLETED,
    WebhookEventType.INVOICE_CANCELLED,
    WebhookEventType.INVOICE_TIMED_OUT,
)
"""The six invoice events whose subscription names are confirmed (coinpayments.md#webhook-events)."""


def _decimal(value: object) -> Decimal:
    try:
        return to_decimal(value)
    except MoneyError as exc:
        raise ValueError(str(exc)) from None


def _plain(value: Decimal) -> str:
    return format(value, "f")


DecimalAmount = Annotated[
    Decimal, BeforeValidator(_decimal), PlainSerializer(_plain, return_type=str, when_used="json")
]
"""A v2 amount: a decimal string in major units (`"44.88"`); JSON numbers tolerated, floats refused."""


def _smallest_units(value: object) -> int:
    number = _decimal(value)
    if number != number.to_integral_value():
        raise ValueError(f"smallest units must be a whole number: {value!r}")
    return int(number)


SmallestUnits = Annotated[int, BeforeValidator(_smallest_units)]
"""A v1 `value`: a whole count of the currency's smallest unit, sent as a string or a number."""


def _wire_amount(value: object) -> int | Decimal:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return _decimal(value)


WireAmount = Annotated[int | Decimal, BeforeValidator(_wire_amount)]
"""A notification amount of uncertain encoding (coinpayments.md#webhook-body): int = smallest units, str = major."""


def wire_amount_to_decimal(value: int | Decimal, decimals: int) -> Decimal:
    """Major units from a `WireAmount`, given the currency's decimal places."""
    if isinstance(value, int):
        return Decimal(value).scaleb(-decimals)
    return value


def _id_string(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


CurrencyId = Annotated[str, BeforeValidator(_id_string)]
"""`"5057"`, or `"4:0xdac…"` for a token; some payloads send the numeric part as a JSON number."""


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


Timestamp = Annotated[datetime, AfterValidator(_aware)]
"""ISO-8601 (REST) or epoch seconds (webhooks); naive values are UTC."""


def status_or_state(data: Any, *, target: str = "status") -> Any:
    """v1 payloads name the invoice status `state` (PascalCase) where v2 says `status` (coinpayments.md#get-invoice)."""
    if isinstance(data, dict) and data.get(target) is None:
        other = "state" if target == "status" else "status"
        if data.get(other) is not None:
            return {**data, target: data[other]}
    return data


class CurrencyLogo(WireModel):
    image_url: str | None = None
    vector_url: str | None = None


class Currency(WireModel):
    """`CurrencyDto` (coinpayments.md#created-invoice). `type` is absent on invoice currencies, so optional here."""

    id: CurrencyId
    symbol: str
    decimal_places: int = Field(ge=0, le=30)
    type: Annotated[str | None, BeforeValidator(lambda v: v.lower() if isinstance(v, str) else v)] = None
    name: str | None = None
    rank: int | None = None
    status: str | None = None
    capabilities: list[str] = Field(default_factory=list)
    required_confirmations: int | None = None
    is_enabled_for_payment: bool | None = None
    logo: CurrencyLogo | None = None

    @property
    def is_fiat(self) -> bool:
        return self.type == "fiat"


class V1Money(WireModel):
    """v1 money object: `value` in smallest units (a string); `valueAsDecimal` is unreliable and ignored."""

    value: SmallestUnits
    currency_id: CurrencyId | None = None
    display_value: str | None = None
    decimal_places: int | None = None

    def to_decimal(self, decimals: int | None = None) -> Decimal:
        """Major units; uses the object's own `decimalPlaces` if it has one, else `decimals`."""
        places = self.decimal_places if self.decimal_places is not None else decimals
        if places is None:
            raise ValueError("decimal places of the currency are needed to read a v1 amount")
        return Decimal(self.value).scaleb(-places)


class NamedV1Money(V1Money):
    name: str | None = None


class AmountDue(V1Money):
    """v1 `AmountDue`: money plus the invoice→payment currency `rate` and a fee breakdown."""

    rate: DecimalAmount | None = None
    breakdown: list[NamedV1Money] = Field(default_factory=list)


class Cursors(WireModel):
    before: str | None = None
    after: str | None = None


class Paging(WireModel):
    cursors: Cursors = Field(default_factory=Cursors)
    limit: int | None = None

    @property
    def after(self) -> str | None:
        return self.cursors.after


def items_envelope(data: Any) -> Any:
    """Lists come as `{items: [...], paging}` or, in older docs, as a bare array.

    See coinpayments.md#list-invoices, #currencies.
    """
    if isinstance(data, list):
        return {"items": data}
    if isinstance(data, dict) and "cursor" in data and "paging" not in data:
        return {**data, "paging": {"cursors": {"after": data.get("cursor")}}}
    return data


class CurrencyList(WireModel):
    """`GET /api/v1/currencies`: a bare array (v1) or `{items: [...]}`; both read (coinpayments.md#currencies)."""

    items: list[Currency] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _envelope(cls, data: Any) -> Any:
        return items_envelope(data)
