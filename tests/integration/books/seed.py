"""Rows for the ledger written straight into a migrated database: an installation, its payments,
what CoinPayments reported about each, and refunds sent by staff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Insert, Select, func, insert, select, text

from saleor_coinpayments.store.configurations import ConfigurationRepository
from saleor_coinpayments.store.crypto import SecretBox
from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.installations import InstallationRepository
from saleor_coinpayments.store.tables import InvoicePaymentRecord, Payment, Refund, core_table, new_id

BOX = SecretBox("test-secret-key")
MONTH_START = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Shop:
    installation_id: str
    configuration_id: str


async def shop(db: Database, api_url: str | None = None) -> Shop:
    async with db.session() as session:
        installation = await InstallationRepository(session, BOX).save(
            api_url or f"https://{new_id()}.test/graphql/", "QXBwOjE=", "tok", {"keys": []}
        )
        config = await ConfigurationRepository(session, BOX).upsert(
            installation.id, "main", client_id="c", client_secret="s", api_url="http://cp.test"
        )
    return Shop(installation.id, config.id)


async def installed_shop(db: Database, api_url: str, secret_key: str) -> Shop:
    """A configuration for a Saleor that installed the app (the app's own SECRET_KEY reads it)."""
    box = SecretBox(secret_key)
    async with db.session() as session:
        installation = await InstallationRepository(session, box).get(api_url)
        assert installation is not None
        config = await ConfigurationRepository(session, box).upsert(
            installation.id, "main", client_id="c", client_secret="s", api_url="http://cp.test"
        )
    return Shop(installation.id, config.id)


def payment_row(shop: Shop, index: int, *, channel: str = "default-channel", **more: Any) -> dict[str, Any]:
    values = {
        "id": new_id(),
        "installation_id": shop.installation_id,
        "configuration_id": shop.configuration_id,
        "flow": "checkout",
        "saleor_transaction_id": f"tx-{index}-{new_id()}",
        "source_type": "checkout",
        "source_id": f"checkout-{index}",
        "channel_slug": channel,
        "our_invoice_ref": f"ref-{new_id()}",
        "invoice_id": f"inv-{new_id()}",
        "currency": "USD",
        "amount": Decimal("20.00"),
        "state": "completed",
        "is_final": True,
        "credited_amount": Decimal("20.00"),
        "details": {"info_keys": []},
        "next_check_at": MONTH_START,
        "created_at": MONTH_START,
        "updated_at": MONTH_START,
    }
    values.update(more)
    return values


def coin_row(payment: dict[str, Any], at: datetime, **more: Any) -> dict[str, Any]:
    values = {
        "id": new_id(),
        "payment_id": payment["id"],
        "coin_currency_id": "1002",
        "coin_symbol": "LTCT",
        "native_currency": "USD",
        "state": "completed",
        "order_number": None,
        "expected_amount": Decimal("0.25000000"),
        "actual_amount": Decimal("0.25000000"),
        "native_actual_amount": Decimal("20.00"),
        "rate": Decimal("80.0000000000"),
        "fee_transaction": Decimal("0.00125000"),
        "fee_network": Decimal("0.00001000"),
        "fee_conversion": Decimal("0.00000000"),
        "native_fee_total": Decimal("0.10"),
        "payout_amount": Decimal("0.24874000"),
        "native_payout_amount": Decimal("19.90"),
        "payout_tx": "f" * 64,
        "payout_completed_at": at + timedelta(minutes=10),
        "buyer_tx_ids": ["e" * 64],
        "refund_email": "buyer@example.com",
        "received_at": at,
        "returned_at": None,
        "updated_at": at,
    }
    values.update(more)
    return values


def refund_row(payment: dict[str, Any], at: datetime, **more: Any) -> dict[str, Any]:
    values = {
        "id": new_id(),
        "installation_id": payment["installation_id"],
        "payment_id": payment["id"],
        "saleor_transaction_id": payment["saleor_transaction_id"],
        "request_key": f"key-{new_id()}",
        "psp_reference": f"refund-{new_id()}",
        "origin": "saleor",
        "state": "sent",
        "amount": Decimal("8.00"),
        "currency": "USD",
        "reason": None,
        "buyer_email": "buyer@example.com",
        "settled_by": "admin@shop.example",
        "settled_at": at,
        "coin": "LTCT",
        "coin_amount": Decimal("0.1"),
        "tx_id": "refund-tx",
        "note": None,
        "created_at": at,
        "updated_at": at,
    }
    values.update(more)
    return values


async def write(
    db: Database, payments: list[dict[str, Any]], coins: list[dict[str, Any]], refunds: list[dict[str, Any]]
) -> None:
    async with db.session(write=True) as session:
        for table, rows in ((Payment, payments), (InvoicePaymentRecord, coins), (Refund, refunds)):
            if rows:
                await session.execute(insert(core_table(table)), rows)


async def many_paid(db: Database, shop: Shop, count: int, batch: int = 2000) -> None:
    """`count` paid-and-paid-out payments spread over November 2026: 2 × `count` ledger rows.

    The first `batch` are made here; the others are copies of those made by the database itself
    (INSERT … SELECT, the unique columns given a suffix per copy), so a copy keeps its original's
    times. Making every row in Python and binding each value took 6-9 s for 50,000 (twice per
    database suite, for the two 100,000-row tests); with the copies, 2-3 s."""
    first = min(batch, count)
    step = timedelta(days=29) / first
    rows = [payment_row(shop, i, id=new_id()[:ORIGINAL_ID]) for i in range(first)]
    coins = [coin_row(row, MONTH_START + step * n, id=new_id()[:ORIGINAL_ID]) for n, row in enumerate(rows)]
    await write(db, rows, coins, [])
    copies, rest = divmod(count - first, first)
    async with db.session(write=True) as session:
        if (await session.connection()).dialect.name == "sqlite":
            # Every copied row goes into eight indexes: with SQLite's default page cache (2 MB) that
            # was half of the time. A test's own connection: the app's connections keep the default.
            await session.execute(text("PRAGMA cache_size = -65536"))
        for copy in range(1, copies + 1):
            await session.execute(_copy_payments(shop, f"{copy:08x}"))
            await session.execute(_copy_coins(shop, f"{copy:08x}"))
    if rest:
        rows = [payment_row(shop, i) for i in range(rest)]
        await write(db, rows, [coin_row(row, MONTH_START + step * n) for n, row in enumerate(rows)], [])


ORIGINAL_ID = 24
"""The originals' ids are this long; a copy's is the original's and an 8-character suffix (32)."""
_UNIQUE_PAYMENT_COLUMNS = ("id", "saleor_transaction_id", "our_invoice_ref", "invoice_id")


def _originals(shop: Shop) -> Select[tuple[str]]:
    payments = core_table(Payment)
    return select(payments.c.id).where(
        payments.c.installation_id == shop.installation_id, func.length(payments.c.id) == ORIGINAL_ID
    )


def _copy_payments(shop: Shop, suffix: str) -> Insert:
    payments = core_table(Payment)
    columns = [c.concat(suffix) if c.name in _UNIQUE_PAYMENT_COLUMNS else c for c in payments.c]
    copied = select(*columns).where(payments.c.id.in_(_originals(shop)))
    return insert(payments).from_select([c.name for c in payments.c], copied)


def _copy_coins(shop: Shop, suffix: str) -> Insert:
    coins = core_table(InvoicePaymentRecord)
    columns = [c.concat(suffix) if c.name in ("id", "payment_id") else c for c in coins.c]
    copied = select(*columns).where(coins.c.payment_id.in_(_originals(shop)))
    return insert(coins).from_select([c.name for c in coins.c], copied)
