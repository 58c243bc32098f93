"""What a pay page shows of a payment, read for many payments in one statement.

Waiting pay pages (store/page_waiters.py) are woken when one of these columns changes,
whichever process wrote it: one SELECT per process and check for every page waiting there."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.tables import Payment

# The columns the pay page's view follows (not the reconciler's bookkeeping, which changes on every
# claim): a page wakes only when one of these moved.
MARKED = (
    Payment.state,
    Payment.credited_amount,
    Payment.confirmations,
    Payment.expires_at,
    Payment.coin_currency_id,
    Payment.coin_address,
    Payment.coin_status,
)
CHUNK = 500  # ids per statement: far below every driver's parameter limit

Marks = tuple[Any, ...]


def marks_of(payment: Payment) -> Marks:
    """The marks of a loaded payment, as `read_marks` gives them for its row."""
    return tuple(getattr(payment, column.key) for column in MARKED)


async def read_marks(db: Database, payment_ids: Sequence[str]) -> dict[str, Marks]:
    """The marks of these payments (a gone one is missing), in one statement per CHUNK ids."""
    found: dict[str, Marks] = {}
    async with db.session() as session:
        for start in range(0, len(payment_ids), CHUNK):
            chunk = list(payment_ids[start : start + CHUNK])
            rows = await session.execute(select(Payment.id, *MARKED).where(Payment.id.in_(chunk)))
            for row in rows:
                found[row[0]] = tuple(row[1:])
    return found
