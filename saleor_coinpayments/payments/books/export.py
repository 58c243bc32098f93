"""The ledger as CSV (RFC 4180, UTF-8, header row) or JSON Lines, produced in chunks as rows stream.

CSV cells that a spreadsheet would read as a formula (first character `=`, `+`, `-`, `@`, tab or
carriage return) get a leading `'`: buyer e-mails, notes and reasons are typed by outsiders. Amounts
are written from their Decimal, never through a float. The last rows (CSV) or the last line (JSON)
carry the totals.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from saleor_coinpayments.payments.books.ledger import LedgerRow, Totals

FORMATS = ("csv", "json")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/x-ndjson; charset=utf-8"}
ROWS_PER_CHUNK = 500

COLUMNS = (
    "time",
    "kind",
    "channel",
    "saleor_order_number",
    "saleor_source",
    "saleor_transaction_id",
    "coinpayments_invoice_id",
    "fiat_currency",
    "fiat_amount",
    "coin",
    "coin_amount",
    "rate",
    "fee_transaction",
    "fee_network",
    "fee_conversion",
    "fee_total_coin",
    "fee_total_fiat",
    "blockchain_tx",
    "buyer_tx_ids",
    "buyer_email",
    "note",
    "reason",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """A cell a spreadsheet would run as a formula, made plain text."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def amount_text(amount: Decimal | None) -> str:
    return "" if amount is None else format(amount, "f")


def time_text(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def row_values(row: LedgerRow) -> dict[str, str]:
    fees = (row.fee_transaction, row.fee_network, row.fee_conversion)
    return {
        "time": time_text(row.time),
        "kind": row.kind,
        "channel": row.channel,
        "saleor_order_number": row.saleor_order_number or "",
        "saleor_source": row.saleor_source,
        "saleor_transaction_id": row.saleor_transaction_id or "",
        "coinpayments_invoice_id": row.coinpayments_invoice_id or "",
        "fiat_currency": row.fiat_currency,
        "fiat_amount": amount_text(row.fiat_amount),
        "coin": row.coin or "",
        "coin_amount": amount_text(row.coin_amount),
        "rate": amount_text(row.rate),
        "fee_transaction": amount_text(row.fee_transaction),
        "fee_network": amount_text(row.fee_network),
        "fee_conversion": amount_text(row.fee_conversion),
        "fee_total_coin": "" if all(f is None for f in fees) else amount_text(row.fee_coin),
        "fee_total_fiat": amount_text(row.fee_fiat),
        "blockchain_tx": row.blockchain_tx or "",
        "buyer_tx_ids": " ".join(row.buyer_tx_ids),
        "buyer_email": row.buyer_email or "",
        "note": row.note or "",
        "reason": row.reason or "",
    }


def total_rows(totals: Totals) -> Iterable[dict[str, str]]:
    """The totals as rows of the same columns: `kind` is `total:<kind>` (or `total:net`)."""
    summary = totals.to_json()
    for entry in summary["fiat"]:
        yield {
            "kind": f"total:{entry['kind']}",
            "fiat_currency": entry["currency"],
            "fiat_amount": entry["amount"],
            "fee_total_fiat": "" if entry["kind"] == "net" else entry["fees"],
        }
    for entry in summary["coin"]:
        yield {
            "kind": f"total:{entry['kind']}",
            "coin": entry["coin"],
            "coin_amount": entry["amount"],
            "fee_total_coin": "" if entry["kind"] == "net" else entry["fees"],
        }


class _CsvChunks:
    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, lineterminator="\r\n")

    def write(self, values: dict[str, str]) -> None:
        self.writer.writerow([neutralise(values.get(name, "")) for name in COLUMNS])

    def take(self) -> bytes:
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text.encode("utf-8")


async def csv_chunks(rows: AsyncIterator[LedgerRow], totals: Totals) -> AsyncIterator[bytes]:
    """`rows` must add themselves to `totals` as they pass (`ledger_rows(..., totals)`)."""
    out = _CsvChunks()
    out.writer.writerow(COLUMNS)
    count = 0
    async for row in rows:
        out.write(row_values(row))
        count += 1
        if count % ROWS_PER_CHUNK == 0:
            yield out.take()
    for values in total_rows(totals):
        out.write(values)
    yield out.take()


def _json_line(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n"


async def json_chunks(rows: AsyncIterator[LedgerRow], totals: Totals) -> AsyncIterator[bytes]:
    """JSON Lines: one `{"type": "movement", …}` object per row (amounts as decimal strings), then
    one `{"type": "totals", …}`."""
    lines: list[str] = []
    async for row in rows:
        values: dict[str, Any] = {"type": "movement", **row_values(row)}
        values["buyer_tx_ids"] = list(row.buyer_tx_ids)
        lines.append(_json_line(values))
        if len(lines) == ROWS_PER_CHUNK:
            yield "".join(lines).encode("utf-8")
            lines = []
    lines.append(_json_line({"type": "totals", **totals.to_json()}))
    yield "".join(lines).encode("utf-8")


def chunks(fmt: str, rows: AsyncIterator[LedgerRow], totals: Totals) -> AsyncIterator[bytes]:
    return csv_chunks(rows, totals) if fmt == "csv" else json_chunks(rows, totals)
