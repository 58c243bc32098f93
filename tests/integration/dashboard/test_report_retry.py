"""The payment log warns about reports waiting for or refused by Saleor, and "Retry" re-queues a
payment's failed and expired reports (only its own, only of this installation)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from saleor_coinpayments.store.tables import OutboxMessage
from tests.integration.dashboard.conftest import Dashboard, insert_payment, with_session
from tests.integration.dashboard.test_payment_log import installation_id


def statuses(database_url: str, payment_id: str) -> list[str]:
    async def work(session: Any) -> list[str]:
        rows = await session.execute(
            select(OutboxMessage.status).where(OutboxMessage.payment_id == payment_id).order_by(OutboxMessage.dedup_key)
        )
        return list(rows.scalars())

    return with_session(database_url, work)


def test_warning_counts_and_retry_requeues_only_this_payments_given_up_reports(
    dashboard: Dashboard, database_url: str
) -> None:
    configuration = dashboard.create(channels=["web"])["configuration"]
    owner = installation_id(database_url, dashboard.saleor.api_url)
    stuck = insert_payment(
        database_url,
        installation_id=owner,
        configuration_id=configuration["id"],
        channel="web",
        invoice_id="INV-1",
        outbox=(
            ("delivered", None),
            ("failed", "PermissionDenied: HANDLE_PAYMENTS"),
            ("expired", "still failing: 503"),
        ),
    )
    other = insert_payment(
        database_url,
        installation_id=owner,
        configuration_id=configuration["id"],
        channel="web",
        invoice_id="INV-2",
        outbox=(("failed", "NOT_FOUND"), ("pending", "Saleor answered 503")),
    )

    log = dashboard.call("GET", "/payments").json()
    assert log["reports"]["failed"] == 2
    assert log["reports"]["expired"] == 1
    assert log["reports"]["pending"] == 1
    assert log["reports"]["oldest_pending_at"] is not None
    by_id = {p["id"]: p for p in log["payments"]}
    assert by_id[stuck]["reports"]["failed"] == 2  # refused and expired both need someone to look

    retried = dashboard.call("POST", f"/payments/{stuck}/retry-reports")
    assert retried.status_code == 200, retried.text
    assert retried.json()["requeued"] == 2
    assert retried.json()["payment"]["reports"]["waiting"] == 2
    assert statuses(database_url, stuck) == ["delivered", "pending", "pending"]
    assert statuses(database_url, other) == ["failed", "pending"]

    assert dashboard.call("POST", "/payments/no-such-payment/retry-reports").status_code == 404
