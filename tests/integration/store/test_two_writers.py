"""Issue #10: two processes applying transitions to one payment lose no update.

One process (the holder) reads the payment row and then stops, holding its unit of work open between
its read and its write; a second process applies another transition meanwhile. The second must wait
for the first (SQLite: `BEGIN IMMEDIATE` before the read; PostgreSQL: the row lock), so the result is
exactly both transitions one after the other. Deterministic: the order is forced with files, nothing
is timed. Before issue #10 the SQLite read ran outside the write transaction: the second process
committed, then the holder wrote over it from its stale read. The holder's transition either queues
reports or is a quiet one (the invoice still waiting); both are one unit, on the fast path or, with
STORE_FAST_PATH=false, through the ORM session.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, text

from saleor_coinpayments import states
from saleor_coinpayments.money import Money, format_decimal
from saleor_coinpayments.payments.delivery.outbox import EVENT_REPORT
from saleor_coinpayments.payments.refresh import snapshot_of
from saleor_coinpayments.states import PaymentState
from saleor_coinpayments.store.configurations import ConfigurationRepository
from saleor_coinpayments.store.crypto import SecretBox
from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.installations import InstallationRepository
from saleor_coinpayments.store.tables import OutboxMessage, Payment
from tests.integration.store.transition_worker import AMOUNT, SECRET_KEY, view_for

ROOT = Path(__file__).resolve().parents[3]
INVOICE_ID = "9d1a7c2e-0000-4000-8000-000000000001"


async def _payment(database_url: str) -> str:
    db = Database(database_url)
    box = SecretBox(SECRET_KEY)
    try:
        async with db.session() as session:
            installation = await InstallationRepository(session, box).save(
                "https://two-writers.test/graphql/", "QXBwOjE=", "token", {"keys": []}
            )
            config = await ConfigurationRepository(session, box).upsert(
                installation.id, "default", client_id="c" * 32, client_secret="s3cret", api_url="http://127.0.0.1:9"
            )
            payment = Payment(
                installation_id=installation.id,
                configuration_id=config.id,
                saleor_transaction_id="VHJhbnNhY3Rpb25JdGVtOjE=",
                source_type="checkout",
                source_id="Q2hlY2tvdXQ6MQ==",
                channel_slug="default",
                our_invoice_ref="two-writers-1",
                invoice_id=INVOICE_ID,
                currency="USD",
                amount=AMOUNT,
                state=PaymentState.UNPAID.value,
                details={},
            )
            session.add(payment)
            await session.flush()
            return payment.id
    finally:
        await db.dispose()


async def _stored(database_url: str, payment_id: str) -> tuple[Payment, dict[str, str | None]]:
    db = Database(database_url)
    try:
        async with db.session() as session:
            row = (await session.execute(select(Payment).where(Payment.id == payment_id))).scalar_one()
            rows = await session.scalars(
                select(OutboxMessage).where(OutboxMessage.payment_id == payment_id, OutboxMessage.kind == EVENT_REPORT)
            )
            return row, {m.dedup_key.removeprefix(f"{payment_id}:"): m.payload.get("amount") for m in rows}
    finally:
        await db.dispose()


def _worker(database_url: str, payment_id: str, role: str, folder: Path, fast_path: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "tests.integration.store.transition_worker", database_url, payment_id, role]
    return subprocess.Popen([*command, str(folder), fast_path], cwd=ROOT)


async def _waits_for_a_row_lock(database_url: str) -> bool:
    """PostgreSQL: whether a session of this database waits for a lock now."""
    db = Database(database_url)
    try:
        async with db.session() as session:
            waiting = await session.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
        return bool(waiting)
    finally:
        await db.dispose()


def _wait_for(
    folder: Path, *names: str, workers: list[subprocess.Popen[bytes]], database_url: str | None = None
) -> None:
    """Until one of the files exists, or (with `database_url`, PostgreSQL) a session waits for a
    lock. The cap only ends a hung test; a crashed worker ends it at once."""
    deadline = time.monotonic() + 120
    while not any((folder / name).exists() for name in names):
        for worker in workers:
            assert worker.poll() in (None, 0), f"a worker failed with {worker.returncode}"
        if database_url is not None and asyncio.run(_waits_for_a_row_lock(database_url)):
            return
        assert time.monotonic() < deadline, f"none of {names} appeared"
        time.sleep(0.01)


@pytest.mark.parametrize("fast_path", ["true", "false"])  # STORE_FAST_PATH: the driver, or the ORM session
@pytest.mark.parametrize(
    ("holder_role", "final_state", "credited"),
    [
        ("holder", PaymentState.PAID, Decimal("20.00")),  # its own transition queues reports
        ("quiet-holder", PaymentState.PAID, Decimal("10.00")),  # a quiet one, then the other's credit
    ],
)
def test_two_processes_applying_transitions_lose_no_update(
    database_url: str, tmp_path: Path, holder_role: str, final_state: PaymentState, credited: Decimal, fast_path: str
) -> None:
    payment_id = asyncio.run(_payment(database_url))
    holder = _worker(database_url, payment_id, holder_role, tmp_path, fast_path)
    workers = [holder]
    try:
        _wait_for(tmp_path, "holder-read", workers=workers)
        other = _worker(database_url, payment_id, "other", tmp_path, fast_path)
        workers.append(other)
        # Either the other process queues behind the holder (it waits for the write lock or the row
        # lock), or it went through without waiting (the bug): only then is the holder let go.
        postgres = None if database_url.startswith("sqlite") else database_url
        _wait_for(tmp_path, "other-locking", "other-done", workers=workers, database_url=postgres)
        (tmp_path / "go").touch()
        assert holder.wait(120) == 0
        assert other.wait(120) == 0
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()

    row, queued = asyncio.run(_stored(database_url, payment_id))
    stored = snapshot_of(row)
    start = states.PaymentSnapshot(state=PaymentState.UNPAID, invoice_id=INVOICE_ID, amount=Money.of(AMOUNT, "USD"))
    # Exactly the two transitions one after the other (the holder's first: the other waited), with
    # every report queued once and the row recording all of them: no update lost.
    first = states.apply(start, view_for(holder_role))
    second = states.apply(first.snapshot(start), view_for("other"))
    assert stored == second.snapshot(first.snapshot(start))
    assert stored.state == final_state
    assert row.credited_amount == stored.credited == credited
    reports = {
        r.dedup_key: format_decimal(r.amount, 2) if r.amount is not None else None
        for r in (*first.reports, *second.reports)
    }
    assert queued == reports
    # Saleor is told exactly what the row says was credited.
    assert sum(Decimal(queued[key]) for key in queued if key.startswith("credit:")) == row.credited_amount
