"""Answers about invoices: create, get v2, list, payment address, status (coinpayments.md#created-invoice,
#get-invoice, #list-invoices, #payment-address, #payment-status)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, model_validator

from .common import (
    AmountDue,
    Currency,
    CurrencyId,
    DecimalAmount,
    InvoiceStatus,
    Paging,
    PaymentState,
    Timestamp,
    V1Money,
    WireModel,
    items_envelope,
    status_or_state,
)
from .invoice_request import InvoiceAmount

StrictInvoiceStatus = Annotated[InvoiceStatus, BeforeValidator(InvoiceStatus.parse)]
"""REST statuses must be known: guessing a payment state is worse than failing loudly."""

LenientPaymentState = Annotated[PaymentState, BeforeValidator(PaymentState.parse_lenient)]


class _StatusOrState(WireModel):
    """Reads `status`, or `state` when only that is sent (v1 shapes disagree, coinpayments.md#get-invoice)."""

    @model_validator(mode="before")
    @classmethod
    def _status_or_state(cls, data: Any) -> Any:
        return status_or_state(data)


class PaymentCurrencyOption(WireModel):
    """A coin the buyer may pay with, and how much of it (v2: decimal strings in the coin's units)."""

    currency: Currency
    is_disabled: bool = False
    amount: DecimalAmount | None = None
    approximate_network_amount: DecimalAmount | None = None
    remaining_amount: DecimalAmount | None = None


class PaymentAddresses(WireModel):
    address: str
    bip21: str | None = Field(None, alias="biP21")


class HotWallet(WireModel):
    """Present only when the invoice was created with `payment.paymentCurrency`."""

    currency: Currency
    addresses: PaymentAddresses
    amount: DecimalAmount | None = None
    remaining_amount: DecimalAmount | None = None
    expires: Timestamp | None = None


class CreatedPayment(WireModel):
    payment_id: str
    expires: Timestamp | None = None
    refund_email: str | None = None
    payment_currencies: list[PaymentCurrencyOption] = Field(default_factory=list)


class CreatedInvoice(WireModel):
    """One element of `invoices[]`; `id` is the CoinPayments invoice id used in every later call."""

    id: str = Field(min_length=1)
    link: str
    checkout_link: str | None = None
    payment: CreatedPayment | None = None
    hot_wallet: HotWallet | None = None


class CreateInvoiceResponse(WireModel):
    invoices: list[CreatedInvoice] = Field(min_length=1)


class FeeBreakdown(WireModel):
    """Fees of one side (buyer or merchant) of a payment, in the payment's coin (coinpayments.md#get-invoice)."""

    coin_payments_fee: DecimalAmount | None = None
    network_fee: DecimalAmount | None = None
    conversion_fee: DecimalAmount | None = None
    total: DecimalAmount | None = None


class PaymentFees(WireModel):
    """`payments[].fees` (in the coin) or `nativeFees` (in the invoice currency)."""

    payment_sub_total: DecimalAmount | None = None
    merchant_markup_or_discount: DecimalAmount | None = None
    buyer_fee: FeeBreakdown | None = None
    merchant_fee: FeeBreakdown | None = None
    gross: DecimalAmount | None = None


class PaymentPayout(WireModel):
    """`payments[].payout` (or `nativePayout`): what is sent on to the merchant, and the chain's record of it.
    The amount is `displayValue`, a decimal string in major units."""

    scheduled_at: Timestamp | None = None
    sent_at: Timestamp | None = None
    completed_at: Timestamp | None = None
    blockchain_tx: str | None = None
    received_blockchain_tx: str | None = None
    address: str | None = None
    currency_symbol: str | None = None
    currency_id: CurrencyId | None = None
    display_value: DecimalAmount | None = None


class InvoicePayment(WireModel):
    """One payment on a v2 invoice: what was expected and what actually came, also in the invoice
    currency, what CoinPayments keeps of it and what it pays out."""

    payment_currency_id: CurrencyId | None = None
    payment_currency_symbol: str | None = None
    native_currency_id: CurrencyId | None = None
    native_currency_symbol: str | None = None
    expected_amount: DecimalAmount | None = None
    native_expected_amount: DecimalAmount | None = None
    actual_amount: DecimalAmount | None = None
    native_actual_amount: DecimalAmount | None = None
    payment_address: str | None = None
    error_code: str | None = None
    refund_email: str | None = None
    state: LenientPaymentState = PaymentState.UNKNOWN
    is_active: bool | None = None
    pending_at: Timestamp | None = None
    confirmed_at: Timestamp | None = None
    completed_at: Timestamp | None = None
    confirmations: int | None = None
    required_confirmations: int | None = None
    fees: PaymentFees | None = None
    native_fees: PaymentFees | None = None
    payout: PaymentPayout | None = None
    native_payout: PaymentPayout | None = None


class Invoice(_StatusOrState):
    """`GET /api/v2/merchant/invoices/{id}`: the invoice as CoinPayments sees it now."""

    id: str
    status: StrictInvoiceStatus
    currency: Currency
    amount: InvoiceAmount
    invoice_id: str | None = None
    created: Timestamp | None = None
    expires: Timestamp | None = None
    confirmed: Timestamp | None = None
    completed: Timestamp | None = None
    cancelled: Timestamp | None = None
    description: str | None = None
    custom_data: dict[str, str] | None = None
    payments: list[InvoicePayment] = Field(default_factory=list)
    po_number: str | None = None

    def native_amount_received(self) -> Decimal:
        """Σ `nativeActualAmount` over payments: what came in, in the invoice (pricing) currency."""
        return sum((p.native_actual_amount or Decimal(0) for p in self.payments), Decimal(0))


class InvoiceSummary(_StatusOrState):
    """An item of the invoice list (v1): enough to find an invoice by our `invoiceId`, and to see
    whether its status moved (the sweep, payments/sweep.py)."""

    id: str
    status: StrictInvoiceStatus
    invoice_id: str | None = None
    created: Timestamp | None = None
    expires: Timestamp | None = None
    currency: Currency | None = None
    amount: V1Money | None = None

    @property
    def total(self) -> Decimal | None:
        """The invoice amount in major units of its currency (None if either is missing)."""
        if self.amount is None:
            return None
        decimals = self.currency.decimal_places if self.currency is not None else None
        if self.amount.decimal_places is None and decimals is None:
            return None
        return self.amount.to_decimal(decimals)


class InvoiceList(WireModel):
    items: list[InvoiceSummary] = Field(default_factory=list)
    paging: Paging = Field(default_factory=Paging)

    @model_validator(mode="before")
    @classmethod
    def _envelope(cls, data: Any) -> Any:
        return items_envelope(data)


class PaymentAddress(WireModel):
    """`GET /api/v1/invoices/{id}/payment-currencies/{currency}`: where and how much to pay in one coin."""

    currency: Currency
    amount: AmountDue
    addresses: PaymentAddresses
    expires: Timestamp | None = None
    remaining_amount: V1Money | None = None

    @property
    def amount_due(self) -> Decimal:
        """Major units of the coin, from smallest-unit `value` and the coin's `decimalPlaces`."""
        return self.amount.to_decimal(self.currency.decimal_places)

    @property
    def remaining(self) -> Decimal | None:
        if self.remaining_amount is None:
            return None
        return self.remaining_amount.to_decimal(self.currency.decimal_places)


class PaymentProgress(WireModel):
    currency_id: CurrencyId
    confirmations: int = Field(ge=0)
    required_confirmations: int = Field(ge=0)
    confirmed_amount: V1Money
    unconfirmed_amount: V1Money
    expected_amount: AmountDue | None = None
    remaining_amount: V1Money | None = None


class PaymentStatus(_StatusOrState):
    """`GET …/payment-currencies/{currency}/status`. Amounts are v1 smallest units: read them with the
    coin's decimal places (`Currency.decimal_places` from the address call or the currency list)."""

    status: StrictInvoiceStatus
    created: Timestamp | None = None
    expires: Timestamp | None = None
    payment: PaymentProgress | None = None
    partial_accept_available: bool | None = None
