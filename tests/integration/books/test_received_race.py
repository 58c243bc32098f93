"""Two reads of one invoice racing to record the same coin's payment (two replicas, or a
notification's re-read beside the reconciler's): both find no row, both insert it. The one that loses
on the unique key must still leave the books right, not drop its read with an IntegrityError."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from sqlalchemy import func, insert, select, text

from saleor_coinpayments.coinpayments.models import Invoice
from saleor_coinpayments.payments.books.received import record_invoice_payments
from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.tables import InvoicePaymentRecord, core_table
from saleor_coinpayments.store.types import utcnow
from tests.helpers.waiting import eventually_async
from tests.integration.books import seed
from tests.unit.coinpayments import samples


def test_the_read_that_loses_the_insert_race_updates_the_row_the_other_made(database_url: str) -> None:
    async def scenario() -> tuple[int, str]:
        db = Database(database_url)
        try:
            shop = await seed.shop(db)
            payment = seed.payment_row(shop, 1)
            await seed.write(db, [payment], [], [])
            invoice = Invoice.model_validate(json.loads(samples.INVOICE_6A))
            coin = invoice.payments[0].payment_currency_id
            now = utcnow()
            # The other read: its row inserted, its transaction still open.
            older = seed.coin_row(payment, now - timedelta(seconds=1), coin_currency_id=coin, state="pending")
            async with db.session(write=True) as other:
                await other.execute(insert(core_table(InvoicePaymentRecord)), [older])
                ours = asyncio.create_task(record_invoice_payments(db, payment["id"], invoice, now))
                if db.engine.dialect.name == "postgresql":
                    # Ours found no row (the other is not committed) and waits on the unique key.
                    await eventually_async(lambda: _waiting_on_a_lock(db), what="our insert waits for the other's")
            await ours  # the other committed: ours lost the race on PostgreSQL, and tried again
            async with db.session() as session:
                count = await session.scalar(
                    select(func.count()).where(InvoicePaymentRecord.payment_id == payment["id"])
                )
                state = await session.scalar(
                    select(InvoicePaymentRecord.state).where(InvoicePaymentRecord.payment_id == payment["id"])
                )
            return int(count or 0), str(state)
        finally:
            await db.dispose()

    count, state = asyncio.run(scenario())
    assert count == 1
    assert state == "completed"  # our read's word, not the other's older one


async def _waiting_on_a_lock(db: Database) -> bool:
    async with db.session() as session:
        waiting = await session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
        )
    return bool(waiting)
