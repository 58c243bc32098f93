"""The payment state machine (DESIGN.md "Payment states") — pure: no I/O, no clock, no database,
and no import above the core (money): the ORM takes `PaymentState` from here, not the other way.

`apply(snapshot, view)` takes what we stored and what CoinPayments says now, and returns the new
state plus the reports to queue for Saleor. It is safe to feed it anything in any order: views
arrive twice, late or out of order (webhook retries, the reconciler, a buyer returning), so

- states only move forward (unpaid < pending < expired/cancelled < paid < completed), and a
  failure is only ever reported when nothing was credited;
- credits only grow: the first is reported under the invoice id, each later increase under
  `<invoice id>:<n>` for the difference, because Saleor refuses a second amount under one
  pspReference (captures B2, B5);
- every report has a dedup key that is stable per payment and meaning, and the snapshot records
  which were made, so the same view twice makes no second report (Saleor never deduplicates INFO, B4).

`session_answer(snapshot)` is the matching answer to TRANSACTION_PROCESS_SESSION (and to a retried
initialize): its CHARGE_SUCCESS carries the first credit exactly as the async report does, so Saleor
takes whichever comes second as `alreadyProcessed`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal, assert_never

from saleor_coinpayments.money import Money, format_decimal, quantize

__all__ = [
    "DEFAULT_LATE_WINDOW",
    "MESSAGE_LIMIT",
    "Credit",
    "InvoiceView",
    "PaymentSnapshot",
    "PaymentState",
    "Report",
    "ReportType",
    "SessionAnswer",
    "SessionResultType",
    "Transition",
    "apply",
    "normalise_status",
    "session_answer",
]

ReportType = Literal["CHARGE_SUCCESS", "CHARGE_FAILURE", "INFO"]
SessionResultType = Literal["CHARGE_ACTION_REQUIRED", "CHARGE_REQUEST", "CHARGE_SUCCESS", "CHARGE_FAILURE"]


class PaymentState(enum.StrEnum):
    """Our view of the invoice; it only moves forward. The ORM stores its value (store/tables.py)."""

    UNPAID = "unpaid"
    PENDING = "pending"
    PAID = "paid"
    COMPLETED = "completed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


MESSAGE_LIMIT = 512
DEFAULT_LATE_WINDOW = timedelta(hours=24)
"""How long after an invoice ended (expiry or cancellation) we keep looking for late money."""

# Normalised CoinPayments invoice statuses (coinpayments.md#statuses).
STATUSES = ("draft", "scheduled", "unpaid", "pending", "paid", "completed", "cancelled", "timedOut", "deleted")
_STATUS_ALIASES = {
    **{status.lower(): status for status in STATUSES},
    "scheduledforpayout": "paid",
    "cancelling": "cancelled",
    "canceled": "cancelled",
    "expired": "timedOut",
}
_FAILED_STATUSES = frozenset({"cancelled", "timedOut", "deleted"})
_SETTLED_STATUSES = frozenset({"paid", "completed"}) | _FAILED_STATUSES
"""The invoice takes no more money: what was credited is what the buyer paid."""

_RANK: dict[PaymentState, int] = {
    PaymentState.UNPAID: 0,
    PaymentState.PENDING: 1,
    PaymentState.EXPIRED: 2,
    PaymentState.CANCELLED: 2,
    PaymentState.PAID: 3,
    PaymentState.COMPLETED: 4,
}
_FAILED_STATES = frozenset({PaymentState.EXPIRED, PaymentState.CANCELLED})

KEY_FAILURE = "failure"
KEY_DETECTED = "info:detected"
KEY_UNCONFIRMED = "info:unconfirmed"
KEY_UNDERPAID = "info:underpaid"
KEY_OVERPAID = "info:overpaid"
KEY_LATE = "info:late"
KEY_REFUNDED = "info:refunded"


def credit_key(n: int) -> str:
    return f"credit:{n}"


def normalise_status(status: str) -> str | None:
    """`TimedOut`, `timed_out`, `expired` → `timedOut`; `scheduledForPayout` → `paid`; unknown → None."""
    return _STATUS_ALIASES.get(status.strip().lower().replace("_", "").replace("-", ""))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None and moment.utcoffset() is not None else moment.replace(tzinfo=UTC)


def _cut(message: str) -> str:
    return message if len(message) <= MESSAGE_LIMIT else message[: MESSAGE_LIMIT - 1] + "…"


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceView:
    """A fresh read of one CoinPayments invoice, amounts already in the checkout currency.

    `credited`: money CoinPayments received and counts (payments confirmed, scheduled for payout,
    completed). `detected`: seen on chain, not yet confirmed. `refunded`: money CoinPayments refunds
    or will refund by itself. `ended_at`: when CoinPayments ended the invoice (e.g. its `cancelled`
    time), if known; the late-money window counts from it, else from `expires_at`.
    `detected_display`: the detected amount in the coin, for people (e.g. "0.00051240 BTC").
    Naive datetimes are taken as UTC.
    """

    status: str
    credited: Decimal = Decimal(0)
    detected: Decimal = Decimal(0)
    confirmations: int = 0
    required_confirmations: int = 0
    refunded: Decimal = Decimal(0)
    partial_accept_available: bool = False
    observed_at: datetime
    expires_at: datetime | None = None
    ended_at: datetime | None = None
    detected_display: str | None = None
    refund_state: str | None = None
    """CoinPayments' own refund of a payment, if any (e.g. `timedOutWaitingRefund`, `refunded`)."""
    coin_symbol: str | None = None
    """The coin money arrived in (e.g. "BTC"), once a payment is seen on the invoice."""

    def __post_init__(self) -> None:
        for name in ("credited", "detected", "refunded"):
            value = getattr(self, name)
            if not isinstance(value, Decimal | int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"InvoiceView.{name} must be a Decimal ≥ 0, not {value!r}")
        object.__setattr__(self, "observed_at", _aware(self.observed_at))
        if self.expires_at is not None:
            object.__setattr__(self, "expires_at", _aware(self.expires_at))
        if self.ended_at is not None:
            object.__setattr__(self, "ended_at", _aware(self.ended_at))


@dataclass(frozen=True, slots=True)
class Credit:
    """Money reported to Saleor as charged, under its own pspReference."""

    psp_reference: str
    amount: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentSnapshot:
    """What we have stored and reported for one payment (one invoice, one Saleor transaction)."""

    state: PaymentState
    invoice_id: str
    amount: Money
    credits: tuple[Credit, ...] = ()
    detected_reported: bool = False
    failure_reported: bool = False
    info_keys: frozenset[str] = frozenset()
    checkout_link: str | None = None

    @property
    def credited(self) -> Decimal:
        return sum((credit.amount for credit in self.credits), Decimal(0))


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """One `transactionEventReport` to queue; `dedup_key` is unique per payment and meaning."""

    type: ReportType
    psp_reference: str
    amount: Decimal | None
    message: str
    dedup_key: str
    time: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Transition:
    """The snapshot after a view, plus what to tell Saleor about the difference."""

    state: PaymentState
    credits: tuple[Credit, ...]
    detected_reported: bool
    failure_reported: bool
    info_keys: frozenset[str]
    reports: tuple[Report, ...] = ()
    is_final: bool = False

    @property
    def credited(self) -> Decimal:
        return sum((credit.amount for credit in self.credits), Decimal(0))

    def snapshot(self, before: PaymentSnapshot) -> PaymentSnapshot:
        """`before` moved to this transition (what the store holds once it is committed)."""
        return replace(
            before,
            state=self.state,
            credits=self.credits,
            detected_reported=self.detected_reported,
            failure_reported=self.failure_reported,
            info_keys=self.info_keys,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionAnswer:
    """The result part of a TRANSACTION_PROCESS_SESSION / INITIALIZE answer."""

    result: SessionResultType
    psp_reference: str
    amount: Decimal | None
    message: str
    external_url: str | None = None


@dataclass(slots=True)
class _Work:
    """Mutable scratch space for one `apply`."""

    snapshot: PaymentSnapshot
    view: InvoiceView
    credits: list[Credit]
    info_keys: set[str]
    reports: list[Report] = field(default_factory=list)

    def money(self, amount: Decimal) -> str:
        asked = self.snapshot.amount
        return f"{format_decimal(amount, asked.decimals)} {asked.currency}"

    def report(self, type_: ReportType, psp: str, amount: Decimal | None, message: str, key: str) -> None:
        self.reports.append(
            Report(
                type=type_,
                psp_reference=psp,
                amount=amount,
                message=_cut(message),
                dedup_key=key,
                time=self.view.observed_at,
            )
        )

    def info(self, key: str, amount: Decimal | None, message: str) -> None:
        """An INFO at most once per payment."""
        if key in self.info_keys:
            return
        self.info_keys.add(key)
        self.report("INFO", self.snapshot.invoice_id, amount, message, key)


def _target(status: str | None, credited: Decimal, detected: Decimal) -> PaymentState:
    """The state this view alone says, given everything credited so far."""
    if credited > 0:
        return PaymentState.COMPLETED if status == "completed" else PaymentState.PAID
    if status in ("cancelled", "deleted"):
        return PaymentState.CANCELLED
    if status == "timedOut":
        return PaymentState.EXPIRED
    if status in ("pending", "paid", "completed") or detected > 0:
        # paid/completed without an amount we can count: money is on its way, nothing to credit yet.
        return PaymentState.PENDING
    return PaymentState.UNPAID


def _forward(current: PaymentState, target: PaymentState) -> PaymentState:
    return target if _RANK[target] > _RANK[current] else current


def _ended_word(state: PaymentState, status: str | None) -> str:
    if state is PaymentState.CANCELLED or status in ("cancelled", "deleted"):
        return "was cancelled"
    return "expired"


def _confirmations(view: InvoiceView) -> str:
    if view.required_confirmations > 0:
        seen = min(view.confirmations, view.required_confirmations)
        return f"{seen} of {view.required_confirmations} confirmations"
    if view.confirmations > 0:
        return f"{view.confirmations} confirmation{'s' if view.confirmations != 1 else ''}"
    return "waiting for confirmations"


def _is_final(state: PaymentState, status: str | None, view: InvoiceView, late_window: timedelta) -> bool:
    if state is PaymentState.COMPLETED:
        return True
    if state in _FAILED_STATES or status in _FAILED_STATUSES:
        since = view.ended_at or view.expires_at
        return since is not None and view.observed_at - since > late_window
    return False


def apply(snapshot: PaymentSnapshot, view: InvoiceView, *, late_window: timedelta = DEFAULT_LATE_WINDOW) -> Transition:
    """Move `snapshot` forward by what `view` says; the reports say what changed, once each."""
    asked_money = snapshot.amount
    decimals = asked_money.decimals
    asked = quantize(asked_money.amount, decimals)
    status = normalise_status(view.status)
    work = _Work(snapshot=snapshot, view=view, credits=list(snapshot.credits), info_keys=set(snapshot.info_keys))
    failed_before = snapshot.state in _FAILED_STATES or snapshot.failure_reported

    # 1. Credits only grow; each increase is its own CHARGE_SUCCESS under its own pspReference.
    recorded = snapshot.credited
    seen = quantize(view.credited, decimals)
    new_credit = seen - recorded if seen > recorded else Decimal(0)
    credited = recorded + new_credit
    if new_credit > 0:
        n = len(work.credits) + 1
        psp = snapshot.invoice_id if n == 1 else f"{snapshot.invoice_id}:{n}"
        work.credits.append(Credit(psp_reference=psp, amount=new_credit))
        if n == 1:
            message = (
                f"Crypto payment received: {work.money(new_credit)}."
                if credited >= asked
                else f"Crypto payment received: {work.money(new_credit)} of {work.money(asked)}."
            )
        else:
            message = (
                f"Further crypto payment received: {work.money(new_credit)} "
                f"({work.money(credited)} of {work.money(asked)} in total)."
            )
        work.report("CHARGE_SUCCESS", psp, new_credit, message, credit_key(n))

    # 2. The state: forward only; a failure only while nothing is credited.
    state = _forward(snapshot.state, _target(status, credited, view.detected))

    # 3. A failure, once, and only with nothing credited.
    failure_reported = snapshot.failure_reported
    if state in _FAILED_STATES and credited == 0 and not failure_reported:
        failure_reported = True
        ended = _ended_word(state, status)
        if view.detected > 0 or view.refunded > 0:
            message = (
                f"The crypto payment {ended} before the payment was confirmed, so this order is not paid. "
                "Any crypto sent is refunded by CoinPayments to the buyer's refund e-mail address. "
                "Please start a new payment."
            )
        else:
            message = (
                f"The crypto payment {ended} before any payment arrived. "
                "Nothing was charged; please start a new payment."
            )
        work.report("CHARGE_FAILURE", snapshot.invoice_id, asked, message, KEY_FAILURE)
        if view.detected > 0:
            work.info(
                KEY_UNCONFIRMED,
                quantize(view.detected, decimals),
                f"{_detected_text(work, view)} was seen but not confirmed when the invoice {ended}. "
                "If CoinPayments still credits it, it is reported here as a charge; otherwise CoinPayments "
                "refunds it to the buyer's refund e-mail address.",
            )

    # 4. Funds seen on chain for the first time (an async CHARGE_REQUEST would be a no-op in Saleor, B2).
    detected_reported = snapshot.detected_reported
    if (
        state is PaymentState.PENDING
        and view.detected > 0
        and not detected_reported
        and KEY_DETECTED not in work.info_keys
    ):
        work.info(
            KEY_DETECTED,
            quantize(view.detected, decimals),
            f"Payment detected: {_detected_text(work, view)} ({_confirmations(view)}). "
            "It counts as paid once CoinPayments has confirmed it.",
        )
    if KEY_DETECTED in work.info_keys:
        detected_reported = True

    # 5. What came in, when it differs from what was asked.
    if new_credit > 0 and failed_before:
        work.info(
            KEY_LATE,
            new_credit,
            f"{work.money(new_credit)} arrived after the invoice {_ended_word(snapshot.state, status)} "
            "and CoinPayments credited it, so it is recorded as charged although this payment was "
            "reported as failed. Fulfil the order or refund the money.",
        )
    if credited > asked:
        extra = credited - asked
        work.info(
            KEY_OVERPAID,
            extra,
            f"Received {work.money(credited)} for {work.money(asked)}: {work.money(extra)} more than asked. "
            f"All of it is recorded as charged; a refund of {work.money(extra)} is suggested in the "
            "CoinPayments app's Refunds: send it from your CoinPayments account and complete it there, or decline it.",
        )
    elif 0 < credited < asked and status in _SETTLED_STATUSES:
        short = asked - credited
        if view.partial_accept_available:
            what_next = (
                "CoinPayments holds the partial payment: accept it in the CoinPayments dashboard, or "
                "CoinPayments refunds it to the buyer's refund e-mail address (then refund it in Saleor too)."
            )
        else:
            what_next = (
                f"The order is not fully paid: ask the buyer to pay the remaining {work.money(short)} with a "
                "new payment, or decide in the CoinPayments app: accept it as paid, or refund what came in."
            )
        work.info(
            KEY_UNDERPAID,
            credited,
            f"Received {work.money(credited)} of {work.money(asked)} ({work.money(short)} short); "
            f"{work.money(credited)} is recorded as charged. {what_next}",
        )
    refunded = quantize(view.refunded, decimals)
    if refunded > 0:
        work.info(
            KEY_REFUNDED,
            refunded,
            f"CoinPayments refunds {work.money(refunded)} to the buyer's refund e-mail address "
            "(sent too late, after a cancellation, or not accepted). That money is not counted as paid here.",
        )

    return Transition(
        state=state,
        credits=tuple(work.credits),
        detected_reported=detected_reported,
        failure_reported=failure_reported,
        info_keys=frozenset(work.info_keys),
        reports=tuple(work.reports),
        is_final=_is_final(state, status, view, late_window),
    )


def _detected_text(work: _Work, view: InvoiceView) -> str:
    fiat = work.money(quantize(view.detected, work.snapshot.amount.decimals))
    if view.detected_display:
        return f"{view.detected_display} (≈ {fiat})"
    return fiat


def session_answer(snapshot: PaymentSnapshot) -> SessionAnswer:
    """The session answer for what is stored now (DESIGN.md table, first column)."""
    asked = snapshot.amount.rounded().amount
    if snapshot.credits:
        first = snapshot.credits[0]
        total = snapshot.credited
        message = (
            "Crypto payment received."
            if total >= asked
            else f"Crypto payment received: {_money(snapshot, total)} of {_money(snapshot, asked)}."
        )
        return SessionAnswer(
            result="CHARGE_SUCCESS",
            psp_reference=first.psp_reference,
            amount=first.amount,
            message=message,
            external_url=snapshot.checkout_link,
        )
    state = snapshot.state
    match state:
        case PaymentState.UNPAID:
            return SessionAnswer(
                result="CHARGE_ACTION_REQUIRED",
                psp_reference=snapshot.invoice_id,
                amount=asked,
                message="Waiting for the crypto payment: pay on the CoinPayments page.",
                external_url=snapshot.checkout_link,
            )
        case PaymentState.PENDING | PaymentState.PAID | PaymentState.COMPLETED:
            # PAID/COMPLETED always carry a credit; without one the money is still on its way.
            return SessionAnswer(
                result="CHARGE_REQUEST",
                psp_reference=snapshot.invoice_id,
                amount=asked,
                message="Crypto payment detected: waiting for blockchain confirmations.",
                external_url=snapshot.checkout_link,
            )
        case PaymentState.EXPIRED:
            return SessionAnswer(
                result="CHARGE_FAILURE",
                psp_reference=snapshot.invoice_id,
                amount=asked,
                message="The crypto payment expired before it was paid. Please start a new payment.",
                external_url=snapshot.checkout_link,
            )
        case PaymentState.CANCELLED:
            return SessionAnswer(
                result="CHARGE_FAILURE",
                psp_reference=snapshot.invoice_id,
                amount=asked,
                message="The crypto payment was cancelled. Please start a new payment.",
                external_url=snapshot.checkout_link,
            )
        case _:
            assert_never(state)


def _money(snapshot: PaymentSnapshot, amount: Decimal) -> str:
    return f"{format_decimal(amount, snapshot.amount.decimals)} {snapshot.amount.currency}"
