"""Client webhook subscriptions and the notification envelope CoinPayments delivers.

See coinpayments.md#webhook-subscriptions, #webhook-body.

The envelope is read leniently: deliveries are triggers (the invoice is re-read before acting),
and sources disagree on casing and amount encoding, so only `id`, `type` and `invoice.id` are required.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, model_validator

from .common import (
    CurrencyId,
    InvoiceStatus,
    Paging,
    Timestamp,
    WebhookEventType,
    WireAmount,
    WireModel,
    items_envelope,
    status_or_state,
    wire_amount_to_decimal,
)


class ClientWebhook(WireModel):
    id: str
    notifications_url: str
    notifications: list[str] = Field(default_factory=list)
    created_from_ui: bool | None = None


class ClientWebhookList(WireModel):
    items: list[ClientWebhook] = Field(default_factory=list)
    paging: Paging = Field(default_factory=Paging)

    @model_validator(mode="before")
    @classmethod
    def _envelope(cls, data: Any) -> Any:
        return items_envelope(data)


class CreatedClientWebhook(WireModel):
    id: str


def _lenient_state(value: object) -> InvoiceStatus | None:
    return InvoiceStatus.lookup(value) if isinstance(value, str) else None


def _lenient_type(value: object) -> WebhookEventType:
    return WebhookEventType.parse_lenient(value)


class WebhookCurrencyRef(WireModel):
    id: CurrencyId
    smart_contract: str | None = None


class WebhookInvoiceAmount(WireModel):
    """Stored-invoice totals; integers are smallest units, strings major units (sources differ)."""

    currency: WebhookCurrencyRef | None = None
    subtotal: WireAmount | None = None
    shipping_total: WireAmount | None = None
    handling_total: WireAmount | None = None
    discount_total: WireAmount | None = None
    tax_total: WireAmount | None = None
    total: WireAmount | None = None

    def total_decimal(self, decimals: int) -> Decimal | None:
        return None if self.total is None else wire_amount_to_decimal(self.total, decimals)


def _ignore_bad(value: object) -> object:
    """An amount block we cannot read is dropped, not fatal: the invoice is re-read anyway."""
    try:
        return WebhookInvoiceAmount.model_validate(value) if value is not None else None
    except ValueError:
        return None


class WebhookInvoice(WireModel):
    id: str = Field(min_length=1)
    invoice_id: str | None = None
    state: Annotated[InvoiceStatus | None, BeforeValidator(_lenient_state)] = None
    raw_state: str | None = None
    merchant_client_id: str | None = None
    custom_data: dict[str, str] | None = None
    amount: Annotated[WebhookInvoiceAmount | None, BeforeValidator(_ignore_bad)] = None

    @model_validator(mode="before")
    @classmethod
    def _state_or_status(cls, data: Any) -> Any:
        data = status_or_state(data, target="state")
        if isinstance(data, dict) and isinstance(data.get("state"), str):
            data = {**data, "rawState": data["state"]}
        return data


class WebhookEnvelope(WireModel):
    """`{id, type, timestamp, invoice}`; `id` is the notification's id, not the invoice's."""

    id: str = Field(min_length=1)
    type: Annotated[WebhookEventType, BeforeValidator(_lenient_type)]
    raw_type: str
    invoice: WebhookInvoice
    timestamp: Timestamp | None = None

    @model_validator(mode="before")
    @classmethod
    def _keep_raw_type(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("type"), str):
            return {**data, "rawType": data["type"]}
        return data
