"""The ledger export run in a fresh Python process, reporting how far its resident memory rose.

Why a process of its own: tracemalloc, which counts every Python allocation, made the export of
100,000 rows four times slower (75 s of the suite). A fresh interpreter's heap has almost no freed
memory to reuse, so what the export holds shows up in its resident set (RSS) — in the test process
it could hide in memory freed by earlier tests. The peak is the kernel's high-water mark (VmHWM),
reset just before the export (`/proc/self/clear_refs`), so a peak between two reads is not missed.

`python -m tests.integration.books.export_memory DATABASE_URL INSTALLATION_ID` prints one JSON
object: the growth in bytes, the output's size and line count, and the last 4 KB of the output.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from saleor_coinpayments.payments.books.export import chunks
from saleor_coinpayments.payments.books.ledger import LedgerFilter, Period, Totals, ledger_rows
from saleor_coinpayments.store.db import Database

NOVEMBER = Period.parse("2026-11-01", "2026-11-30")
FIRST_DAY = Period.parse("2026-11-01", "2026-11-01")


async def export(db: Database, where: LedgerFilter, fmt: str = "csv") -> AsyncIterator[bytes]:
    """The ledger as the app streams it: chunks of the format, rows read from one session."""
    totals = Totals()
    async with db.session() as session:
        async for chunk in chunks(fmt, ledger_rows(session, where, totals), totals):
            yield chunk


def memory() -> dict[str, int]:
    """This process's resident set now (VmRSS) and its high-water mark (VmHWM), in bytes."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return {name: int(fields[name].split()[0]) * 1024 for name in ("VmRSS", "VmHWM")}


async def measure(database_url: str, installation_id: str) -> dict[str, object]:
    db = Database(database_url)
    try:
        # The export of the first day (a thirtieth of the rows, a few chunks) first: the engine and
        # its connection, the database's page cache, the compiled query, the allocator's pools
        # for a batch of rows and a chunk are in place before the baseline. What the whole month
        # adds is then what the export holds as it goes (a few MB), not what its start costs
        # (8 MB on SQLite). An exporter that kept its output would still need all 33 MB more.
        async for _ in export(db, LedgerFilter(FIRST_DAY, installation_id)):
            pass
        gc.collect()
        await asyncio.to_thread(Path("/proc/self/clear_refs").write_text, "5")  # VmHWM := VmRSS
        before = memory()["VmRSS"]
        size = lines = 0
        tail = b""
        async for chunk in export(db, LedgerFilter(NOVEMBER, installation_id)):
            size += len(chunk)
            lines += chunk.count(b"\r\n")
            tail = (tail + chunk)[-4096:]
        peak = memory()["VmHWM"]
    finally:
        await db.dispose()
    return {"growth": peak - before, "size": size, "lines": lines, "tail": tail.decode("utf-8")}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(measure(sys.argv[1], sys.argv[2]))))
