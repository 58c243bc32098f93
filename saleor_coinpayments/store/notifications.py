"""All SQL about received CoinPayments notifications (the de-duplicating inbox)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, update

from saleor_coinpayments.store.dialects import insert_or_ignore_statement
from saleor_coinpayments.store.point_writes import WriteStep
from saleor_coinpayments.store.tables import Notification, core_table, new_id
from saleor_coinpayments.store.types import utcnow

_NOTIFICATIONS = core_table(Notification)
# Built once, the values are parameters (named unlike any column: an UPDATE would SET those).
_MARK_HANDLED = (
    update(_NOTIFICATIONS)
    .where(_NOTIFICATIONS.c.source == bindparam("of_source"), _NOTIFICATIONS.c.external_id == bindparam("of_id"))
    .values(handled_at=bindparam("now"), outcome=bindparam("new_outcome"))
)


class NotificationRepository:
    """Point writes only (store/point_writes.py): both run on the hot path of every notification."""

    @staticmethod
    def record_step(
        postgres: bool, *, source: str, external_id: str, invoice_id: str | None, event_type: str, state: str | None
    ) -> WriteStep:
        """Store a notification once, as a point write: it changes no row when this source already
        sent this id."""
        statement = insert_or_ignore_statement(postgres, Notification, ["source", "external_id"])
        return statement, {
            "id": new_id(),
            "source": source,
            "external_id": external_id,
            "invoice_id": invoice_id,
            "event_type": event_type[:64],
            "state": state[:40] if state else None,
            "received_at": utcnow(),
        }

    @staticmethod
    def mark_handled_steps(notifications: Sequence[tuple[str, str]], outcome: str) -> list[WriteStep]:
        """Mark (source, external id) pairs handled with one outcome, as point writes."""
        now, outcome = utcnow(), outcome[:500]
        return [
            (_MARK_HANDLED, {"of_source": s, "of_id": i, "now": now, "new_outcome": outcome}) for s, i in notifications
        ]
