"""One process applying one CoinPayments view to one payment, for tests/integration/store/test_two_writers.py.

    python -m tests.integration.store.transition_worker DATABASE_URL PAYMENT_ID ROLE FOLDER FAST_PATH

ROLE `holder` stops right after it has read the payment row, until FOLDER/go exists (it announces
FOLDER/holder-read), so it holds whatever its unit of work holds between its read and its write.
ROLE `quiet-holder` does the same with a view that queues no report.
ROLE `other` announces FOLDER/other-locking once it waits for SQLite's write lock: the in-loop
writer's `BEGIN IMMEDIATE` was answered "busy", or the ORM writer sends `BEGIN IMMEDIATE` (its
thread waits in SQLite's busy handler). On PostgreSQL the test sees the wait itself (pg_stat_activity).
Each writes FOLDER/<role>-done at the end. FAST_PATH is STORE_FAST_PATH (`true`, or `false`: the
same unit through the ORM session). The hooks wrap the store's public seams (`HotUnit.locked`,
`sqlite_in_loop.lock_wait_delays`) and SQLAlchemy's cursor events: they observe what the app sends,
they do not change it.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from saleor_coinpayments import states
from saleor_coinpayments.context import app_context
from saleor_coinpayments.payments.refresh import apply_transition
from saleor_coinpayments.settings import load_settings
from saleor_coinpayments.store import sqlite_in_loop
from saleor_coinpayments.store.fast_path import HotUnit

SECRET_KEY = "two-writers-secret"
AMOUNT = Decimal("20.00")


def view_for(role: str) -> states.InvoiceView:
    """The holder sees the invoice paid in full; the quiet holder sees it still waiting (nothing to
    report); the other saw it earlier, half paid (a partial credit)."""
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    if role == "holder":
        return states.InvoiceView(status="paid", credited=AMOUNT, confirmations=6, observed_at=now)
    if role == "quiet-holder":
        return states.InvoiceView(status="unpaid", observed_at=now)
    return states.InvoiceView(status="pending", credited=AMOUNT / 2, confirmations=2, observed_at=now)


def _install_hooks(role: str, folder: Path) -> None:
    fired: set[str] = set()

    def once(name: str) -> bool:
        if name in fired:
            return False
        fired.add(name)
        return True

    def hold() -> None:
        (folder / "holder-read").touch()
        while not (folder / "go").exists():  # hold the unit of work open, between read and write
            time.sleep(0.01)

    def announce() -> None:
        if role == "other" and once("locking"):
            (folder / "other-locking").touch()

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if " ".join(statement.split()).upper().startswith("BEGIN IMMEDIATE"):  # the ORM writer's
            announce()

    event.listen(Engine, "before_cursor_execute", before)
    waits = sqlite_in_loop.lock_wait_delays
    locked = HotUnit.locked

    def announced_waits() -> Iterator[float | None]:
        delays = waits()
        yield next(delays)  # before the in-loop writer's first BEGIN IMMEDIATE
        announce()  # it was answered "busy": queued behind the holder
        yield from delays

    async def held_after_read(self: HotUnit, entity: Any, **key: str) -> Any:
        row = await locked(self, entity, **key)
        if role in ("holder", "quiet-holder") and once("read"):
            hold()
        return row

    sqlite_in_loop.lock_wait_delays = announced_waits  # type: ignore[assignment]
    HotUnit.locked = held_after_read  # type: ignore[method-assign,assignment]


async def run(database_url: str, payment_id: str, role: str, folder: Path, fast_path: bool) -> None:
    _install_hooks(role, folder)
    settings = load_settings(
        database_url=database_url,
        data_dir=folder,
        secret_key=SECRET_KEY,
        run_workers=False,
        store_fast_path=fast_path,
    )
    async with app_context(settings) as ctx:
        moved = await apply_transition(ctx, payment_id, view_for(role))
        assert moved is not None, "payment not found"
    (folder / f"{role}-done").touch()


if __name__ == "__main__":
    url, payment, which, where, fast = sys.argv[1:6]
    asyncio.run(run(url, payment, which, Path(where), fast == "true"))
