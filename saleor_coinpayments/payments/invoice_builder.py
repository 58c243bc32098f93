"""The CoinPayments create-invoice body (coinpayments.md#create-invoice) for one Saleor checkout or order — pure.

CoinPayments checks the arithmetic of an invoice: `subtotal` is the sum of the item amounts,
`taxTotal` the sum of the item taxes, and `total` = subtotal + shipping + handling + taxTotal −
discount. Saleor's own numbers do not always add up that way (vouchers, order discounts, lines
priced with other rules), so the lines are itemised and whatever is left between them and the
amount Saleor asks for goes into `discount` (lines cost more) or `handling` (lines cost less).
When Saleor asks for something other than the whole total (a remaining or partial payment), the
invoice is one item for exactly that amount. Either way `total` is the Saleor action amount.

Every amount is a decimal string with exactly the currency's places (JPY "1500", KWD "12.345").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from saleor_coinpayments.coinpayments.models.common import INVOICE_EVENTS as SUBSCRIBED_EVENTS
from saleor_coinpayments.money import Money, MoneyError, format_decimal, quantize, to_decimal

SourceKind = Literal["checkout", "order"]

INVOICE_EVENTS: tuple[str, ...] = tuple(event.value for event in SUBSCRIBED_EVENTS)
"""Every invoice notification CoinPayments is known to send; we subscribe to all (coinpayments.md#webhook-events)."""

NAME_LIMIT = 127
SKU_LIMIT = 127
INVOICE_REF_LIMIT = 127
DESCRIPTION_LIMIT = 200
PERSON_NAME_LIMIT = 140
NOTES_TO_RECIPIENT_LIMIT = 2000
EMAIL_DELIVERY_LIMIT = 500
MAX_QUANTITY = 999_999_999

_CURRENCY_ID = re.compile(r"^\d+(:\S+)?$")
_URL = re.compile(r"^https?://\S+$")
_EMAIL = re.compile(r"^[^@\s;,]+@[^@\s;,]+\.[^@\s;,.]+$")


class InvoiceBuildError(ValueError):
    """The Saleor source or the arguments cannot make a valid CoinPayments invoice."""


@dataclass(frozen=True, slots=True)
class SourceLine:
    """One checkout/order line: totals are for the whole quantity, in the source currency."""

    name: str
    sku: str | None
    quantity: int
    total_gross: Decimal
    total_net: Decimal | None = None


@dataclass(frozen=True, slots=True)
class SourceSummary:
    """What an invoice needs from a Saleor checkout or order.

    `lines` is empty when the lines could not be priced; the invoice is then a single item.
    """

    kind: SourceKind
    id: str
    number: str | None
    currency: str
    total_gross: Decimal
    shipping_gross: Decimal
    lines: tuple[SourceLine, ...]
    email: str | None
    first_name: str | None
    last_name: str | None
    channel_slug: str | None

    @property
    def display_ref(self) -> str:
        """How a person names it: the order number, or the checkout's UUID."""
        if self.number:
            return self.number
        return readable_id(self.id)


@dataclass(frozen=True, slots=True)
class EmailDelivery:
    """Recipients of a sent-out invoice (`emailDelivery`); several addresses are separated by `;`."""

    to: str
    cc: str | None = None
    bcc: str | None = None


# --------------------------------------------------------------------------------------------
# Reading the Saleor source object
# --------------------------------------------------------------------------------------------


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _amount(value: Any, label: str) -> Decimal | None:
    """A Saleor money amount (Decimal from `parse_json`, or int/str); None when absent."""
    if value is None:
        return None
    try:
        amount = to_decimal(value)
    except MoneyError as exc:
        raise InvoiceBuildError(f"{label}: {exc}") from None
    if amount < 0:
        raise InvoiceBuildError(f"{label} is negative: {amount}")
    return amount


def _money_amount(taxed: Any, part: str, label: str) -> Decimal | None:
    """`amount` of a Money (`{amount, currency}`) under `part` of a TaxedMoney, or of a plain Money."""
    if not isinstance(taxed, Mapping):
        return None
    inner = taxed.get(part) if part else taxed
    return _amount(_get(inner, "amount"), f"{label}.{part}.amount" if part else f"{label}.amount")


def readable_id(global_id: str) -> str:
    """`Q2hlY2tvdXQ6MzNl…` → `33e47838-…` (the part after `Type:` of a Saleor global id)."""
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        decoded = base64.b64decode(padded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return global_id
    type_name, sep, rest = decoded.partition(":")
    if sep and rest and type_name.isidentifier():
        return rest
    return global_id


def _kind_of(source: Mapping[str, Any]) -> SourceKind:
    typename = source.get("__typename")
    if typename == "Checkout":
        return "checkout"
    if typename == "Order":
        return "order"
    if typename is not None:
        raise InvoiceBuildError(f"cannot invoice a {typename!r}: only a Checkout or an Order")
    # INVOICE_REQUESTED selects the order directly, without __typename.
    if "total" in source or "number" in source or "userEmail" in source:
        return "order"
    if "totalPrice" in source:
        return "checkout"
    raise InvoiceBuildError("the source object is neither a checkout nor an order (no __typename, no totals)")


def _line_name(raw: Mapping[str, Any], kind: SourceKind) -> str:
    if kind == "checkout":
        product = _text(_get(raw, "variant", "product", "name"))
        variant = _text(_get(raw, "variant", "name"))
    else:
        product = _text(raw.get("productName"))
        variant = _text(raw.get("variantName"))
    if product and variant and variant.casefold() != product.casefold():
        return f"{product} ({variant})"
    return product or variant or ""


def _line_sku(raw: Mapping[str, Any], kind: SourceKind) -> str | None:
    return _text(_get(raw, "variant", "sku") if kind == "checkout" else raw.get("productSku"))


def _quantity(value: Any, label: str) -> int:
    if isinstance(value, bool) or value is None:
        raise InvoiceBuildError(f"{label}.quantity missing")
    try:
        number = to_decimal(value)
    except MoneyError as exc:
        raise InvoiceBuildError(f"{label}.quantity: {exc}") from None
    if number != number.to_integral_value() or number < 0:
        raise InvoiceBuildError(f"{label}.quantity is not a whole number ≥ 0: {value!r}")
    return int(number)


def _lines(raw_lines: Any, kind: SourceKind) -> tuple[SourceLine, ...]:
    """The priced lines; () when any line has no price at all (the invoice is then one item)."""
    if not isinstance(raw_lines, list):
        return ()
    lines: list[SourceLine] = []
    for index, raw in enumerate(raw_lines):
        label = f"lines[{index}]"
        if not isinstance(raw, Mapping):
            raise InvoiceBuildError(f"{label} is not an object")
        quantity = _quantity(raw.get("quantity"), label)
        gross = _money_amount(raw.get("totalPrice"), "gross", f"{label}.totalPrice")
        net = _money_amount(raw.get("totalPrice"), "net", f"{label}.totalPrice")
        if gross is None:
            unit = _money_amount(raw.get("unitPrice"), "gross", f"{label}.unitPrice")
            if unit is None:
                return ()
            unit_net = _money_amount(raw.get("unitPrice"), "net", f"{label}.unitPrice")
            gross = unit * quantity
            net = None if unit_net is None else unit_net * quantity
        lines.append(
            SourceLine(
                name=_line_name(raw, kind),
                sku=_line_sku(raw, kind),
                quantity=quantity,
                total_gross=gross,
                total_net=net,
            )
        )
    return tuple(lines)


def summary_from_payload(source_object: Mapping[str, Any]) -> SourceSummary:
    """The invoice-relevant part of a `sourceObject` (or INVOICE_REQUESTED `order`).

    Numbers must already be `Decimal` (parse bodies with `money.parse_json`); a float is refused.
    Raises `InvoiceBuildError` when there is no id, no currency or no total.
    """
    if not isinstance(source_object, Mapping):
        raise InvoiceBuildError("the source object is missing or not an object")
    kind = _kind_of(source_object)
    source_id = _text(source_object.get("id"))
    if source_id is None:
        raise InvoiceBuildError(f"the {kind} has no id")
    total_key = "totalPrice" if kind == "checkout" else "total"
    taxed_total = source_object.get(total_key)
    total = _money_amount(taxed_total, "gross", total_key)
    if total is None:
        raise InvoiceBuildError(f"the {kind} has no {total_key}.gross.amount")
    currency = (
        _text(_get(taxed_total, "gross", "currency"))
        or _text(_get(taxed_total, "currency"))
        or _text(_get(source_object, "channel", "currencyCode"))
    )
    if currency is None:
        raise InvoiceBuildError(f"the {kind} has no currency")
    shipping = _money_amount(source_object.get("shippingPrice"), "gross", "shippingPrice") or Decimal(0)
    number_raw = source_object.get("number") if kind == "order" else None
    number = None if number_raw is None or isinstance(number_raw, bool) else _text(str(number_raw))
    email = (
        _text(source_object.get("email" if kind == "checkout" else "userEmail"))
        or _text(source_object.get("email"))
        or _text(_get(source_object, "user", "email"))
    )
    return SourceSummary(
        kind=kind,
        id=source_id,
        number=number,
        currency=currency.upper(),
        total_gross=total,
        shipping_gross=shipping,
        lines=_lines(source_object.get("lines"), kind),
        email=email,
        first_name=_text(_get(source_object, "billingAddress", "firstName")),
        last_name=_text(_get(source_object, "billingAddress", "lastName")),
        channel_slug=_text(_get(source_object, "channel", "slug")),
    )


# --------------------------------------------------------------------------------------------
# Text limits
# --------------------------------------------------------------------------------------------


def utf16_length(text: str) -> int:
    """Length as .NET counts it (UTF-16 code units): the unit of CoinPayments' `MaxLength` checks."""
    return sum(2 if ord(char) > 0xFFFF else 1 for char in text)


def _flatten(text: str, *, multiline: bool) -> str:
    """Control characters become spaces and runs of spaces one space; `multiline` keeps line breaks."""
    if not multiline:
        return " ".join("".join(" " if unicodedata.category(c).startswith("C") else c for c in text).split())
    rows = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(_flatten(row, multiline=False) for row in rows).strip()


def clip(text: str, limit: int, *, ellipsis: bool = True, multiline: bool = False) -> str:
    """`text` on one line (or keeping line breaks), at most `limit` UTF-16 units, cut between
    characters (never inside a surrogate pair or before a combining mark), ending with "…" when
    something was cut."""
    flat = _flatten(text, multiline=multiline)
    if utf16_length(flat) <= limit:
        return flat
    budget = limit - (1 if ellipsis else 0)
    used = 0
    end = 0
    for index, char in enumerate(flat):
        size = 2 if ord(char) > 0xFFFF else 1
        if used + size > budget:
            break
        used += size
        end = index + 1
    while 0 < end < len(flat) and unicodedata.combining(flat[end]):
        end -= 1
    cut = flat[:end].rstrip()
    return cut + "…" if ellipsis else cut


# --------------------------------------------------------------------------------------------
# Building the body
# --------------------------------------------------------------------------------------------


def make_invoice_ref(installation_id: str, transaction_id: str) -> str:
    """Our `invoiceId` for a Saleor transaction: deterministic (a retry finds the same invoice),
    unique per (installation, transaction), 37 characters: `scp-<8 hex>-<24 hex>`."""
    if not installation_id or not transaction_id:
        raise InvoiceBuildError("an invoice reference needs an installation id and a transaction id")
    prefix = hashlib.sha256(installation_id.encode()).hexdigest()[:8]
    digest = hashlib.sha256(f"{installation_id}\n{transaction_id}".encode()).hexdigest()[:24]
    return f"scp-{prefix}-{digest}"


@dataclass(frozen=True, slots=True)
class _Item:
    name: str
    sku: str | None
    quantity: int
    amount: Decimal
    tax: Decimal | None = None


def _item_json(item: _Item, decimals: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": item.name,
        "quantity": {"value": item.quantity, "type": "quantity"},
        "amount": format_decimal(item.amount, decimals),
    }
    if item.sku:
        body["sku"] = item.sku
    if item.tax is not None:
        body["tax"] = format_decimal(item.tax, decimals)
    return body


def _noun(summary: SourceSummary) -> str:
    return "order" if summary.kind == "order" else "checkout"


def _single_item_name(summary: SourceSummary) -> str:
    return clip(f"Payment towards {_noun(summary)} {summary.display_ref}", NAME_LIMIT)


def _itemise(summary: SourceSummary, decimals: int) -> list[_Item]:
    """Items for the positive lines: gross totals, or net + tax when every line has a sane net."""
    priced = [line for line in summary.lines if quantize(line.total_gross, decimals) > 0]
    with_tax = (
        bool(priced)
        and all(line.total_net is not None and 0 <= line.total_net <= line.total_gross for line in priced)
        and any(
            quantize(line.total_net or Decimal(0), decimals) != quantize(line.total_gross, decimals) for line in priced
        )
    )
    items: list[_Item] = []
    for line in priced:
        name, quantity = line.name or line.sku or "Item", line.quantity
        if not 1 <= quantity <= MAX_QUANTITY:
            name, quantity = f"{quantity} × {name}", 1
        gross = quantize(line.total_gross, decimals)
        sku = clip(line.sku, SKU_LIMIT, ellipsis=False) if line.sku else None
        if with_tax:
            net = quantize(line.total_net or Decimal(0), decimals)
            items.append(_Item(clip(name, NAME_LIMIT) or "Item", sku or None, quantity, net, gross - net))
        else:
            items.append(_Item(clip(name, NAME_LIMIT) or "Item", sku or None, quantity, gross))
    return items


def _amount_json(items: Sequence[_Item], total: Decimal, shipping: Decimal, decimals: int) -> dict[str, Any]:
    """Breakdown whose sums hold exactly; the gap to `total` becomes discount or handling."""
    subtotal = sum((item.amount for item in items), Decimal(0))
    has_tax = any(item.tax is not None for item in items)
    tax_total = sum((item.tax or Decimal(0) for item in items), Decimal(0))
    gap = total - (subtotal + shipping + tax_total)
    breakdown: dict[str, Any] = {"subtotal": format_decimal(subtotal, decimals)}
    if shipping > 0:
        breakdown["shipping"] = format_decimal(shipping, decimals)
    if gap > 0:
        breakdown["handling"] = format_decimal(gap, decimals)
    if has_tax:
        breakdown["taxTotal"] = format_decimal(tax_total, decimals)
    if gap < 0:
        breakdown["discount"] = format_decimal(-gap, decimals)
    return {"breakdown": breakdown, "total": format_decimal(total, decimals)}


def _default_description(summary: SourceSummary) -> str:
    if summary.kind == "order":
        return f"Order {summary.display_ref}"
    return f"Checkout {summary.display_ref}"


def _custom_data(summary: SourceSummary, invoice_ref: str) -> dict[str, str]:
    data = {"saleorSourceType": summary.kind, "saleorSourceId": summary.id, "invoiceRef": invoice_ref}
    if summary.number:
        data["saleorOrderNumber"] = summary.number
    if summary.channel_slug:
        data["saleorChannel"] = summary.channel_slug
    return data


def _buyer(summary: SourceSummary) -> dict[str, Any] | None:
    buyer: dict[str, Any] = {}
    name = {
        key: clip(value, PERSON_NAME_LIMIT)
        for key, value in (("firstName", summary.first_name), ("lastName", summary.last_name))
        if value
    }
    if name:
        buyer["name"] = name
    if summary.email and _EMAIL.match(summary.email) and len(summary.email) <= 320:
        buyer["emailAddress"] = summary.email
    return buyer or None


def _url(value: str | None, label: str) -> str | None:
    if value is None or value == "":
        return None
    if not _URL.match(value) or len(value) > 2000:
        raise InvoiceBuildError(f"{label} is not an http(s) URL: {value!r}")
    return value


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvoiceBuildError("dueDate must be an aware datetime")
    return moment.astimezone(UTC).isoformat()


def build_invoice_request(
    summary: SourceSummary,
    *,
    amount: Money,
    invoice_ref: str,
    fiat_currency_id: str,
    notification_url: str,
    refund_email: str | None,
    success_url: str | None,
    cancel_url: str | None,
    payment_currency: str | None,
    email_delivery: EmailDelivery | None = None,
    due_date: datetime | None = None,
    note: str | None = None,
    description: str | None,
) -> dict[str, Any]:
    """The JSON body of `POST /api/v2/merchant/invoices` charging exactly `amount`.

    Checkout flow (no `email_delivery`): `payment{refundEmail, paymentCurrency?}` opens a payment
    at once (left out entirely without a refund e-mail — `payment: {}` is an error), redirects,
    hidden shopping cart. Sent-out flow (`email_delivery` given): CoinPayments e-mails the invoice;
    `buyer`, `dueDate`, `notesToRecipient`, and no `payment` at all (the buyer picks the coin on
    CoinPayments' page, so `refund_email` and `payment_currency` are not used).
    """
    if amount.currency != summary.currency.upper():
        raise InvoiceBuildError(f"amount is in {amount.currency} but the {_noun(summary)} is in {summary.currency}")
    decimals = amount.decimals
    total = quantize(amount.amount, decimals)
    if total <= 0:
        raise InvoiceBuildError(f"nothing to invoice: the amount is {format_decimal(total, decimals)}")
    if not invoice_ref or utf16_length(invoice_ref) > INVOICE_REF_LIMIT:
        raise InvoiceBuildError(f"invoice reference must be 1..{INVOICE_REF_LIMIT} characters")
    if not _CURRENCY_ID.match(fiat_currency_id):
        raise InvoiceBuildError(f"not a CoinPayments currency id: {fiat_currency_id!r}")
    webhook_url = _url(notification_url, "notification URL")
    if webhook_url is None:
        raise InvoiceBuildError("a notification URL is required")

    items: list[_Item] = []
    shipping = Decimal(0)
    if total == quantize(summary.total_gross, decimals):
        items = _itemise(summary, decimals)
        if items:
            shipping = quantize(summary.shipping_gross, decimals)
    if not items:
        items = [_Item(_single_item_name(summary), None, 1, total)]

    body: dict[str, Any] = {
        "currency": fiat_currency_id,
        "invoiceId": invoice_ref,
        "items": [_item_json(item, decimals) for item in items],
        "amount": _amount_json(items, total, shipping, decimals),
        "description": clip(description if description else _default_description(summary), DESCRIPTION_LIMIT),
        "customData": _custom_data(summary, invoice_ref),
        "webhooks": [{"notificationsUrl": webhook_url, "notifications": list(INVOICE_EVENTS)}],
    }
    buyer = _buyer(summary)
    if buyer is not None:
        body["buyer"] = buyer
    if email_delivery is None:
        # An address CoinPayments would refuse is left out rather than failing the whole invoice:
        # the buyer then gives one on CoinPayments' page.
        refund_to = refund_email.strip() if refund_email else ""
        if refund_to and _EMAIL.match(refund_to) and len(refund_to) <= 320:
            payment: dict[str, Any] = {"refundEmail": refund_to}
            if payment_currency:
                if not _CURRENCY_ID.match(payment_currency):
                    raise InvoiceBuildError(f"not a CoinPayments currency id: {payment_currency!r}")
                payment["paymentCurrency"] = payment_currency
            body["payment"] = payment
        body["hideShoppingCart"] = True
    else:
        recipients = email_delivery.to.strip()
        if not recipients or len(recipients) > EMAIL_DELIVERY_LIMIT:
            raise InvoiceBuildError("emailDelivery.to must name 1..500 characters of addresses")
        delivery: dict[str, Any] = {"to": recipients}
        for key, value in (("cc", email_delivery.cc), ("bcc", email_delivery.bcc)):
            if value and value.strip():
                if len(value.strip()) > EMAIL_DELIVERY_LIMIT:
                    raise InvoiceBuildError(f"emailDelivery.{key} is longer than {EMAIL_DELIVERY_LIMIT}")
                delivery[key] = value.strip()
        body["isEmailDelivery"] = True
        body["emailDelivery"] = delivery
        if due_date is not None:
            body["dueDate"] = _iso(due_date)
        if note and note.strip():
            body["notesToRecipient"] = clip(note, NOTES_TO_RECIPIENT_LIMIT, multiline=True)
    success = _url(success_url, "success URL")
    if success is not None:
        body["successUrl"] = success
    cancel = _url(cancel_url, "cancel URL")
    if cancel is not None:
        body["cancelUrl"] = cancel
    return body
