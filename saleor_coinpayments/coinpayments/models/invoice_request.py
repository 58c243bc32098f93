"""The v2 create-invoice request (coinpayments.md#create-invoice) for both flows, and a builder whose sums always hold.

White-label / hosted checkout: `payment.refundEmail` (+ optional `payment.paymentCurrency`),
`successUrl`/`cancelUrl`, per-invoice `webhooks`, `customData`, `invoiceId`, `hideShoppingCart`.
Sent-out invoice: `isEmailDelivery` + `emailDelivery{to,cc,bcc}`, `buyer`, `dueDate`,
`notesToRecipient` and no `payment` at all (an empty `payment: {}` is an error at CoinPayments).

The model refuses any body CoinPayments would refuse for its sums or lengths, so a 400 from
CoinPayments means something this file does not know yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal, Self

from pydantic import ConfigDict, Field, model_validator

from saleor_coinpayments.money import MoneyError, dump_json, quantize, to_decimal

from .common import CurrencyId, DecimalAmount, WebhookEventType, WireModel

_EMAIL = r"^[^@\s;,]+@[^@\s;,]+\.[^@\s;,.]+$"


class RequestModel(WireModel):
    """Requests refuse unknown fields: a typo must fail here, not be ignored by CoinPayments."""

    model_config = ConfigDict(extra="forbid")


class ItemQuantity(RequestModel):
    value: int = Field(1, ge=1, le=999_999_999)
    type: Literal["quantity", "hours"] = "quantity"


class InvoiceItem(RequestModel):
    """One line; `amount` is the line total for the whole quantity, not the unit price."""

    name: str = Field(min_length=1, max_length=127)
    amount: DecimalAmount = Field(ge=0)
    quantity: ItemQuantity = Field(default_factory=ItemQuantity)
    original_amount: DecimalAmount | None = Field(None, ge=0)
    tax: DecimalAmount | None = Field(None, ge=0)
    custom_id: str | None = Field(None, max_length=127)
    sku: str | None = Field(None, max_length=127)
    description: str | None = Field(None, max_length=1000)


class AmountBreakdown(WireModel):
    subtotal: DecimalAmount | None = None
    shipping: DecimalAmount | None = None
    handling: DecimalAmount | None = None
    tax_total: DecimalAmount | None = None
    discount: DecimalAmount | None = None


class InvoiceAmount(WireModel):
    """`{breakdown, total}` in major-unit decimal strings; the same shape comes back from get-invoice."""

    total: DecimalAmount
    breakdown: AmountBreakdown = Field(default_factory=AmountBreakdown)


class PersonName(RequestModel):
    first_name: str | None = Field(None, max_length=140)
    last_name: str | None = Field(None, max_length=140)


class PostalAddress(RequestModel):
    address1: str | None = Field(None, max_length=300)
    address2: str | None = Field(None, max_length=300)
    address3: str | None = Field(None, max_length=300)
    province_or_state: str | None = Field(None, max_length=300)
    city: str | None = Field(None, max_length=120)
    suburb_or_district: str | None = Field(None, max_length=100)
    country_code: str | None = Field(None, pattern=r"^[A-Z]{2}$")
    postal_code: str | None = Field(None, max_length=60)


class Buyer(RequestModel):
    company_name: str | None = Field(None, max_length=300)
    name: PersonName | None = None
    email_address: str | None = Field(None, pattern=_EMAIL, max_length=320)
    phone_number: str | None = Field(None, pattern=r"^[.()\+\-0-9 ]*$", max_length=64)
    address: PostalAddress | None = None


class EmailDelivery(RequestModel):
    """Recipients of a sent-out invoice; several addresses are separated by `;`."""

    to: str = Field(min_length=3, max_length=500)
    cc: str | None = Field(None, max_length=500)
    bcc: str | None = Field(None, max_length=500)


class InvoiceWebhook(RequestModel):
    notifications_url: str = Field(pattern=r"^https?://\S+$", max_length=2000)
    notifications: list[str] = Field(min_length=1)

    @classmethod
    def for_events(cls, url: str, events: Sequence[WebhookEventType]) -> InvoiceWebhook:
        return cls(notifications_url=url, notifications=[event.value for event in events])


class PaymentRequest(RequestModel):
    """White-label only: makes CoinPayments open a payment at once, so an address can be fetched."""

    refund_email: str = Field(pattern=_EMAIL, max_length=320)
    payment_currency: CurrencyId | None = Field(None, pattern=r"^\d+(:\S+)?$")


class InvoiceMetadata(RequestModel):
    integration: str | None = Field(None, max_length=127)
    hostname: str | None = Field(None, max_length=255)


class CreateInvoiceRequest(RequestModel):
    """Body of `POST /api/v2/merchant/invoices`. Build `items`/`amount` with `build_lines`."""

    currency: CurrencyId = Field(pattern=r"^\d+(:\S+)?$")
    amount: InvoiceAmount
    items: list[InvoiceItem] | None = Field(None, min_length=1)
    description: str | None = Field(None, max_length=200)
    invoice_id: str | None = Field(None, min_length=1, max_length=127)
    po_number: str | None = Field(None, max_length=16)
    client_id: str | None = None
    buyer: Buyer | None = None
    require_buyer_name_and_email: bool | None = None
    buyer_data_collection_message: str | None = Field(None, max_length=300)
    notes: str | None = Field(None, max_length=500)
    notes_to_recipient: str | None = Field(None, max_length=2000)
    terms_and_conditions: str | None = Field(None, max_length=2000)
    custom_data: dict[str, str] | None = None
    metadata: InvoiceMetadata | None = None
    is_email_delivery: bool | None = None
    email_delivery: EmailDelivery | None = None
    invoice_date: datetime | None = None
    due_date: datetime | None = None
    draft: bool | None = None
    webhooks: list[InvoiceWebhook] | None = None
    payment: PaymentRequest | None = None
    hide_shopping_cart: bool | None = None
    success_url: str | None = Field(None, pattern=r"^https?://\S+$", max_length=2000)
    cancel_url: str | None = Field(None, pattern=r"^https?://\S+$", max_length=2000)
    is_simple_qr: bool | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not self.items and not self.description:
            raise ValueError("an invoice needs items or a description")
        _check_sums(self.items or [], self.amount)
        if self.is_email_delivery and self.email_delivery is None:
            raise ValueError("isEmailDelivery needs emailDelivery.to")
        if self.email_delivery is not None and not self.is_email_delivery:
            raise ValueError("emailDelivery is only used with isEmailDelivery=true")
        return self

    def to_wire(self) -> dict[str, object]:
        """The JSON object for CoinPayments: camelCase, no nulls, decimals as plain strings."""
        wire = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        if not wire["amount"].get("breakdown"):
            wire["amount"].pop("breakdown", None)
        return wire

    def to_json_bytes(self) -> bytes:
        """Serialised once, compactly: these exact bytes are signed and sent."""
        return dump_json(self.to_wire()).encode()


def _check_sums(items: Sequence[InvoiceItem], amount: InvoiceAmount) -> None:
    """The arithmetic CoinPayments checks (coinpayments.md#create-invoice), exactly, in `Decimal`."""
    parts = amount.breakdown
    for label, value in (
        ("total", amount.total),
        ("subtotal", parts.subtotal),
        ("shipping", parts.shipping),
        ("handling", parts.handling),
        ("taxTotal", parts.tax_total),
        ("discount", parts.discount),
    ):
        if value is not None and value < 0:
            raise ValueError(f"amount.{label} must not be negative")
    if amount.total <= 0:
        raise ValueError("amount.total must be positive")
    if items:
        if parts.subtotal is None:
            raise ValueError("amount.breakdown.subtotal is required with items")
        items_sum = sum((item.amount for item in items), Decimal(0))
        if parts.subtotal != items_sum:
            raise ValueError(f"subtotal {parts.subtotal} is not the sum of item amounts {items_sum}")
        if any(item.tax is not None for item in items):
            taxes = sum((item.tax or Decimal(0) for item in items), Decimal(0))
            if parts.tax_total is None or parts.tax_total != taxes:
                raise ValueError(f"taxTotal {parts.tax_total} is not the sum of item taxes {taxes}")
    if parts.subtotal is not None:
        expected = (
            parts.subtotal
            + (parts.shipping or 0)
            + (parts.handling or 0)
            + (parts.tax_total or 0)
            - (parts.discount or 0)
        )
        if amount.total != expected:
            raise ValueError(f"total {amount.total} is not subtotal+shipping+handling+taxTotal-discount = {expected}")


@dataclass(frozen=True, slots=True)
class Line:
    """Input to `build_lines`: a line total (not a unit price) in the invoice currency's major units."""

    name: str
    amount: Decimal
    quantity: int = 1
    tax: Decimal | None = None
    original_amount: Decimal | None = None
    sku: str | None = None
    custom_id: str | None = None
    description: str | None = None


def _exact(value: object, decimals: int, label: str) -> Decimal:
    """`value` at exactly `decimals` places; refuses an amount that would need rounding."""
    amount = to_decimal(value)
    rounded = quantize(amount, decimals)
    if rounded != amount:
        raise MoneyError(f"{label} {amount} has more than {decimals} decimal places")
    return rounded


def build_lines(
    lines: Sequence[Line],
    *,
    decimals: int,
    shipping: Decimal | None = None,
    handling: Decimal | None = None,
    discount: Decimal | None = None,
) -> tuple[list[InvoiceItem], InvoiceAmount]:
    """Items and an amount whose subtotal, taxTotal and total are computed, never typed in.

    Every amount is written with exactly the invoice currency's `decimals` (2 for USD); an amount
    with more places is refused rather than rounded, because rounding would change what is charged.
    """
    if not lines:
        raise MoneyError("an invoice needs at least one line")
    items = [
        InvoiceItem(
            name=line.name[:127],
            amount=_exact(line.amount, decimals, f"line {line.name!r}"),
            quantity=ItemQuantity(value=line.quantity),
            tax=None if line.tax is None else _exact(line.tax, decimals, f"tax of {line.name!r}"),
            original_amount=None
            if line.original_amount is None
            else _exact(line.original_amount, decimals, f"original amount of {line.name!r}"),
            sku=line.sku,
            custom_id=line.custom_id,
            description=line.description,
        )
        for line in lines
    ]
    subtotal = sum((item.amount for item in items), Decimal(0))
    has_tax = any(item.tax is not None for item in items)
    tax_total = sum((item.tax or Decimal(0) for item in items), Decimal(0)) if has_tax else None
    extras = {
        name: None if value is None else _exact(value, decimals, name)
        for name, value in (("shipping", shipping), ("handling", handling), ("discount", discount))
    }
    total = (
        subtotal + (extras["shipping"] or 0) + (extras["handling"] or 0) + (tax_total or 0) - (extras["discount"] or 0)
    )
    breakdown = AmountBreakdown(
        subtotal=quantize(subtotal, decimals),
        shipping=extras["shipping"],
        handling=extras["handling"],
        tax_total=None if tax_total is None else quantize(tax_total, decimals),
        discount=extras["discount"],
    )
    return items, InvoiceAmount(total=quantize(total, decimals), breakdown=breakdown)
