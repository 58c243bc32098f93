"""Strict validation of `POST /api/v2/merchant/invoices` bodies (coinpayments.md#create-invoice, #simulator).

Collects every error before answering, as ASP.NET model validation does, and keys them by
the PascalCase property path (`Items[0].Quantity.Value`) as ASP.NET does (coinpayments.md#errors).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from saleor_coinpayments.simulator.currencies import Currency, CurrencyBook
from saleor_coinpayments.simulator.events import canonical_subscription
from saleor_coinpayments.simulator.problems import Problem

_DECIMAL = re.compile(r"-?\d+(\.\d+)?")
_EMAIL = re.compile(r"[^@\s;,]+@[^@\s;,]+\.[^@\s;,.]+")
_PHONE = re.compile(r"[.()+\-0-9 ]*")
_COUNTRY = re.compile(r"[A-Z]{2}")
QUANTITY_TYPES = {"hours": "hours", "quantity": "quantity", 1: "hours", 2: "quantity"}
MAX_QUANTITY = 999_999_999

Path = tuple[str | int, ...]


def path_name(path: Path) -> str:
    """`("items", 0, "quantity")` → `Items[0].Quantity`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part[:1].upper() + part[1:]
    return out or "$"


def describe(errors: dict[str, list[str]]) -> str:
    """A one-line `detail` naming every failing field, for people reading logs."""
    return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items())


def is_email(value: str) -> bool:
    return bool(_EMAIL.fullmatch(value))


def is_absolute_url(value: str) -> bool:
    """An http(s) URL with a host and nothing a strict validator would refuse."""
    if not value or any(ch.isspace() for ch in value):
        return False
    try:
        parts = urlsplit(value)
        _ = parts.port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


@dataclass(frozen=True, slots=True)
class Item:
    name: str
    quantity: int
    quantity_type: str
    amount: Decimal
    original_amount: Decimal | None = None
    tax: Decimal | None = None
    custom_id: str | None = None
    sku: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Breakdown:
    subtotal: Decimal | None = None
    shipping: Decimal | None = None
    handling: Decimal | None = None
    tax_total: Decimal | None = None
    discount: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Subscription:
    notifications_url: str
    notifications: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    refund_email: str
    payment_currency: Currency | None


@dataclass
class CreateInvoice:
    """A create request that passed every check; amounts are exact Decimals."""

    currency: Currency
    items: list[Item]
    breakdown: Breakdown
    total: Decimal
    payment: PaymentRequest | None
    webhooks: list[Subscription]
    invoice_id: str | None = None
    po_number: str | None = None
    description: str | None = None
    invoice_date: datetime | None = None
    due_date: datetime | None = None
    draft: bool = False
    is_email_delivery: bool = False
    email_delivery: dict[str, str | None] = field(default_factory=dict)
    custom_data: dict[str, str] | None = None
    metadata: dict[str, str | None] | None = None
    buyer: dict[str, Any] | None = None
    shipping: dict[str, Any] | None = None
    merchant_options: dict[str, Any] | None = None
    texts: dict[str, str | None] = field(default_factory=dict)
    flags: dict[str, bool] = field(default_factory=dict)
    success_url: str | None = None
    cancel_url: str | None = None


_TEXT_LIMITS = {
    "description": 200,
    "invoiceId": 127,
    "poNumber": 16,
    "notes": 500,
    "notesToRecipient": 2000,
    "termsAndConditions": 2000,
    "buyerDataCollectionMessage": 300,
}
_FLAGS = ("requireBuyerNameAndEmail", "isEmailDelivery", "draft", "hideShoppingCart", "isSimpleQR",
          "useCoinReservation")  # fmt: skip
_ADDRESS_LIMITS = {
    "address1": 300, "address2": 300, "address3": 300, "provinceOrState": 300,
    "city": 120, "suburbOrDistrict": 100, "postalCode": 60,
}  # fmt: skip


class _Checker:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def err(self, path: Path, message: str) -> None:
        self.errors.setdefault(path_name(path), []).append(message)

    def obj(self, value: Any, path: Path, required: bool = False) -> dict[str, Any] | None:
        if value is None:
            if required:
                self.err(path, f"The {path_name(path)} field is required.")
            return None
        if not isinstance(value, dict):
            self.err(path, "Expected a JSON object.")
            return None
        return value

    def text(self, parent: dict[str, Any], key: str, path: Path, limit: int, required: bool = False) -> str | None:
        value = parent.get(key)
        where = (*path, key)
        if value is None:
            if required:
                self.err(where, f"The {path_name(where)} field is required.")
            return None
        if not isinstance(value, str):
            self.err(where, "Expected a string.")
            return None
        if required and not value.strip():
            self.err(where, f"The {path_name(where)} field is required.")
        if len(value) > limit:
            self.err(where, f"The field {path_name(where)} must be a string with a maximum length of {limit}.")
        return value

    def flag(self, parent: dict[str, Any], key: str, path: Path) -> bool:
        value = parent.get(key)
        if value is None:
            return False
        if not isinstance(value, bool):
            self.err((*path, key), "Expected true or false.")
            return False
        return value

    def amount(
        self, parent: dict[str, Any], key: str, path: Path, places: int, required: bool = False
    ) -> Decimal | None:
        """A non-negative decimal *string* with at most `places` fractional digits."""
        value = parent.get(key)
        where = (*path, key)
        if value is None:
            if required:
                self.err(where, f"The {path_name(where)} field is required.")
            return None
        if not isinstance(value, str):
            self.err(where, 'Amounts are decimal strings in major units, e.g. "10.00".')
            return None
        if not _DECIMAL.fullmatch(value):
            self.err(where, f"'{value}' is not a plain decimal number.")
            return None
        try:
            parsed = Decimal(value)
        except InvalidOperation:  # pragma: no cover - the regex already guards this
            self.err(where, f"'{value}' is not a decimal number.")
            return None
        if parsed < 0:
            self.err(where, "Amounts cannot be negative.")
        fraction = value.partition(".")[2]
        if len(fraction) > places:
            self.err(where, f"Too many decimal places: the currency allows {places}.")
        return parsed

    def email(self, parent: dict[str, Any], key: str, path: Path, required: bool = False) -> str | None:
        value = self.text(parent, key, path, 254, required)
        if value is not None and value.strip() and not is_email(value):
            self.err((*path, key), f"'{value}' is not a valid e-mail address.")
        return value

    def url(self, parent: dict[str, Any], key: str, path: Path, required: bool = False) -> str | None:
        value = self.text(parent, key, path, 2048, required)
        if value is not None and value and not is_absolute_url(value):
            self.err((*path, key), f"'{value}' is not an absolute http(s) URL.")
        return value

    def moment(self, parent: dict[str, Any], key: str, path: Path) -> datetime | None:
        value = parent.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self.err((*path, key), "Expected an ISO 8601 date-time string.")
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            self.err((*path, key), f"'{value}' is not an ISO 8601 date-time.")
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def validate_subscription(checker: _Checker, raw: Any, path: Path, need_url: bool = True) -> Subscription | None:
    """`{notificationsUrl, notifications[]}` as used by invoices and client webhooks alike."""
    obj = checker.obj(raw, path, required=True)
    if obj is None:
        return None
    url = checker.url(obj, "notificationsUrl", path, required=need_url)
    names = obj.get("notifications")
    canonical: list[str] = []
    if not isinstance(names, list) or not names:
        checker.err((*path, "notifications"), "At least one notification type is required.")
    else:
        for index, name in enumerate(names):
            known = canonical_subscription(name) if isinstance(name, str) else None
            if known is None:
                checker.err((*path, "notifications", index), f"Unknown notification type {name!r}.")
            elif known not in canonical:
                canonical.append(known)
    return Subscription(url or "", tuple(canonical))


def parse_subscription(raw: Any, need_url: bool = True) -> Subscription:
    """A client-webhook body, or a 400 problem."""
    checker = _Checker()
    sub = validate_subscription(checker, raw, (), need_url)
    if checker.errors or sub is None:
        raise Problem(400, describe(checker.errors), checker.errors)
    return sub


def _validate_name(checker: _Checker, raw: Any, path: Path) -> None:
    obj = checker.obj(raw, path)
    if obj is not None:
        checker.text(obj, "firstName", path, 140)
        checker.text(obj, "lastName", path, 140)


def _validate_address(checker: _Checker, raw: Any, path: Path) -> None:
    obj = checker.obj(raw, path)
    if obj is None:
        return
    for key, limit in _ADDRESS_LIMITS.items():
        checker.text(obj, key, path, limit)
    code = checker.text(obj, "countryCode", path, 2)
    if code is not None and not _COUNTRY.fullmatch(code):
        checker.err((*path, "countryCode"), "The field CountryCode must match '^[A-Z]{2}$'.")


def _validate_party(checker: _Checker, raw: Any, path: Path, with_method: bool) -> dict[str, Any] | None:
    obj = checker.obj(raw, path)
    if obj is None:
        return None
    checker.text(obj, "companyName", path, 140)
    _validate_name(checker, obj.get("name"), (*path, "name"))
    checker.email(obj, "emailAddress", path)
    phone = checker.text(obj, "phoneNumber", path, 40)
    if phone is not None and not _PHONE.fullmatch(phone):
        checker.err((*path, "phoneNumber"), "The field PhoneNumber must match '^[.()\\+\\-0-9 ]*$'.")
    _validate_address(checker, obj.get("address"), (*path, "address"))
    if with_method:
        checker.text(obj, "method", path, 127)
    return obj


def _validate_item(checker: _Checker, raw: Any, index: int, places: int) -> Item | None:
    path: Path = ("items", index)
    obj = checker.obj(raw, path, required=True)
    if obj is None:
        return None
    name = checker.text(obj, "name", path, 127, required=True)
    quantity = checker.obj(obj.get("quantity"), (*path, "quantity"), required=True)
    value, qtype = 1, "quantity"
    if quantity is not None:
        raw_value = quantity.get("value", 1)
        if isinstance(raw_value, bool) or not isinstance(raw_value, int):
            checker.err((*path, "quantity", "value"), "The field Value must be an integer.")
        elif not 1 <= raw_value <= MAX_QUANTITY:
            checker.err((*path, "quantity", "value"), f"The field Value must be between 1 and {MAX_QUANTITY}.")
        else:
            value = raw_value
        raw_type = quantity.get("type")
        key = raw_type.lower() if isinstance(raw_type, str) else raw_type
        if isinstance(raw_type, bool) or key not in QUANTITY_TYPES:
            checker.err((*path, "quantity", "type"), "The field Type must be 'hours' or 'quantity' (1 or 2).")
        else:
            qtype = QUANTITY_TYPES[key]
    amount = checker.amount(obj, "amount", path, places, required=True)
    original = checker.amount(obj, "originalAmount", path, places)
    tax = checker.amount(obj, "tax", path, places)
    custom_id = checker.text(obj, "customId", path, 127)
    sku = checker.text(obj, "sku", path, 127)
    description = checker.text(obj, "description", path, 1000)
    if name is None or amount is None:
        return None
    return Item(name, value, qtype, amount, original, tax, custom_id, sku, description)


def _validate_amounts(
    checker: _Checker, body: dict[str, Any], items: list[Item] | None, places: int
) -> tuple[Breakdown, Decimal]:
    amount = checker.obj(body.get("amount"), ("amount",), required=True) or {}
    breakdown_raw = checker.obj(amount.get("breakdown"), ("amount", "breakdown")) or {}
    where: Path = ("amount", "breakdown")
    subtotal = checker.amount(breakdown_raw, "subtotal", where, places, required=bool(items))
    shipping = checker.amount(breakdown_raw, "shipping", where, places)
    handling = checker.amount(breakdown_raw, "handling", where, places)
    taxes = [item.tax for item in items or [] if item.tax is not None]
    tax_total = checker.amount(breakdown_raw, "taxTotal", where, places, required=bool(taxes))
    discount = checker.amount(breakdown_raw, "discount", where, places)
    total = checker.amount(amount, "total", ("amount",), places, required=True)
    if items and subtotal is not None and len(items) == len(body.get("items") or []):
        expected = sum((item.amount for item in items), Decimal(0))
        if subtotal != expected:
            checker.err((*where, "subtotal"), f"Subtotal {subtotal} must equal the sum of item amounts ({expected}).")
    if taxes and tax_total is not None and tax_total != sum(taxes, Decimal(0)):
        checker.err((*where, "taxTotal"), f"TaxTotal {tax_total} must equal the sum of item taxes ({sum(taxes)}).")
    if total is not None:
        if total <= 0:
            checker.err(("amount", "total"), "The invoice total must be greater than zero.")
        if subtotal is not None:
            parts = [shipping, handling, tax_total]
            computed = subtotal + sum((p for p in parts if p is not None), Decimal(0)) - (discount or Decimal(0))
            if computed != total:
                checker.err(
                    ("amount", "total"),
                    f"Total {total} must equal subtotal + shipping + handling + taxTotal - discount ({computed}).",
                )
    return Breakdown(subtotal, shipping, handling, tax_total, discount), total or Decimal(0)


def _validate_payment(checker: _Checker, raw: Any, book: CurrencyBook) -> PaymentRequest | None:
    if raw is None:
        return None
    obj = checker.obj(raw, ("payment",))
    if obj is None:
        return None
    if not obj:
        checker.err(("payment",), "An empty payment object is not allowed; omit it for invoice links.")
        return None
    email = checker.email(obj, "refundEmail", ("payment",), required=True)
    coin: Currency | None = None
    code = obj.get("paymentCurrency")
    if code is not None:
        found = book.find(code) if isinstance(code, str) else None
        if found is None:
            checker.err(("payment", "paymentCurrency"), f"Currency {code!r} not found.")
        elif not found.payable:
            checker.err(("payment", "paymentCurrency"), f"Currency {found.symbol} is not available for payment.")
        else:
            coin = found
    return PaymentRequest(email, coin) if email else None


def _validate_email_delivery(checker: _Checker, body: dict[str, Any], emailed: bool) -> dict[str, str | None]:
    obj = checker.obj(body.get("emailDelivery"), ("emailDelivery",), required=emailed) or {}
    result: dict[str, str | None] = {}
    for key in ("to", "cc", "bcc"):
        value = checker.text(obj, key, ("emailDelivery",), 500, required=emailed and key == "to")
        result[key] = value
        for address in (value or "").split(";"):
            if address.strip() and not is_email(address.strip()):
                checker.err(("emailDelivery", key), f"'{address.strip()}' is not a valid e-mail address.")
    return result


def _string_map(checker: _Checker, raw: Any, path: Path) -> dict[str, str] | None:
    obj = checker.obj(raw, path)
    if obj is None:
        return None
    for key, value in obj.items():
        if not isinstance(value, str):
            checker.err((*path, key), "Values must be strings.")
    return {k: v for k, v in obj.items() if isinstance(v, str)}


def validate_create_v2(body: Any, book: CurrencyBook, caller_client_id: str) -> CreateInvoice:
    """The request as a `CreateInvoice`, or a 400 `Problem` listing every error found."""
    checker = _Checker()
    if not isinstance(body, dict):
        raise Problem(400, "The request body must be a JSON object.", {"$": ["Expected a JSON object."]})

    currency: Currency | None = None
    code = body.get("currency")
    if code is None:
        checker.err(("currency",), "The Currency field is required.")
    elif not isinstance(code, str):
        checker.err(("currency",), 'The currency id is a string, e.g. "5057".')
    else:
        currency = book.find(code)
        if currency is None:
            checker.err(("currency",), f"Currency {code!r} not found.")
        elif not currency.is_fiat:
            checker.err(("currency",), "The invoice currency must be a fiat currency.")
            currency = None
    places = currency.decimal_places if currency else 2

    items: list[Item] | None = None
    raw_items = body.get("items")
    if raw_items is not None:
        if not isinstance(raw_items, list):
            checker.err(("items",), "Expected an array.")
        else:
            parsed = [_validate_item(checker, raw, index, places) for index, raw in enumerate(raw_items)]
            items = [item for item in parsed if item is not None]

    texts = {key: checker.text(body, key, (), limit) for key, limit in _TEXT_LIMITS.items()}
    if not raw_items and not (texts["description"] or "").strip():
        checker.err(("items",), "Either items or a description is required.")

    breakdown, total = _validate_amounts(checker, body, items, places)
    flags = {key: checker.flag(body, key, ()) for key in _FLAGS}
    client_id = checker.text(body, "clientId", (), 64)
    if client_id is not None and client_id != caller_client_id:
        checker.err(("clientId",), "The clientId must be the integration that signs the request.")

    webhooks: list[Subscription] = []
    raw_hooks = body.get("webhooks")
    if raw_hooks is not None:
        if not isinstance(raw_hooks, list):
            checker.err(("webhooks",), "Expected an array.")
        else:
            for index, raw in enumerate(raw_hooks):
                sub = validate_subscription(checker, raw, ("webhooks", index))
                if sub is not None:
                    webhooks.append(sub)

    payment = _validate_payment(checker, body.get("payment"), book)
    email_delivery = _validate_email_delivery(checker, body, flags["isEmailDelivery"])
    custom_data = _string_map(checker, body.get("customData"), ("customData",))
    metadata_raw = checker.obj(body.get("metadata"), ("metadata",))
    metadata = None
    if metadata_raw is not None:
        metadata = {
            "integration": checker.text(metadata_raw, "integration", ("metadata",), 300),
            "hostname": checker.text(metadata_raw, "hostname", ("metadata",), 300),
        }
    buyer = _validate_party(checker, body.get("buyer"), ("buyer",), with_method=False)
    shipping = _validate_party(checker, body.get("shipping"), ("shipping",), with_method=True)
    merchant_options = checker.obj(body.get("merchantOptions"), ("merchantOptions",))
    invoice_date = checker.moment(body, "invoiceDate", ())
    due_date = checker.moment(body, "dueDate", ())
    success_url = checker.url(body, "successUrl", ())
    cancel_url = checker.url(body, "cancelUrl", ())

    if checker.errors or currency is None:
        raise Problem(400, describe(checker.errors), checker.errors)
    return CreateInvoice(
        currency=currency,
        items=items or [],
        breakdown=breakdown,
        total=total,
        payment=payment,
        webhooks=webhooks,
        invoice_id=texts["invoiceId"],
        po_number=texts["poNumber"],
        description=texts["description"],
        invoice_date=invoice_date,
        due_date=due_date,
        draft=flags["draft"],
        is_email_delivery=flags["isEmailDelivery"],
        email_delivery=email_delivery,
        custom_data=custom_data,
        metadata=metadata,
        buyer=buyer,
        shipping=shipping,
        merchant_options=merchant_options,
        texts=texts,
        flags=flags,
        success_url=success_url,
        cancel_url=cancel_url,
    )
