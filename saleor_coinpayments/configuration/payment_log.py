"""The Dashboard's payment log: recent payments of a channel with the state of their reports to Saleor.

A read model: two queries (payments, then their outbox rows grouped), nothing written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from saleor_coinpayments.money import currency_decimals, format_decimal
from saleor_coinpayments.payments.refunds import ledger
from saleor_coinpayments.payments.refunds.repository import RefundRepository, committed, sent
from saleor_coinpayments.store.tables import OutboxMessage, OutboxStatus, Payment, Refund, RefundOrigin

DEFAULT_LIMIT = 50
_GIVEN_UP = (OutboxStatus.FAILED.value, OutboxStatus.EXPIRED.value)
MAX_LIMIT = 200


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True)
class PaymentLogEntry:
    id: str
    created_at: datetime
    channel: str
    flow: str
    invoice_id: str | None
    transaction_id: str
    amount: str
    credited: str
    currency: str
    state: str
    is_final: bool
    confirmations: int
    checkout_link: str | None
    last_notification_at: datetime | None
    last_checked_at: datetime | None
    reports_waiting: int
    reports_failed: int
    reports_delivered: int
    last_report_error: str | None
    refunds: RefundFigures | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "created_at": _iso(self.created_at),
            "channel": self.channel,
            "flow": self.flow,
            "invoice_id": self.invoice_id,
            "transaction_id": self.transaction_id,
            "amount": self.amount,
            "credited": self.credited,
            "currency": self.currency,
            "state": self.state,
            "is_final": self.is_final,
            "confirmations": self.confirmations,
            "checkout_link": self.checkout_link,
            "last_notification_at": _iso(self.last_notification_at),
            "last_checked_at": _iso(self.last_checked_at),
            "reports": {
                "waiting": self.reports_waiting,
                "failed": self.reports_failed,
                "delivered": self.reports_delivered,
                "last_error": self.last_report_error,
            },
            **(self.refunds.to_json() if self.refunds else {}),
        }


@dataclass(frozen=True)
class RefundFigures:
    """Per payment: refunded (sent), being refunded, still refundable; CoinPayments' own refund;
    and which staff decisions the payment allows (an under-paid invoice that ended)."""

    refunded: str
    refund_pending: str
    refundable: str
    coinpayments_refund: dict[str, str] | None
    accepted_as_paid: dict[str, str] | None
    can_decide: bool

    def to_json(self) -> dict[str, object]:
        return {
            "refunded": self.refunded,
            "refund_pending": self.refund_pending,
            "refundable": self.refundable,
            "coinpayments_refund": self.coinpayments_refund,
            "accepted_as_paid": self.accepted_as_paid,
            "can_accept_or_refund": self.can_decide,
        }


def _refund_figures(payment: Payment, refunds: list[Refund]) -> RefundFigures:
    promised = committed(refunds)
    pending = promised - sent(refunds)
    details = payment.details or {}
    view = details.get("last_view") or {}
    cp_refund = None
    if view.get("refund_state") or Decimal(str(view.get("refunded") or "0")) > 0:
        cp_refund = {"state": str(view.get("refund_state") or ""), "amount": str(view.get("refunded") or "0")}
    accepted = details.get("accepted_as_paid")
    open_staff = any(r.origin == RefundOrigin.STAFF.value for r in refunds)
    return RefundFigures(
        refunded=_money(sent(refunds), payment.currency),
        refund_pending=_money(pending, payment.currency),
        refundable=_money(max(Decimal(0), (payment.credited_amount or Decimal(0)) - promised), payment.currency),
        coinpayments_refund=cp_refund,
        accepted_as_paid={k: str(v) for k, v in accepted.items()} if isinstance(accepted, dict) else None,
        can_decide=ledger.is_ended_short(payment) and not isinstance(accepted, dict) and not open_staff,
    )


def _money(amount: Decimal | None, currency: str) -> str:
    return format_decimal(amount or Decimal(0), currency_decimals(currency))


class PaymentLog:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def recent(
        self, installation_id: str, channel_slug: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> list[PaymentLogEntry]:
        query = select(Payment).where(Payment.installation_id == installation_id)
        if channel_slug:
            query = query.where(Payment.channel_slug == channel_slug)
        query = query.order_by(Payment.created_at.desc(), Payment.id).limit(max(1, min(limit, MAX_LIMIT)))
        payments = list((await self._session.execute(query)).scalars())
        return await self._entries(payments)

    async def one(self, installation_id: str, payment_id: str) -> PaymentLogEntry | None:
        payment = await self._session.get(Payment, payment_id)
        if payment is None or payment.installation_id != installation_id:
            return None
        return (await self._entries([payment]))[0]

    async def of_payments(self, payments: list[Payment]) -> list[PaymentLogEntry]:
        """The log's entries of payments found elsewhere (an order's), in the order given."""
        return await self._entries(payments)

    async def _entries(self, payments: list[Payment]) -> list[PaymentLogEntry]:
        ids = [payment.id for payment in payments]
        counts: dict[tuple[str, str], int] = {}
        errors: dict[str, str] = {}
        if ids:
            grouped = await self._session.execute(
                select(OutboxMessage.payment_id, OutboxMessage.status, func.count())
                .where(OutboxMessage.payment_id.in_(ids))
                .group_by(OutboxMessage.payment_id, OutboxMessage.status)
            )
            for payment_id, status, count in grouped.all():
                counts[(str(payment_id), str(status))] = int(count)
            failing = await self._session.execute(
                select(OutboxMessage.payment_id, OutboxMessage.last_error)
                .where(
                    OutboxMessage.payment_id.in_(ids),
                    OutboxMessage.status != OutboxStatus.DELIVERED.value,
                    OutboxMessage.last_error.is_not(None),
                )
                # The last one wins: a permanent failure over a retry, then the newest.
                .order_by(
                    case(
                        (OutboxMessage.status.in_((OutboxStatus.FAILED.value, OutboxStatus.EXPIRED.value)), 1), else_=0
                    ),
                    OutboxMessage.created_at,
                )
            )
            for payment_id, last_error in failing.all():
                errors[str(payment_id)] = str(last_error)[:500]
        refunds: dict[str, list[Refund]] = {}
        for refund in await RefundRepository(self._session).for_payments(ids):
            refunds.setdefault(refund.payment_id, []).append(refund)
        return [
            PaymentLogEntry(
                id=p.id,
                created_at=p.created_at,
                channel=p.channel_slug,
                flow=p.flow,
                invoice_id=p.invoice_id,
                transaction_id=p.saleor_transaction_id or "",
                amount=_money(p.amount, p.currency),
                credited=_money(p.credited_amount, p.currency),
                currency=p.currency,
                state=p.state,
                is_final=p.is_final,
                confirmations=p.confirmations or 0,
                checkout_link=p.checkout_link,
                last_notification_at=p.last_notification_at,
                last_checked_at=p.last_checked_at,
                reports_waiting=counts.get((p.id, OutboxStatus.PENDING.value), 0),
                reports_failed=sum(counts.get((p.id, status), 0) for status in _GIVEN_UP),
                reports_delivered=counts.get((p.id, OutboxStatus.DELIVERED.value), 0),
                last_report_error=errors.get(p.id),
                refunds=_refund_figures(p, refunds.get(p.id, [])),
            )
            for p in payments
        ]
