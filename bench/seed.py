"""Old, untouched open invoices for bench/scale.py, made at the simulator and copied into our table.

Each is made at the simulator through its signed API (our `invoiceId` on it), and its row is a copy
of an app-made row of the same kind (checkout or sent-out) with that invoice's ids, made between an
hour and three days ago and untouched since. Real invoices made over time are not all due at once:
each row's next read is placed where the schedule would have it, at a uniformly random point of
its current gap (as if last read that gap before), so the run measures the schedule's steady cost
from its first second instead of a catch-up of every seeded invoice.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import insert, select

from bench.world import BenchWorld
from saleor_coinpayments.payments.schedule import ReadFacts, ReadSchedule, next_read
from saleor_coinpayments.states import PaymentState
from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.tables import Payment, core_table, new_id
from saleor_coinpayments.store.types import utcnow
from tests.integration.simulator.signer import Signer, compact, invoice_body

PAYMENTS = core_table(Payment)
SPREAD = "seeded rows' next reads spread over their schedule gaps (as if last read a random part of a gap ago)"


async def _make_at_simulator(world: BenchWorld, count: int) -> list[tuple[str, str]]:
    """`count` invoices at the simulator: (our ref, invoice id)."""
    signer = Signer(world.sim.base_url, world.sim.client_id, world.sim.client_secret)
    made: list[tuple[str, str]] = []
    semaphore = asyncio.Semaphore(32)
    async with httpx.AsyncClient(timeout=30) as client:

        async def one() -> None:
            ref = f"scp-seed-{uuid.uuid4().hex[:27]}"
            body = compact(invoice_body("20.00", invoiceId=ref, payment={"refundEmail": "buyer@example.com"}))
            url = f"{world.sim.base_url}/api/v2/merchant/invoices"
            async with semaphore:
                for attempt in range(5):  # a busy machine's simulator may drop a connection now and then
                    try:
                        answer = await client.post(url, content=body, headers=signer.headers("POST", url, body))
                        break
                    except httpx.TransportError:
                        if attempt == 4:
                            raise
                        await asyncio.sleep(1.0)
            answer.raise_for_status()
            made.append((ref, answer.json()["invoices"][0]["id"]))

        await asyncio.gather(*(one() for _ in range(count)))
    return made


def _row(
    template: dict[str, Any], ref: str, invoice_id: str, aged: datetime, now: datetime, rules: ReadSchedule
) -> dict[str, Any]:
    facts = ReadFacts(
        state=PaymentState(template["state"]),
        is_final=False,
        created_at=aged,
        changed_at=None,
        watching_until=None,
        expires_at=template["expires_at"],
    )
    planned = next_read(facts, now, rules)
    assert planned is not None
    gap = planned.at - now
    at = now + gap * random.random()  # noqa: S311 - a spread, not a secret
    row = dict(template)
    row.update(
        id=new_id(),
        invoice_id=invoice_id,
        our_invoice_ref=ref,
        saleor_transaction_id=f"seed-{ref}",
        request_key=None,
        pay_token_hash=None,
        checkout_link=None,
        invoice_link=None,
        created_at=aged,
        updated_at=aged,
        last_checked_at=at - gap,
        next_check_at=at,
        read_by=at + (planned.by - planned.at),
        changed_at=None,  # untouched since made
        watching_until=None,  # no buyer watching
        claimed_until=None,
    )
    return row


async def seed(world: BenchWorld, count: int, templates: dict[str, str], rules: ReadSchedule) -> int:
    """`count` old untouched invoices, rows copied from the app-made payments `templates` (kind → id)."""
    if count <= 0:
        return 0
    random.seed(24)
    db = Database(world.url)
    try:
        async with db.session() as session:
            rows = {
                kind: dict((await session.execute(select(PAYMENTS).where(PAYMENTS.c.id == pid))).mappings().one())
                for kind, pid in templates.items()
            }
        kinds = list(rows)
        made = await _make_at_simulator(world, count)
        now = utcnow()  # after the simulator's part (minutes at full size), or the earliest reads are due at once
        values = [
            _row(rows[kinds[n % len(kinds)]], ref, invoice_id, now - timedelta(hours=1 + (n % 72)), now, rules)
            for n, (ref, invoice_id) in enumerate(made)
        ]
        async with db.session(write=True) as session:
            for start in range(0, len(values), 1000):
                await session.execute(insert(PAYMENTS), values[start : start + 1000])
        return len(values)
    finally:
        await db.dispose()
