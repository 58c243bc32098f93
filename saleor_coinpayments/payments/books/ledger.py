"""The ledger: one row per money movement of a period, tied to the Saleor order and transaction.

Movements, each at its own time:
- money received on an invoice (`paid`, `underpaid`, `underpaid_accepted`, `overpaid`, `late`, or
  `held_for_return` when CoinPayments keeps it for the buyer instead of crediting it);
- `payout`: CoinPayments sent the shop its share (what came in less its fees);
- `refund`: staff sent money back (the app's Refunds, state sent);
- `coinpayments_refund`: CoinPayments gave money back to the buyer's refund e-mail.

All rows come from one query (a UNION ALL ordered by time) read through a server-side cursor in
batches, so an export of any size holds one batch, never the whole period. Totals are summed on the
way through. Amounts are positive; the kind says which way the money went.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, String, literal, null, select, type_coerce, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from saleor_coinpayments.payments.books.received import RETURNED, WAITING_RETURN
from saleor_coinpayments.states import KEY_LATE
from saleor_coinpayments.store.tables import InvoicePaymentRecord, Payment, Refund, RefundState
from saleor_coinpayments.store.types import AwareDateTime, DecimalText

ZERO = Decimal(0)
BATCH = 1000
"""Rows fetched from the database at a time."""

RECEIPT_KINDS = ("paid", "underpaid", "underpaid_accepted", "overpaid", "late", "held_for_return")
RETURN_KINDS = ("refund", "coinpayments_refund")
KINDS = (*RECEIPT_KINDS, "payout", *RETURN_KINDS)
HELD_STATES = frozenset(state.value for state in WAITING_RETURN | RETURNED)
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class PeriodError(ValueError):
    """A period that cannot be read; the message says why, for the form or the shell."""


@dataclass(frozen=True)
class Period:
    """Whole UTC days, both ends included: [start, end)."""

    first_day: date
    last_day: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(0), tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last_day + timedelta(days=1), time(0), tzinfo=UTC)

    @classmethod
    def parse(cls, first: str | None, last: str | None) -> Period:
        days = []
        for name, text in (("from", first), ("to", last)):
            try:
                day = (text or "").strip()
                if not _DAY.fullmatch(day):
                    raise ValueError(day)  # fromisoformat would also take 20240101 or 2024-W01-1
                days.append(date.fromisoformat(day))
            except ValueError:
                raise PeriodError(f"'{name}' must be a date, YYYY-MM-DD.") from None
        if days[0] > days[1]:
            raise PeriodError("'from' must not be after 'to'.")
        if (days[1] - days[0]).days > 3660:
            raise PeriodError("A period is at most ten years.")
        return cls(days[0], days[1])


@dataclass(frozen=True)
class LedgerFilter:
    period: Period
    installation_id: str | None = None  # None: every installation (the command line)
    channel: str | None = None


@dataclass(slots=True)
class LedgerRow:
    """One movement. Not frozen: a frozen dataclass costs a call per field, per row, and an export
    makes hundreds of thousands of them."""

    time: datetime
    kind: str
    channel: str
    saleor_order_number: str | None
    saleor_source: str
    saleor_transaction_id: str | None
    coinpayments_invoice_id: str | None
    fiat_currency: str
    fiat_amount: Decimal | None
    coin: str | None
    coin_amount: Decimal | None
    rate: Decimal | None
    fee_transaction: Decimal | None
    fee_network: Decimal | None
    fee_conversion: Decimal | None
    fee_fiat: Decimal | None
    blockchain_tx: str | None
    buyer_tx_ids: tuple[str, ...]
    buyer_email: str | None
    note: str | None
    reason: str | None

    @property
    def fee_coin(self) -> Decimal:
        return sum((f for f in (self.fee_transaction, self.fee_network, self.fee_conversion) if f is not None), ZERO)


@dataclass
class Totals:
    """Sums per kind: per fiat currency and per coin (coin amount and CoinPayments' fees), and the net
    (received less returned; for coins also less fees). Payouts move the shop's own money, so they
    are summed but leave the net alone."""

    fiat: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    coin: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    coin_fees: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    fiat_fees: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    rows: int = 0

    def add(self, row: LedgerRow) -> None:
        self.rows += 1
        sign = 1 if row.kind in RECEIPT_KINDS else -1 if row.kind in RETURN_KINDS else 0
        if row.fiat_amount is not None:
            _add(self.fiat, (row.kind, row.fiat_currency), row.fiat_amount)
            _add(self.fiat, ("net", row.fiat_currency), sign * row.fiat_amount)
        if row.fee_fiat is not None:
            _add(self.fiat_fees, (row.kind, row.fiat_currency), row.fee_fiat)
        if row.coin and row.coin_amount is not None:
            _add(self.coin, (row.kind, row.coin), row.coin_amount)
            _add(self.coin, ("net", row.coin), sign * row.coin_amount - (row.fee_coin if sign > 0 else ZERO))
            if sign > 0:
                _add(self.coin_fees, (row.kind, row.coin), row.fee_coin)

    def to_json(self) -> dict[str, Any]:
        def listed(sums: dict[tuple[str, str], Decimal], unit: str, fees: dict[tuple[str, str], Decimal]) -> list[Any]:
            return [
                {"kind": kind, unit: name, "amount": plain(amount), "fees": plain(fees.get((kind, name), ZERO))}
                for (kind, name), amount in sorted(sums.items(), key=lambda item: (_order(item[0][0]), item[0][1]))
            ]

        return {
            "rows": self.rows,
            "fiat": listed(self.fiat, "currency", self.fiat_fees),
            "coin": listed(self.coin, "coin", self.coin_fees),
        }


def plain(amount: Decimal) -> str:
    """Every digit, never an exponent (`0.00000000`, not `0E-8`)."""
    return format(amount, "f")


def _order(kind: str) -> int:
    return KINDS.index(kind) if kind in KINDS else len(KINDS)


def _add(sums: dict[tuple[str, str], Decimal], key: tuple[str, str], amount: Decimal) -> None:
    sums[key] = sums.get(key, ZERO) + amount


# ------------------------------------------------------------------------------------ the query

_DEC = DecimalText()
_TIME = AwareDateTime()
_COLUMNS = (
    "source",
    "at",
    "ref",
    "channel",
    "amount",
    "currency",
    "credited",
    "details",
    "source_type",
    "source_id",
    "transaction_id",
    "invoice_id",
    "order_number",
    "coin_state",
    "coin",
    "coin_amount",
    "fiat_amount",
    "rate",
    "fee_transaction",
    "fee_network",
    "fee_conversion",
    "fee_fiat",
    "tx",
    "buyer_tx_ids",
    "email",
    "note",
    "reason",
)


def _none(type_: Any = None) -> Any:
    return type_coerce(null(), type_ or String())


def _payment_columns() -> dict[str, Any]:
    p = Payment
    return {
        "channel": p.channel_slug,
        "amount": p.amount,
        "currency": p.currency,
        "credited": p.credited_amount,
        "details": p.details,
        "source_type": p.source_type,
        "source_id": p.source_id,
        "transaction_id": p.saleor_transaction_id,
        "invoice_id": p.invoice_id,
    }


def _branch(source: str, at: Any, ref: Any, columns: dict[str, Any]) -> Select[Any]:
    values = {"source": literal(source, String()), "at": type_coerce(at, _TIME), "ref": ref, **_payment_columns()}
    values.update(columns)
    return select(*(values.get(name, _none()).label(name) for name in _COLUMNS))


def _receipt_columns(ip: type[InvoicePaymentRecord], amount: Any, fiat: Any, tx: Any, fees: bool) -> dict[str, Any]:
    return {
        "order_number": ip.order_number,
        "coin_state": ip.state,
        "coin": ip.coin_symbol,
        "coin_amount": amount,
        "fiat_amount": fiat,
        "rate": ip.rate,
        "fee_transaction": ip.fee_transaction if fees else _none(_DEC),
        "fee_network": ip.fee_network if fees else _none(_DEC),
        "fee_conversion": ip.fee_conversion if fees else _none(_DEC),
        "fee_fiat": ip.native_fee_total if fees else _none(_DEC),
        "tx": tx,
        "buyer_tx_ids": ip.buyer_tx_ids,
        "email": ip.refund_email,
    }


def ledger_query(where: LedgerFilter) -> Select[Any]:
    ip, p, r = InvoicePaymentRecord, Payment, Refund
    start, end = where.period.start, where.period.end
    receipts = _branch(
        "receipt",
        ip.received_at,
        ip.id,
        _receipt_columns(ip, ip.actual_amount, ip.native_actual_amount, _none(), fees=True),
    ).where(ip.received_at >= start, ip.received_at < end)
    payouts = _branch(
        "payout",
        ip.payout_completed_at,
        ip.id,
        _receipt_columns(ip, ip.payout_amount, ip.native_payout_amount, ip.payout_tx, fees=False),
    ).where(ip.payout_completed_at >= start, ip.payout_completed_at < end)
    returns = _branch(
        "coinpayments_refund",
        ip.returned_at,
        ip.id,
        _receipt_columns(ip, ip.actual_amount, ip.native_actual_amount, _none(), fees=False),
    ).where(ip.returned_at >= start, ip.returned_at < end)
    branches = []
    for branch in (receipts, payouts, returns):
        branches.append(branch.join_from(ip, p, ip.payment_id == p.id))
    refunds = (
        _branch(
            "refund",
            r.settled_at,
            r.id,
            {
                "fiat_amount": r.amount,
                "currency": r.currency,
                "coin": r.coin,
                "coin_amount": r.coin_amount,
                "tx": r.tx_id,
                "email": r.buyer_email,
                "note": r.note,
                "reason": r.reason,
            },
        )
        .join_from(r, p, r.payment_id == p.id)
        .where(r.state == RefundState.SENT.value, r.settled_at >= start, r.settled_at < end)
    )
    branches.append(refunds)
    filtered = []
    for branch in branches:
        if where.installation_id is not None:
            branch = branch.where(p.installation_id == where.installation_id)
        if where.channel is not None:
            branch = branch.where(p.channel_slug == where.channel)
        filtered.append(branch)
    united = union_all(*filtered).subquery("movements")
    return select(united).order_by(united.c.at, united.c.source, united.c.ref)


# ------------------------------------------------------------------------------------ rows


def receipt_kind(amount: Decimal, credited: Decimal, details: dict[str, Any] | None, held: bool) -> str:
    """What kind of receipt a payment's money is, from what the app decided about the payment."""
    if held:
        return "held_for_return"
    details = details or {}
    if KEY_LATE in details.get("info_keys", []):
        return "late"
    if credited > amount:
        return "overpaid"
    if credited < amount:
        return "underpaid_accepted" if isinstance(details.get("accepted_as_paid"), dict) else "underpaid"
    return "paid"


def _row(values: Any) -> LedgerRow | None:
    source = values.source
    if source in ("receipt", "coinpayments_refund", "payout") and not values.coin_amount:
        return None  # nothing moved
    if source == "receipt":
        held = values.coin_state in HELD_STATES
        kind = receipt_kind(values.amount, values.credited or ZERO, values.details, held=held)
    else:
        kind = source
    return LedgerRow(
        time=values.at,
        kind=kind,
        channel=values.channel,
        saleor_order_number=values.order_number,
        saleor_source=f"{values.source_type}:{values.source_id}",
        saleor_transaction_id=values.transaction_id,
        coinpayments_invoice_id=values.invoice_id,
        fiat_currency=values.currency,
        fiat_amount=values.fiat_amount,
        coin=values.coin,
        coin_amount=values.coin_amount,
        rate=values.rate,
        fee_transaction=values.fee_transaction,
        fee_network=values.fee_network,
        fee_conversion=values.fee_conversion,
        fee_fiat=values.fee_fiat,
        blockchain_tx=values.tx,
        buyer_tx_ids=tuple(values.buyer_tx_ids or ()),
        buyer_email=values.email,
        note=values.note,
        reason=values.reason,
    )


async def ledger_rows(
    session: AsyncSession, where: LedgerFilter, totals: Totals | None = None
) -> AsyncIterator[LedgerRow]:
    """The period's movements in time order, streamed; each is added to `totals` as it passes.

    A Core stream on the session's connection (a server-side cursor), taken a batch at a time: the
    ORM's per-row machinery and a loop switch per row would cost more than the rows themselves."""
    connection = await session.connection()
    result = await connection.stream(ledger_query(where))
    async for batch in result.partitions(BATCH):
        for values in batch:
            row = _row(values)
            if row is None:
                continue
            if totals is not None:
                totals.add(row)
            yield row
