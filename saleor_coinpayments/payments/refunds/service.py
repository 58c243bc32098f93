"""Staff decisions on refunds and odd payments: the one implementation behind the CLI and the
Dashboard page's API (as configuration/service.py is for configurations).

- `complete` records the transfer staff made and reports REFUND_SUCCESS (same pspReference as the
  request, the fiat amount; the message names coin, amount and transaction id);
- `decline` reports REFUND_FAILURE with the reason (a dismissed suggestion, which Saleor never saw,
  is an INFO instead);
- `accept_as_paid` reports CHARGE_SUCCESS for the shortfall of an under-paid ended invoice under
  its own pspReference; `refund_received` opens a refund of what came in instead.

Each is its own unit of work, idempotent (the same action again changes nothing and says so), and
refuses what would contradict an earlier decision. Expected refusals are values (`Refused`);
reports go through the outbox in the same transaction as the change.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from saleor_coinpayments.context import AppContext
from saleor_coinpayments.money import currency_decimals, format_decimal
from saleor_coinpayments.payments.refresh import payment_lock
from saleor_coinpayments.payments.refunds import ledger
from saleor_coinpayments.payments.refunds.repository import RefundRepository
from saleor_coinpayments.payments.repository import PaymentRepository
from saleor_coinpayments.store.tables import Payment, Refund, RefundOrigin, RefundState
from saleor_coinpayments.store.types import utcnow

log = structlog.get_logger(__name__)

TX_MAX = 255
NOTE_MAX = 1000
REASON_MAX = 500
_COIN = re.compile(r"[A-Za-z0-9._-]{1,32}")


@contextlib.asynccontextmanager
async def locked_payment(ctx: AppContext, payment_id: str) -> AsyncIterator[tuple[AsyncSession, Payment | None]]:
    """A read-modify-write unit of work on one payment: the payment's lock in this process, its row
    lock on PostgreSQL, `BEGIN IMMEDIATE` on SQLite (so the CLI and the server never interleave)."""
    async with payment_lock(payment_id), ctx.db.session(write=True) as session:
        yield session, await PaymentRepository(session).get(payment_id, lock=True)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True)
class RefundView:
    """A refund as staff see it (CLI, Dashboard)."""

    id: str
    state: str
    origin: str
    amount: str
    currency: str
    psp_reference: str
    saleor_transaction_id: str
    payment_id: str
    reason: str | None
    requested_by: str | None
    buyer_email: str | None
    created_at: datetime
    settled_by: str | None
    settled_at: datetime | None
    coin: str | None
    coin_amount: str | None
    tx_id: str | None
    note: str | None
    decline_reason: str | None

    @classmethod
    def of(cls, refund: Refund) -> RefundView:
        return cls(
            id=refund.id,
            state=refund.state,
            origin=refund.origin,
            amount=format_decimal(refund.amount, currency_decimals(refund.currency)),
            currency=refund.currency,
            psp_reference=refund.psp_reference,
            saleor_transaction_id=refund.saleor_transaction_id,
            payment_id=refund.payment_id,
            reason=refund.reason,
            requested_by=refund.requested_by,
            buyer_email=refund.buyer_email,
            created_at=refund.created_at,
            settled_by=refund.settled_by,
            settled_at=refund.settled_at,
            coin=refund.coin,
            coin_amount=str(refund.coin_amount) if refund.coin_amount is not None else None,
            tx_id=refund.tx_id,
            note=refund.note,
            decline_reason=refund.decline_reason,
        )

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "state": self.state,
            "origin": self.origin,
            "amount": self.amount,
            "currency": self.currency,
            "pspReference": self.psp_reference,
            "saleorTransactionId": self.saleor_transaction_id,
            "paymentId": self.payment_id,
            "reason": self.reason,
            "requestedBy": self.requested_by,
            "buyerEmail": self.buyer_email,
            "createdAt": _iso(self.created_at),
            "settledBy": self.settled_by,
            "settledAt": _iso(self.settled_at),
            "coin": self.coin,
            "coinAmount": self.coin_amount,
            "txId": self.tx_id,
            "note": self.note,
            "declineReason": self.decline_reason,
        }


@dataclass(frozen=True)
class Refused:
    """An action that was not done, and why. `code`: NOT_FOUND, INVALID (see `errors`) or CONFLICT."""

    code: str
    message: str
    errors: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return False

    def to_json(self) -> dict[str, object]:
        body: dict[str, object] = {"error": {"code": self.code, "message": self.message}}
        if self.errors:
            body["errors"] = self.errors
        return body


@dataclass(frozen=True)
class Done:
    """The action's outcome; `changed` is False when it had been done already (nothing new happened)."""

    message: str
    changed: bool
    refund: RefundView | None = None
    payment_id: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "message": self.message,
            "changed": self.changed,
            "refund": self.refund.to_json() if self.refund else None,
            "paymentId": self.payment_id,
        }


@dataclass(frozen=True)
class Transfer:
    """What staff sent: the on-chain transaction id, and optionally the coin, its amount and a note."""

    tx_id: str
    coin: str | None = None
    coin_amount: Decimal | None = None
    note: str | None = None


def parse_transfer(
    tx_id: object, coin: object = None, coin_amount: object = None, note: object = None
) -> Transfer | Refused:
    """Check the completion input; every problem is named by its field."""
    errors: dict[str, str] = {}
    tx = tx_id.strip() if isinstance(tx_id, str) else ""
    if not tx:
        errors["tx"] = "Enter the transaction id of the refund transfer."
    elif len(tx) > TX_MAX or any(ch.isspace() for ch in tx):
        errors["tx"] = f"A transaction id has no spaces and at most {TX_MAX} characters."
    symbol: str | None = None
    if coin not in (None, ""):
        if not isinstance(coin, str) or not _COIN.fullmatch(coin.strip()):
            errors["coin"] = "A coin symbol such as BTC or LTCT."
        else:
            symbol = coin.strip().upper()
    amount: Decimal | None = None
    if coin_amount not in (None, ""):
        try:
            if isinstance(coin_amount, float | bool) or not isinstance(coin_amount, str | int | Decimal):
                raise InvalidOperation
            amount = Decimal(str(coin_amount).strip())
            if not amount.is_finite() or amount <= 0:
                raise InvalidOperation
        except InvalidOperation:
            errors["amount"] = "The coin amount sent, a number above 0 (e.g. 0.00051234)."
            amount = None
        if amount is not None and symbol is None and "coin" not in errors:
            errors["coin"] = "Name the coin of that amount."
    text: str | None = None
    if note not in (None, ""):
        if not isinstance(note, str) or len(note.strip()) > NOTE_MAX:
            errors["note"] = f"A note of at most {NOTE_MAX} characters."
        else:
            text = note.strip() or None
    if errors:
        return Refused("INVALID", "Nothing was recorded: " + " ".join(errors.values()), errors)
    return Transfer(tx_id=tx, coin=symbol, coin_amount=amount, note=text)


def parse_reason(reason: object) -> str | Refused:
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        return Refused("INVALID", "Say why the refund is declined.", {"reason": "Say why the refund is declined."})
    if len(text) > REASON_MAX:
        message = f"A reason of at most {REASON_MAX} characters."
        return Refused("INVALID", message, {"reason": message})
    return text


def _transfer_text(refund: Refund, transfer: Transfer) -> str:
    if transfer.coin and transfer.coin_amount is not None:
        sent = f"{transfer.coin_amount} {transfer.coin}"
    elif transfer.coin:
        sent = f"{ledger.money(refund.amount, refund.currency)} in {transfer.coin}"
    else:
        sent = ledger.money(refund.amount, refund.currency)
    return f"{sent}, transaction {transfer.tx_id}"


def _settled_text(refund: Refund) -> str:
    when = refund.settled_at.strftime("%Y-%m-%d %H:%M UTC") if refund.settled_at else "earlier"
    who = refund.settled_by or "someone"
    if refund.state == RefundState.SENT.value:
        return f"it was completed by {who} on {when} (transaction {refund.tx_id})"
    return f"it was declined by {who} on {when} ({refund.decline_reason})"


class RefundService:
    """Refunds of installations; `installation_id=None` means any (the CLI works on the whole database)."""

    def __init__(self, ctx: AppContext) -> None:
        self._ctx = ctx

    async def list(self, installation_id: str | None, *, pending_only: bool = False) -> list[RefundView]:
        async with self._ctx.db.session() as session:
            refunds = await RefundRepository(session).listing(installation_id, pending_only=pending_only)
        return [RefundView.of(refund) for refund in refunds]

    async def _find(self, installation_id: str | None, refund_id: str) -> Refund | Refused:
        async with self._ctx.db.session() as session:
            refund = await RefundRepository(session).get(refund_id.strip())
        if refund is None or (installation_id is not None and refund.installation_id != installation_id):
            return Refused("NOT_FOUND", f"No refund {refund_id!r}.")
        return refund

    async def complete(
        self, installation_id: str | None, refund_id: str, transfer: Transfer, *, actor: str
    ) -> Done | Refused:
        found = await self._find(installation_id, refund_id)
        if isinstance(found, Refused):
            return found
        async with locked_payment(self._ctx, found.payment_id) as (session, payment):
            refund = await RefundRepository(session).get(found.id)
            if refund is None or payment is None:
                return Refused("NOT_FOUND", f"No refund {refund_id!r}.")
            if refund.state == RefundState.SENT.value and refund.tx_id == transfer.tx_id:
                return Done(f"Already completed: {_settled_text(refund)}.", False, RefundView.of(refund))
            if refund.state != RefundState.REQUESTED.value:
                return Refused("CONFLICT", f"This refund is settled already: {_settled_text(refund)}.")
            if refund.origin == RefundOrigin.SURPLUS.value:
                balance, _ = await ledger.balance_of(session, payment)
                if refund.amount > balance.refundable:
                    return Refused(
                        "CONFLICT",
                        f"Completing it would refund more than was credited: at most "
                        f"{balance.text(balance.refundable)} can still be refunded. Decline it instead.",
                    )
            now = utcnow()
            settled = await RefundRepository(session).settle(
                refund.id,
                RefundState.SENT,
                {
                    "settled_by": actor[:320],
                    "settled_at": now,
                    "tx_id": transfer.tx_id,
                    "coin": transfer.coin,
                    "coin_amount": transfer.coin_amount,
                    "note": transfer.note,
                    "updated_at": now,
                },
            )
            await session.refresh(refund)
            if not settled:
                return Refused("CONFLICT", f"This refund is settled already: {_settled_text(refund)}.")
            message = f"Refund sent by {actor}: {_transfer_text(refund, transfer)}."
            if transfer.note:
                message += f" Note: {transfer.note}"
            await ledger.report(session, refund, "sent", type_="REFUND_SUCCESS", message=message, time=now)
            view = RefundView.of(refund)
        log.info("refund_completed", refund_id=view.id, psp_reference=view.psp_reference, actor=actor)
        return Done(
            f"Refund {view.id} completed: REFUND_SUCCESS {view.amount} {view.currency} is reported to Saleor.",
            True,
            view,
        )

    async def decline(self, installation_id: str | None, refund_id: str, reason: str, *, actor: str) -> Done | Refused:
        found = await self._find(installation_id, refund_id)
        if isinstance(found, Refused):
            return found
        async with locked_payment(self._ctx, found.payment_id) as (session, _payment):
            refund = await RefundRepository(session).get(found.id)
            if refund is None:
                return Refused("NOT_FOUND", f"No refund {refund_id!r}.")
            if refund.state == RefundState.DECLINED.value:
                return Done(f"Already declined: {_settled_text(refund)}.", False, RefundView.of(refund))
            if refund.state != RefundState.REQUESTED.value:
                return Refused("CONFLICT", f"This refund is settled already: {_settled_text(refund)}.")
            now = utcnow()
            settled = await RefundRepository(session).settle(
                refund.id,
                RefundState.DECLINED,
                {"settled_by": actor[:320], "settled_at": now, "decline_reason": reason, "updated_at": now},
            )
            await session.refresh(refund)
            if not settled:
                return Refused("CONFLICT", f"This refund is settled already: {_settled_text(refund)}.")
            if refund.origin == RefundOrigin.SURPLUS.value:
                # Saleor never saw the suggestion: a failure would be a refund it knows nothing of.
                amount = ledger.money(refund.amount, refund.currency)
                message = f"Refund suggestion of {amount} dismissed by {actor}: {reason}"
                await ledger.report(session, refund, "declined", type_="INFO", message=message, time=now)
            else:
                message = f"Refund declined by {actor}: {reason}"
                await ledger.report(session, refund, "declined", type_="REFUND_FAILURE", message=message, time=now)
            view = RefundView.of(refund)
        log.info("refund_declined", refund_id=view.id, psp_reference=view.psp_reference, actor=actor)
        return Done(f"Refund {view.id} declined; Saleor is told why.", True, view)

    async def _payment(self, installation_id: str | None, payment_id: str) -> Payment | Refused:
        async with self._ctx.db.session() as session:
            payment = await PaymentRepository(session).get(payment_id.strip())
        if payment is None or (installation_id is not None and payment.installation_id != installation_id):
            return Refused("NOT_FOUND", f"No payment {payment_id!r}.")
        if payment.saleor_transaction_id is None:
            return Refused("CONFLICT", "This payment has no Saleor transaction yet.")
        return payment

    async def accept_as_paid(self, installation_id: str | None, payment_id: str, *, actor: str) -> Done | Refused:
        """Write off the shortfall of an under-paid ended invoice: CHARGE_SUCCESS for the rest."""
        found = await self._payment(installation_id, payment_id)
        if isinstance(found, Refused):
            return found
        async with locked_payment(self._ctx, found.id) as (session, payment):
            assert payment is not None
            accepted = (payment.details or {}).get("accepted_as_paid")
            if isinstance(accepted, dict):
                return Done(
                    f"Already accepted as paid by {accepted.get('by')} on {accepted.get('at')}.",
                    False,
                    None,
                    payment.id,
                )
            if not ledger.is_ended_short(payment):
                return Refused("CONFLICT", "Only an under-paid invoice that has ended can be accepted as paid.")
            _, refunds = await ledger.balance_of(session, payment)
            if any(r.origin == RefundOrigin.STAFF.value and r.state != RefundState.DECLINED.value for r in refunds):
                return Refused("CONFLICT", "What came in is being refunded; decline that refund first.")
            shortfall = ledger.round_to(payment.amount - payment.credited_amount, payment.currency)
            now = utcnow()
            payment.details = ledger.details_with(
                payment, accepted_as_paid={"by": actor, "at": now.isoformat(), "shortfall": str(shortfall)}
            )
            message = (
                f"Accepted as paid by {actor}: {ledger.money(payment.credited_amount, payment.currency)} of "
                f"{ledger.money(payment.amount, payment.currency)} came in; the shortfall of "
                f"{ledger.money(shortfall, payment.currency)} is written off."
            )
            await ledger.report_payment(session, payment, "accepted", "CHARGE_SUCCESS", shortfall, message, now)
        log.info("payment_accepted_as_paid", payment_id=found.id, shortfall=str(shortfall), actor=actor)
        return Done(
            f"Accepted as paid: CHARGE_SUCCESS for the shortfall of {shortfall} is reported.", True, None, found.id
        )

    async def refund_received(
        self, installation_id: str | None, payment_id: str, *, actor: str, reason: str | None = None
    ) -> Done | Refused:
        """Open a refund of everything that came in for an under-paid ended invoice (Saleor sees it pending)."""
        found = await self._payment(installation_id, payment_id)
        if isinstance(found, Refused):
            return found
        async with locked_payment(self._ctx, found.id) as (session, payment):
            assert payment is not None
            key = f"staff:{payment.id}:received"
            existing = await RefundRepository(session).by_request_key(payment.installation_id, key)
            if existing is not None:
                return Done("A refund of what came in is open already.", False, RefundView.of(existing))
            if not ledger.is_ended_short(payment):
                return Refused(
                    "CONFLICT", "Only what came in for an under-paid invoice that has ended is refunded here."
                )
            if isinstance((payment.details or {}).get("accepted_as_paid"), dict):
                return Refused("CONFLICT", "This payment was accepted as paid; it is not refunded.")
            balance, _ = await ledger.balance_of(session, payment)
            if balance.refundable <= 0:
                return Refused("CONFLICT", "Everything that came in is refunded or being refunded already.")
            refund, _made = await ledger.open_refund(
                session,
                payment,
                origin=RefundOrigin.STAFF,
                request_key=key,
                amount=balance.refundable,
                reason=reason or "The invoice was under-paid: what came in goes back to the buyer.",
                requested_by=actor,
            )
            now = utcnow()
            message = (
                f"Refund of what came in ({ledger.money(refund.amount, refund.currency)}) opened by {actor}; "
                "it is sent from the CoinPayments account."
            )
            await ledger.report(session, refund, "requested", type_="REFUND_REQUEST", message=message, time=now)
            view = RefundView.of(refund)
        log.info("refund_of_received_opened", refund_id=view.id, actor=actor)
        return Done(f"Refund {view.id} of {view.amount} {view.currency} opened; complete it once sent.", True, view)
