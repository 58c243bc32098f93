"""The outbox against the fake Saleor: delivered once and in order per transaction, retried while
Saleor is down (then expired, and re-queued by `outbox retry`), refusals kept, and a report that
may already have arrived checked before it is sent again."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from saleor_coinpayments.cli import main
from saleor_coinpayments.context import AppContext, app_context
from saleor_coinpayments.payments.delivery import event_reports
from saleor_coinpayments.payments.delivery.outbox import EventReport, OutboxRepository, backoff
from saleor_coinpayments.payments.delivery.outbox_commands import outbox_retry
from saleor_coinpayments.payments.delivery.outbox_worker import deliver_due
from saleor_coinpayments.settings import load_settings
from saleor_coinpayments.store.installations import InstallationRepository
from saleor_coinpayments.store.tables import OutboxMessage, OutboxStatus
from tests.fakes.saleor import FakeSaleor
from tests.fakes.saleor_model import Line
from tests.helpers.app_server import TEST_SECRET_KEY, RunningApp, app_in_thread
from tests.integration.store.test_store import _installation


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


def _settings(app: RunningApp, **overrides: Any) -> Any:
    return load_settings(
        database_url=app.settings.database_url,
        secret_key=TEST_SECRET_KEY,
        data_dir=app.settings.data_dir,
        **overrides,
    )


async def _enqueue(ctx: AppContext, reports: list[tuple[str, EventReport]]) -> None:
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


async def _rows(ctx: AppContext) -> list[OutboxMessage]:
    async with ctx.db.session() as session:
        return list((await session.execute(select(OutboxMessage).order_by(OutboxMessage.dedup_key))).scalars())


async def _drain(ctx: AppContext) -> int:
    """Passes until nothing is due; returns how many passes worked something."""
    passes = 0
    while await deliver_due(ctx):
        passes += 1
    return passes


async def _enqueue_and_deliver(
    app: RunningApp, reports: list[tuple[str, EventReport]], **overrides: Any
) -> list[OutboxMessage]:
    async with app_context(_settings(app, **overrides)) as ctx:
        await _enqueue(ctx, reports)
        await _drain(ctx)
        return await _rows(ctx)


def _report(transaction_id: str, type_: str, amount: str | None, psp: str = "INV-1", message: str = "") -> EventReport:
    return EventReport(
        transaction_id=transaction_id,
        type=type_,
        psp_reference=psp,
        amount=amount,
        message=message or f"{type_} from the test",
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


def test_reports_of_one_transaction_go_out_in_order_while_others_go_in_parallel(
    installed: tuple[FakeSaleor, RunningApp],
) -> None:
    saleor, app = installed
    first, second = _transaction(saleor), _transaction(saleor)
    reports = [
        (f"{i}-{n}", _report(t, "INFO", None, message=f"step {n}"))
        for n in range(4)
        for i, t in enumerate((first, second))
    ]

    async def scenario() -> list[int]:
        async with app_context(_settings(app)) as ctx:
            await _enqueue(ctx, reports)
            sizes = []
            while worked := await deliver_due(ctx):
                sizes.append(worked)
            return sizes

    # Each pass takes the oldest waiting report of each transaction: both transactions at once.
    assert asyncio.run(scenario()) == [2, 2, 2, 2]
    for transaction_id in (first, second):
        messages = [e.message for e in saleor.transaction(transaction_id).events if e.type == "INFO"]
        assert messages == [f"step {n}" for n in range(4)]


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
    assert row.queued_at is not None
    assert row.next_attempt_at >= row.queued_at + timedelta(seconds=1)  # tried again later, not at once
    assert "503" in (row.last_error or "")
    assert saleor.transaction(transaction_id).money("charged").amount == Decimal("0")


def test_backoff_grows_and_is_capped_at_ten_minutes() -> None:
    delays = [backoff(n).total_seconds() for n in range(1, 80)]
    assert delays == sorted(delays)
    assert delays[0] == 1
    assert max(delays) == 600
    assert backoff(5, cap_seconds=3).total_seconds() == 3


def test_a_report_still_failing_after_the_retry_window_expires_and_outbox_retry_brings_it_back(
    installed: tuple[FakeSaleor, RunningApp],
) -> None:
    saleor, app = installed
    transaction_id = _transaction(saleor)
    saleor.api_down = True
    # A retry window far shorter than one backoff step: the first transient failure is the last.
    [row] = asyncio.run(
        _enqueue_and_deliver(app, [("a", _report(transaction_id, "CHARGE_SUCCESS", "20.00"))], outbox_retry_hours=1e-9)
    )
    assert row.status == OutboxStatus.EXPIRED.value
    assert "503" in (row.last_error or "")
    assert "still failing" in (row.last_error or "")

    saleor.api_down = False
    settings = _settings(app)
    assert asyncio.run(outbox_retry(settings, ["no-such-row", row.id], all_failed=False)) == 1

    async def deliver() -> list[OutboxMessage]:
        async with app_context(settings) as ctx:
            await _drain(ctx)
            return await _rows(ctx)

    [row] = asyncio.run(deliver())
    assert row.status == OutboxStatus.DELIVERED.value
    assert saleor.transaction(transaction_id).money("charged").amount == Decimal("20.00")


def test_outbox_retry_all_failed_requeues_refusals_after_the_cause_is_fixed(
    installed: tuple[FakeSaleor, RunningApp],
) -> None:
    saleor, app = installed
    # A report on a transaction Saleor does not know: refused for good, until someone looks.
    rows = asyncio.run(_enqueue_and_deliver(app, [("a", _report("VHJhbnNhY3Rpb25JdGVtOjk5OTk=", "INFO", None))]))
    assert rows[0].status == OutboxStatus.FAILED.value
    assert "NOT_FOUND" in (rows[0].last_error or "")

    settings = _settings(app)
    assert asyncio.run(outbox_retry(settings, [], all_failed=True)) == 0

    async def status() -> str:
        async with app_context(settings) as ctx:
            return (await _rows(ctx))[0].status

    assert asyncio.run(status()) == OutboxStatus.PENDING.value
    assert asyncio.run(outbox_retry(settings, ["x"], all_failed=True)) == 2


def test_outbox_retry_command_line_refuses_no_target(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["outbox"])
    assert exit_info.value.code == 2
    assert "retry" in capsys.readouterr().err


def test_a_lost_answer_is_checked_before_the_report_is_sent_again(installed: tuple[FakeSaleor, RunningApp]) -> None:
    saleor, app = installed
    transaction_id = _transaction(saleor)
    saleor.lose_answers_to.add("transactionEventReport")

    async def scenario() -> list[OutboxMessage]:
        async with app_context(_settings(app, outbox_max_backoff_seconds=0.001)) as ctx:
            await _enqueue(ctx, [("a", _report(transaction_id, "INFO", None, message="funds detected"))])
            assert await deliver_due(ctx) == 1
            [row] = await _rows(ctx)
            assert row.status == OutboxStatus.PENDING.value
            assert "504" in (row.last_error or "")
            saleor.lose_answers_to.clear()
            while row.status == OutboxStatus.PENDING.value:
                await deliver_due(ctx)
                [row] = await _rows(ctx)
            return await _rows(ctx)

    [row] = asyncio.run(scenario())
    assert row.status == OutboxStatus.DELIVERED.value
    assert row.attempts == 2
    assert "already arrived" in (row.last_error or "")
    infos = [e for e in saleor.transaction(transaction_id).events if e.type == "INFO"]
    assert [e.message for e in infos] == ["funds detected"]


def test_a_try_that_never_reached_saleor_is_sent_after_the_check(installed: tuple[FakeSaleor, RunningApp]) -> None:
    saleor, app = installed
    transaction_id = _transaction(saleor)

    async def scenario() -> list[OutboxMessage]:
        async with app_context(_settings(app)) as ctx:
            await _enqueue(ctx, [("a", _report(transaction_id, "INFO", None, message="funds detected"))])
            async with ctx.db.session() as session:  # a replica claimed it and died before sending
                await session.execute(update(OutboxMessage).values(attempts=1))
            await _drain(ctx)
            return await _rows(ctx)

    [row] = asyncio.run(scenario())
    assert row.status == OutboxStatus.DELIVERED.value
    assert row.last_error is None
    infos = [e for e in saleor.transaction(transaction_id).events if e.type == "INFO"]
    assert [e.message for e in infos] == ["funds detected"]
    queries = [entry["query"] for entry in saleor.graphql_log]
    assert sum("query TransactionEvents" in q for q in queries) == 1


def test_an_event_is_matched_by_type_psp_reference_and_time() -> None:
    sent = _report("T", "INFO", None, psp="INV-9", message="m").variables()
    event = {"type": "INFO", "pspReference": "INV-9", "createdAt": sent["time"], "message": "other text"}
    assert event_reports.is_same_event(sent, event)
    later = (datetime.fromisoformat(sent["time"]) + timedelta(seconds=1)).isoformat()
    assert not event_reports.is_same_event(sent, {**event, "createdAt": later})
    assert not event_reports.is_same_event(sent, {**event, "type": "CHARGE_SUCCESS"})
    assert not event_reports.is_same_event(sent, {**event, "pspReference": "INV-8"})


@pytest.mark.asyncio
async def test_an_outcome_is_recorded_only_while_the_claim_is_ours(database_url: str, tmp_path: Path) -> None:
    settings = load_settings(database_url=database_url, secret_key=TEST_SECRET_KEY, data_dir=tmp_path)
    async with app_context(settings) as ctx:
        installation_id = await _installation(ctx.db)
        async with ctx.db.session() as session:
            await OutboxRepository(session).enqueue(
                installation_id=installation_id, payment_id=None, dedup_key="k", kind="x", payload={}
            )
        async with ctx.db.session() as session:
            [first] = await OutboxRepository(session).claim_due(5, timedelta(seconds=-1), "old")
        async with ctx.db.session() as session:  # the lease lapsed: another worker claims it
            [second] = await OutboxRepository(session).claim_due(5, timedelta(seconds=60), "new")
            assert await OutboxRepository(session).claim_due(5, timedelta(seconds=60), "third") == []
        async with ctx.db.session() as session:
            repository = OutboxRepository(session)
            assert not await repository.finish(first.id, "old", status=OutboxStatus.DELIVERED.value, note=None)
            assert await repository.finish(second.id, "new", status=OutboxStatus.DELIVERED.value, note=None)
        assert second.attempts == 2
