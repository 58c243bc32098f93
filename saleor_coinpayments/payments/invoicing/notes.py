"""Notes on a Saleor order's history (`orderNoteAdd`), queued in the outbox: what the app did or
refused to do about an order's invoice, for the staff who look at the order."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from saleor_coinpayments.payments.delivery.outbox import OutboxRepository

ORDER_NOTE = "order_note"


async def queue_note(session: AsyncSession, installation_id: str, dedup: str, order_id: str, message: str) -> bool:
    """Queue a note once per `dedup` key (made of what the note is about); True if queued now."""
    return await OutboxRepository(session).enqueue(
        installation_id=installation_id,
        payment_id=None,
        dedup_key=f"{installation_id}:{ORDER_NOTE}:{dedup}"[:255],
        kind=ORDER_NOTE,
        payload={"order": order_id, "message": message[:5000]},
    )
