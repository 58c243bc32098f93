"""The outbox against the fake Saleor: delivered once, retried while Saleor is down, failures kept."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from saleor_coinpayments.context import app_context
from saleor_coinpayments.payments.delivery.outbox import EventReport, OutboxRepository, backoff, deliver_due
from saleor_coinpayments.settings import load_settings
from saleor_coinpayments.store.installations import InstallationRepository
from saleor_coinpayments.store.tables import OutboxMessage, OutboxStatus
from tests.fakes.saleor import FakeSaleor
from tests.fakes.saleor_model import Line
from tests.helpers.app_server import TEST_SECRET_KEY, RunningApp, app_in_thread


@pytest.fixture
def installed(database_url: str, tmp_path: Path) -> Iterator[tuple[FakeSaleor, RunningApp]]:
    with FakeSaleor.serve() as saleor, app_in_thread(database_url, tmp_path, run_workers=False) as app:
        saleor.install_app(app.manifest_url)
        yield saleor, app


def _transaction(saleor: FakeSaleor) -> str:
    """A transaction owned by our app: a checkout initialized through the gateway."""
    checkout = saleor.create_checkout([Line("Mug", "M", "MUG", 1, Decimal("20.00"))])
    result = saleor.transaction_initialize(checkout.id, gateway="saleor.coinpayments")
    assert result.transaction is not None
    return str(result.transaction.id)


async def _enqueue_and_deliver(app: RunningApp, reports: list[tuple[str, EventReport]]) -> list[OutboxMessage]:
    settings = load_settings(
        database_url=app.settings.database_url, secret_key=TEST_SECRET_KEY, data_dir=app.settings.data_dir
    )
    async with app_context(settings) as ctx:
        async with ctx.db.session() as session:
            [installation] = await InstallationRepository(session, ctx.box).list_all()
            outbox = OutboxRepository(session)
            for key, report in reports:
                await outbox.enqueue(
                    installation_id=installation.id,
                    payment_id=None,
                    dedup_key=key,
                    kind="transaction_event_report",
                    payload=report.variables(),
                )
        await deliver_due(ctx)
        async with ctx.db.session() as session:
            return list((await session.execute(select(OutboxMessage).order_by(OutboxMessage.dedup_key))).scalars())


def _report(transaction_id: str, type_: str, amount: str | None, psp: str = "INV-1") -> EventReport:
    return EventReport(
        transaction_id=transaction_id,
        type=type_,
        psp_reference=psp,
        amount=amount,
        message=f"{type_} from the test",
        time=datetime.now(UTC),
    )


def test_reports_are_delivered_and_already_processed_counts_as_delivered(
    installed: tuple[FakeSaleor, RunningApp],
) -> None:
    saleor, app = installed
    transaction_id = _transaction(saleor)
    rows = asyncio.run(
        _enqueue_and_deliver(
            app,
            [
                ("a", _report(transaction_id, "CHARGE_SUCCESS", "20.00")),
                ("b", _report(transaction_id, "CHARGE_SUCCESS", "20.00")),
                ("c", _report(transaction_id, "INFO", None)),
            ],
        )
    )
    assert [row.status for row in rows] == [OutboxStatus.DELIVERED.value] * 3
    transaction = saleor.transaction(transaction_id)
    assert [e.type for e in transaction.events].count("CHARGE_SUCCESS") == 1
    assert transaction.money("charged").amount == Decimal("20.00")


def test_a_refusal_is_kept_as_failed_and_not_retried(installed: tuple[FakeSaleor, RunningApp]) -> None:
    saleor, app = installed
    transaction_id = _transaction(saleor)
    rows = asyncio.run(
        _enqueue_and_deliver(
            app,
            [
                ("a", _report(transaction_id, "CHARGE_SUCCESS", "20.00")),
                ("b", _report(transaction_id, "CHARGE_SUCCESS", "15.00")),
            ],
        )
    )
    assert rows[0].status == OutboxStatus.DELIVERED.value
    assert rows[1].status == OutboxStatus.FAILED.value
    assert rows[1].attempts == 1
    assert "INCORRECT_DETAILS" in (rows[1].last_error or "")


def test_saleor_down_means_retry_later_with_backoff(installed: tuple[FakeSaleor, RunningApp]) -> None:
    saleor, app = installed
    transaction_id = _transaction(saleor)
    saleor.api_down = True
    [row] = asyncio.run(_enqueue_and_deliver(app, [("a", _report(transaction_id, "CHARGE_SUCCESS", "20.00"))]))
    assert row.status == OutboxStatus.PENDING.value
    assert row.attempts == 1
    assert row.next_attempt_at > datetime.now(UTC)
    assert "503" in (row.last_error or "")
    assert saleor.transaction(transaction_id).money("charged").amount == Decimal("0")


def test_backoff_grows_and_is_capped() -> None:
    delays = [backoff(n).total_seconds() for n in range(1, 12)]
    assert delays == sorted(delays)
    assert delays[0] == 1
    assert max(delays) == 300
