"""How long the ledger export takes: `ROWS` rows (half paid, half paid out) in November 2026.

    .venv/bin/python -m bench.ledger_export [--rows 100000] [--database postgresql+asyncpg://…]

Seeds a fresh SQLite database under a temporary folder (or the database given, which must be
empty), then exports the month as CSV and as JSON Lines through the same use case as the CLI and
the Dashboard, consuming the chunks as a client would. Figures are for this machine and this run
only; nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from saleor_coinpayments.payments.books.export import chunks
from saleor_coinpayments.payments.books.ledger import LedgerFilter, Period, Totals, ledger_rows
from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.migrate import upgrade_async
from tests.integration.books import seed


async def measure(url: str, rows: int) -> None:
    await upgrade_async(url)
    db = Database(url)
    try:
        shop = await seed.shop(db)
        started = time.perf_counter()
        await seed.many_paid(db, shop, rows // 2)
        print(f"seeded {rows} ledger rows in {time.perf_counter() - started:.1f} s")
        where = LedgerFilter(Period.parse("2026-11-01", "2026-11-30"), shop.installation_id)
        for fmt in ("csv", "json"):
            totals = Totals()
            size = 0
            started = time.perf_counter()
            async with db.session() as session:
                async for chunk in chunks(fmt, ledger_rows(session, where, totals), totals):
                    size += len(chunk)
            elapsed = time.perf_counter() - started
            rate = totals.rows / elapsed
            print(f"{fmt}: {totals.rows} rows, {size / 2**20:.1f} MB in {elapsed:.1f} s ({rate:,.0f} rows/s)")
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database", default=None, help="an empty database (default: a new SQLite file)")
    args = parser.parse_args()
    url = args.database or f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp()) / 'ledger.db'}"
    asyncio.run(measure(url, args.rows))


if __name__ == "__main__":
    main()
