"""One process applying one CoinPayments view to one payment, for tests/integration/store/test_two_writers.py.

    python -m tests.integration.store.transition_worker DATABASE_URL PAYMENT_ID ROLE FOLDER

ROLE `holder` stops right after it has read the payment row, until FOLDER/go exists (it announces
FOLDER/holder-read), so it holds whatever its unit of work holds between its read and its write.
ROLE `quiet-holder` does the same with a view that queues no report, so the unit it holds is the
point unit of a quiet transition (payments/refresh.py `_apply_quietly`).
ROLE `other` announces FOLDER/other-locking when it issues a statement that takes the write lock
(`BEGIN …` on SQLite, `… FOR UPDATE` on PostgreSQL), so the test knows it is queued behind the holder.
Each writes FOLDER/<role>-done at the end. The hooks are SQLAlchemy cursor events on every engine
of the process, and the point units' own lock requests: they observe what the app sends, they do
not change it.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from saleor_coinpayments.context import app_context
from saleor_coinpayments.payments import states
from saleor_coinpayments.payments.refresh import apply_transition
from saleor_coinpayments.settings import load_settings
from saleor_coinpayments.store import inline_sqlite, point_writes

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

    def after(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        text = " ".join(statement.split()).upper()
        if role == "holder" and text.startswith("SELECT") and "FROM PAYMENTS" in text and once("read"):
            hold()

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        text = " ".join(statement.split()).upper()
        if role == "other" and (text.startswith("BEGIN") or "FOR UPDATE" in text) and once("locking"):
            (folder / "other-locking").touch()

    event.listen(Engine, "after_cursor_execute", after)
    event.listen(Engine, "before_cursor_execute", before)
    if role == "other":
        _announce_point_locks(folder, once)
    if role == "quiet-holder":
        _hold_after_point_reads(hold)


def _hold_after_point_reads(hold: Callable[[], None]) -> None:
    """The quiet transition reads its row in a point unit, past SQLAlchemy's events: hold there."""
    for unit in (point_writes._SqliteUnit, point_writes._PostgresUnit):

        def held(original: Any) -> Any:
            async def row(self: Any, table: Any, key: dict[str, str]) -> dict[str, Any] | None:
                values = await original(self, table, key)
                hold()
                return values

            return row

        unit.row = held(unit.row)  # type: ignore[method-assign]


def _announce_point_locks(folder: Path, once: Callable[[str], bool]) -> None:
    """The point units (store/point_writes.py) lock on the driver itself, past SQLAlchemy's events:
    announce where they ask for the lock (SQLite's BEGIN IMMEDIATE attempts, PostgreSQL's FOR UPDATE)."""
    waits = inline_sqlite.lock_wait_delays
    row = point_writes._PostgresUnit.row

    def announced_waits() -> Iterator[float | None]:
        if once("locking"):
            (folder / "other-locking").touch()
        return waits()

    async def announced_row(self: Any, table: Any, key: dict[str, str]) -> dict[str, Any] | None:
        if once("locking"):
            (folder / "other-locking").touch()
        return await row(self, table, key)

    inline_sqlite.lock_wait_delays = announced_waits  # type: ignore[assignment]
    point_writes._PostgresUnit.row = announced_row  # type: ignore[method-assign]


async def run(database_url: str, payment_id: str, role: str, folder: Path) -> None:
    _install_hooks(role, folder)
    settings = load_settings(database_url=database_url, data_dir=folder, secret_key=SECRET_KEY, run_workers=False)
    async with app_context(settings) as ctx:
        moved = await apply_transition(ctx, payment_id, view_for(role))
        assert moved is not None, "payment not found"
    (folder / f"{role}-done").touch()


if __name__ == "__main__":
    url, payment, which, where = sys.argv[1:5]
    asyncio.run(run(url, payment, which, Path(where)))
