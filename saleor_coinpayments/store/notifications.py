"""All SQL about received CoinPayments notifications (the de-duplicating inbox), and the receipt
that records one and makes its payment due."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, bindparam, case, false, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from saleor_coinpayments.store.fast_path import FastPath, HotStatement, WriteStep
from saleor_coinpayments.store.tables import Notification, Payment, core_table, new_id
from saleor_coinpayments.store.types import utcnow

_NOTIFICATIONS = core_table(Notification)
_PAYMENTS = core_table(Payment)


def _recorded_row(
    source: str, external_id: str, invoice_id: str | None, event_type: str, state: str | None, received_at: datetime
) -> dict[str, Any]:
    """A notification's stored values: the SQLite insert's, and by their names the PostgreSQL receipt's
    insert, so a column added here cannot be dropped there."""
    return {
        "id": new_id(),
        "source": source,
        "external_id": external_id,
        "invoice_id": invoice_id,
        "event_type": event_type[:64],
        "state": state[:40] if state else None,
        "received_at": received_at,
    }


_RECORDED_COLUMNS = tuple(_recorded_row("", "", None, "", None, datetime.min))

# Built once, the values are parameters (named unlike any column: an UPDATE would SET those).
_MARK_HANDLED = HotStatement.of(
    update(_NOTIFICATIONS)
    .where(_NOTIFICATIONS.c.source == bindparam("of_source"), _NOTIFICATIONS.c.external_id == bindparam("of_id"))
    .values(handled_at=bindparam("now"), outcome=bindparam("new_outcome"))
)
_RECORD = HotStatement.insert_or_ignore(Notification, ["source", "external_id"])


# The notification route re-reads the invoice at once itself; the reconciler reads it only if that
# read has not happened within READ_COVER (the process died, or CoinPayments did not answer), so a
# slow read is not made twice.
READ_COVER = timedelta(seconds=15)
# Typed: where a parameter stands alone (a CASE's result) SQLAlchemy cannot infer its type, and the
# driver would get a bare datetime (sqlite3's default adapter for it is deprecated since 3.12).
_NOW = bindparam("now", type_=_PAYMENTS.c.updated_at.type)
_COVER = bindparam("cover", type_=_PAYMENTS.c.next_check_at.type)
_COVERED = and_(
    _PAYMENTS.c.is_final.is_(false()),
    _PAYMENTS.c.saleor_transaction_id.is_not(None),
    or_(_PAYMENTS.c.next_check_at.is_(None), _PAYMENTS.c.next_check_at > _COVER),
)

# The receipt's payment: the invoice's, of the installation whose configuration verified the
# notification, made due a re-read now; it gives back what that re-read needs to know.
_NOTIFIED_PAYMENT = (
    update(_PAYMENTS)
    .where(
        _PAYMENTS.c.invoice_id == bindparam("of_invoice"),
        _PAYMENTS.c.installation_id == bindparam("of_installation"),
    )
    .values(
        last_notification_at=_NOW,
        # Due within READ_COVER (unless due sooner, or there is nothing to read: final, or a sent-out
        # invoice without its transaction).
        next_check_at=case((_COVERED, _COVER), else_=_PAYMENTS.c.next_check_at),
        read_by=case((_COVERED, _COVER), else_=_PAYMENTS.c.read_by),
        updated_at=_NOW,
    )
    .returning(_PAYMENTS.c.id, _PAYMENTS.c.configuration_id, _PAYMENTS.c.saleor_transaction_id)
)


def _receipt_in_one_statement() -> Select[Any]:
    """PostgreSQL: both writes in one statement (one round trip, atomic), as data-modifying CTEs,
    which run once and to completion whatever the outer SELECT reads of them."""
    notified = _NOTIFIED_PAYMENT.cte("notified")
    recorded = (
        pg_insert(_NOTIFICATIONS)
        .values({name: bindparam(name) for name in _RECORDED_COLUMNS})
        .on_conflict_do_nothing(index_elements=["source", "external_id"])
        .returning(_NOTIFICATIONS.c.id)
        .cte("recorded")
    )
    return select(
        *(select(column).scalar_subquery() for column in notified.c),
        select(func.count()).select_from(recorded).scalar_subquery(),
    )


_RECEIPT = HotStatement.of(_receipt_in_one_statement())  # PostgreSQL only
_NOTIFY_PAYMENT = HotStatement.of(_NOTIFIED_PAYMENT)


@dataclass(frozen=True)
class Receipt:
    """The payment the notification made due (None if its invoice is not this installation's), and
    whether this source had not sent this notification before."""

    payment_id: str | None
    configuration_id: str | None
    saleor_transaction_id: str | None
    recorded: bool


class NotificationRepository:
    """Fast-path statements only (store/fast_path.py): both run on the hot path of every notification."""

    @staticmethod
    def record_step(
        *,
        source: str,
        external_id: str,
        invoice_id: str | None,
        event_type: str,
        state: str | None,
        received_at: datetime | None = None,
    ) -> WriteStep:
        """Store a notification once: it changes no row when this source already sent this id."""
        return _RECORD, _recorded_row(source, external_id, invoice_id, event_type, state, received_at or utcnow())

    @staticmethod
    async def receive(
        fast: FastPath,
        *,
        installation_id: str,
        source: str,
        external_id: str,
        invoice_id: str,
        event_type: str,
        state: str | None,
    ) -> Receipt:
        """Record a notification once and make its invoice's payment due a re-read within READ_COVER,
        in one unit (one statement on PostgreSQL). A duplicate does so again, which is harmless."""
        now = utcnow()
        payment = {"of_invoice": invoice_id, "of_installation": installation_id, "now": now, "cover": now + READ_COVER}
        statement, recorded = NotificationRepository.record_step(
            source=source,
            external_id=external_id,
            invoice_id=invoice_id,
            event_type=event_type,
            state=state,
            received_at=now,
        )
        async with fast.unit(atomic=False) as unit:
            if fast.is_postgres:
                row = await unit.fetch_one(_RECEIPT, payment | recorded)
                assert row is not None  # a SELECT of scalar subqueries gives one row
                payment_id, configuration_id, transaction_id, count = row
            else:
                notified = await unit.fetch_one(_NOTIFY_PAYMENT, payment)
                payment_id, configuration_id, transaction_id = notified or (None, None, None)
                count = await unit.execute(statement, recorded)
        return Receipt(payment_id, configuration_id, transaction_id, recorded=count > 0)

    @staticmethod
    def mark_handled_steps(notifications: Sequence[tuple[str, str]], outcome: str) -> list[WriteStep]:
        """Mark (source, external id) pairs handled with one outcome (fast-path statements)."""
        now, outcome = utcnow(), outcome[:500]
        return [
            (_MARK_HANDLED, {"of_source": s, "of_id": i, "now": now, "new_outcome": outcome}) for s, i in notifications
        ]
