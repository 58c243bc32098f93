"""The Saleor webhooks the app subscribes to: event, route and subscription document."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from saleor_coinpayments.saleor.schema import load_subscription


class SaleorEvent(StrEnum):
    PAYMENT_GATEWAY_INITIALIZE_SESSION = "PAYMENT_GATEWAY_INITIALIZE_SESSION"
    TRANSACTION_INITIALIZE_SESSION = "TRANSACTION_INITIALIZE_SESSION"
    TRANSACTION_PROCESS_SESSION = "TRANSACTION_PROCESS_SESSION"
    TRANSACTION_CHARGE_REQUESTED = "TRANSACTION_CHARGE_REQUESTED"
    TRANSACTION_REFUND_REQUESTED = "TRANSACTION_REFUND_REQUESTED"
    TRANSACTION_CANCELATION_REQUESTED = "TRANSACTION_CANCELATION_REQUESTED"
    INVOICE_REQUESTED = "INVOICE_REQUESTED"
    ORDER_CREATED = "ORDER_CREATED"
    ORDER_CONFIRMED = "ORDER_CONFIRMED"
    ORDER_UPDATED = "ORDER_UPDATED"
    ORDER_CANCELLED = "ORDER_CANCELLED"

    @property
    def header_value(self) -> str:
        """What Saleor sends in `Saleor-Event`."""
        return self.value.lower()

    @property
    def path(self) -> str:
        return "/api/webhooks/saleor/" + self.value.lower().replace("_", "-")


@dataclass(frozen=True)
class WebhookDefinition:
    event: SaleorEvent
    name: str
    is_sync: bool

    @property
    def query(self) -> str:
        return load_subscription(self.event.value.lower())


WEBHOOKS: tuple[WebhookDefinition, ...] = (
    WebhookDefinition(SaleorEvent.PAYMENT_GATEWAY_INITIALIZE_SESSION, "CoinPayments gateway initialize", True),
    WebhookDefinition(SaleorEvent.TRANSACTION_INITIALIZE_SESSION, "CoinPayments transaction initialize", True),
    WebhookDefinition(SaleorEvent.TRANSACTION_PROCESS_SESSION, "CoinPayments transaction process", True),
    WebhookDefinition(SaleorEvent.TRANSACTION_CHARGE_REQUESTED, "CoinPayments charge requested", True),
    WebhookDefinition(SaleorEvent.TRANSACTION_REFUND_REQUESTED, "CoinPayments refund requested", True),
    WebhookDefinition(SaleorEvent.TRANSACTION_CANCELATION_REQUESTED, "CoinPayments cancel requested", True),
    WebhookDefinition(SaleorEvent.INVOICE_REQUESTED, "CoinPayments invoice requested", False),
    WebhookDefinition(SaleorEvent.ORDER_CREATED, "CoinPayments order created", False),
    WebhookDefinition(SaleorEvent.ORDER_CONFIRMED, "CoinPayments order confirmed", False),
    WebhookDefinition(SaleorEvent.ORDER_UPDATED, "CoinPayments order updated", False),
    WebhookDefinition(SaleorEvent.ORDER_CANCELLED, "CoinPayments order cancelled", False),
)
