"""Issue #12 "Done when": background work across `serve` replicas on PostgreSQL, with the simulator
and the fake Saleor (the SIGTERM test runs on SQLite too). Nothing here asserts on time: waits are
for conditions, and settings shorten the backoff and the leases instead of sleeping."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from saleor_coinpayments.payments.delivery.outbox import EVENT_REPORT
from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.tables import OutboxMessage, OutboxStatus, Payment
from tests.helpers.app_server import start_app_process
from tests.helpers.commands import CommandProcess
from tests.helpers.servers import free_port
from tests.integration.e2e.world import World, eventually, running_world

FAST = {
    "outbox_interval_seconds": 0.1,
    "reconcile_interval_seconds": 0.3,
    "outbox_lease_seconds": 2.0,
    "reconcile_lease_seconds": 5.0,
    "outbox_max_backoff_seconds": 0.2,
    "shutdown_grace_seconds": 2.0,
}
OLD_GIVE_UP_ATTEMPTS = 12  # OUTBOX_MAX_ATTEMPTS before #12: ~18 minutes of backoff


def _postgres_only(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several replicas need PostgreSQL (run with TEST_DATABASE=postgresql)")


@contextmanager
def _replicas(world: World, count: int, **overrides: Any) -> Iterator[list[CommandProcess]]:
    """`count` more `serve` processes on the world's database (SIGKILLed at the end)."""
    processes: list[CommandProcess] = []
    try:
        for _ in range(count):
            settings = world.app.settings.model_copy(update={"port": free_port(), **overrides})
            processes.append(start_app_process(settings))
        yield processes
    finally:
        for process in processes:
            process.kill()
            process.wait(timeout=10)


def _start(world: World) -> tuple[str, str]:
    """A checkout with an invoice: (transaction id, invoice id)."""
    started = world.initialize(world.checkout("20.00").id)
    assert started.event.type == "CHARGE_ACTION_REQUIRED", started.event.message
    return started.transaction.id, started.event.psp_reference


def _reports(world: World) -> list[OutboxMessage]:
    """Every event report in the outbox, oldest first."""

    async def read() -> list[OutboxMessage]:
        db = Database(world.app.settings.database_url)
        try:
            async with db.session() as session:
                query = (
                    select(OutboxMessage)
                    .where(OutboxMessage.kind == EVENT_REPORT)
                    .order_by(OutboxMessage.created_at, OutboxMessage.id)
                )
                return list((await session.execute(query)).scalars())
        finally:
            await db.dispose()

    return asyncio.run(read())


def _payments_read(world: World) -> int:
    async def read() -> int:
        db = Database(world.app.settings.database_url)
        try:
            async with db.session() as session:
                rows = await session.execute(select(Payment.last_checked_at))
                return sum(1 for (checked,) in rows.all() if checked is not None)
        finally:
            await db.dispose()

    return asyncio.run(read())


def _exactly_once(world: World, transactions: list[tuple[str, str]]) -> None:
    """Each report made arrived once: one CHARGE_SUCCESS, and the INFO when detection was seen."""
    made = _reports(world)
    for transaction_id, invoice_id in transactions:
        infos = sum(r.ordering_key == transaction_id and r.payload["type"] == "INFO" for r in made)
        assert len(world.app_events(transaction_id, "INFO")) == infos, transaction_id
        [success] = world.app_events(transaction_id, "CHARGE_SUCCESS")
        assert success.amount_value == Decimal("20.00")
        assert success.psp_reference == invoice_id
        assert world.transaction(transaction_id).money("charged").amount == Decimal("20.00")


def _pay_detected(world: World, transactions: list[tuple[str, str]]) -> None:
    for _, invoice_id in transactions:
        world.sim.pay(invoice_id, "full", confirmations=1, currency="1002")


def _confirm(world: World, transactions: list[tuple[str, str]]) -> None:
    for _, invoice_id in transactions:
        world.sim.confirm(invoice_id, 6)


def test_saleor_down_longer_than_the_old_give_up_then_every_report_arrives_once(
    database_url: str, tmp_path: Path
) -> None:
    _postgres_only(database_url)
    with running_world(database_url, tmp_path, **FAST) as world, _replicas(world, 2):
        transactions = [_start(world) for _ in range(5)]
        world.saleor.api_down = True
        _pay_detected(world, transactions)
        _confirm(world, transactions)

        def all_retried_past_the_old_limit() -> bool:
            reports = _reports(world)
            heads = {r.ordering_key: r for r in reversed(reports)}  # the oldest report per transaction
            return (
                sum(r.payload["type"] == "CHARGE_SUCCESS" for r in reports) == len(transactions)
                and all(r.status == OutboxStatus.PENDING.value for r in reports)
                and len(heads) == len(transactions)
                and all(head.attempts > OLD_GIVE_UP_ATTEMPTS for head in heads.values())
            )

        eventually(all_retried_past_the_old_limit, timeout=120, what="reports retried past the old give-up")
        assert all(w == [] for w in (world.app_events(t, "INFO") for t, _ in transactions))
        # A CHARGE_SUCCESS behind an INFO never overtook it.
        reports = _reports(world)
        behind = [
            r for r in reports if any(e.ordering_key == r.ordering_key and e.created_at < r.created_at for e in reports)
        ]
        assert all(r.attempts == 0 for r in behind)

        world.saleor.api_down = False
        for transaction_id, _ in transactions:
            eventually(lambda t=transaction_id: world.app_events(t, "CHARGE_SUCCESS"), timeout=60, what="report")
        world.settled()
        _exactly_once(world, transactions)
        assert {r.status for r in _reports(world)} == {OutboxStatus.DELIVERED.value}


def test_reports_of_one_transaction_arrive_in_order_while_many_go_in_parallel(
    database_url: str, tmp_path: Path
) -> None:
    _postgres_only(database_url)
    # Leases long enough that no stall of this busy machine lets one lapse while an INFO is held.
    settings = {**FAST, "outbox_lease_seconds": 30.0}
    with running_world(database_url, tmp_path, **settings) as world, _replicas(world, 2):
        world.saleor.latency_seconds = 0.3  # a real Saleor takes 0.2–0.7 s per mutation
        transactions = [_start(world) for _ in range(8)]
        # Every INFO reaches Saleor, but the answers wait: all are in flight at once, on any replica.
        world.saleor.hold_answers_to.add("transactionEventReport")
        _pay_detected(world, transactions)
        eventually(lambda: world.saleor.held_answers >= len(transactions), timeout=60, what="INFOs in parallel")
        _confirm(world, transactions)

        def charges_queued() -> list[OutboxMessage]:
            charges = [r for r in _reports(world) if r.payload["type"] == "CHARGE_SUCCESS"]
            return charges if len(charges) == len(transactions) else []

        # Each CHARGE_SUCCESS waits behind its transaction's INFO, however many replicas are idle.
        assert all(charge.attempts == 0 for charge in eventually(charges_queued, timeout=60, what="charges"))
        world.saleor.hold_answers_to.clear()
        for transaction_id, _ in transactions:
            eventually(lambda t=transaction_id: world.app_events(t, "CHARGE_SUCCESS"), timeout=60, what="report")
        world.settled()
        _exactly_once(world, transactions)

        reports = _reports(world)
        for transaction_id, _ in transactions:
            made = [(r.payload["type"], r.payload["pspReference"]) for r in reports if r.ordering_key == transaction_id]
            arrived = [(e.type, e.psp_reference) for e in world.events(transaction_id) if e.app is not None]
            assert [t for t, _ in made] == ["INFO", "CHARGE_SUCCESS"]
            assert arrived[-len(made) :] == made, transaction_id
        assert world.saleor.max_in_flight >= len(transactions)


def test_summed_coinpayments_rate_per_client_id_stays_under_the_limit(database_url: str, tmp_path: Path) -> None:
    _postgres_only(database_url)
    limit = 8
    settings = {**FAST, "coinpayments_rate_limit_per_second": limit, "reconcile_interval_seconds": 0.1}
    with running_world(database_url, tmp_path, **settings) as world, _replicas(world, 2):
        # CoinPayments' own limit (docs/reference/coinpayments.md#rate-limit), at the same rate: the simulator's
        # token bucket, 429 beyond it.
        world.sim.faults(rateLimitPerSecond=limit)
        transactions = [_start(world) for _ in range(12)]
        world.sim.control("DELETE", "/api-rate")
        # Twelve invoices due every 0.1 s want 120 reads a second: the limiter has to hold back.
        eventually(
            lambda: (
                world.sim.control("GET", "/api-rate")["clients"].get(world.sim.client_id, {}).get("requests", 0)
                >= 6 * limit
            ),
            timeout=120,
            what="reads at the limit",
        )
        counted = world.sim.control("GET", "/api-rate")["clients"][world.sim.client_id]
        assert counted["rateLimited"] == 0
        assert _payments_read(world) == len(transactions)  # every configuration's invoices got read
        assert counted["maxPerSecond"] <= limit  # slots leave 60 ms for a late start and the way (ratelimit.py)


def test_a_replica_killed_between_saleors_answer_and_the_row_update_loses_and_doubles_nothing(
    database_url: str, tmp_path: Path
) -> None:
    _postgres_only(database_url)
    with running_world(database_url, tmp_path, **FAST) as world:
        transactions = [_start(world) for _ in range(4)]
        # Saleor applies each INFO, but its answer waits: the replica dies before it can record it.
        world.saleor.hold_answers_to.add("transactionEventReport")
        _pay_detected(world, transactions)
        eventually(lambda: world.saleor.held_answers >= len(transactions), timeout=60, what="INFOs applied")
        world.app_process_kill()
        world.saleor.hold_answers_to.clear()

        with _replicas(world, 2):
            _confirm(world, transactions)
            for transaction_id, _ in transactions:
                eventually(lambda t=transaction_id: world.app_events(t, "CHARGE_SUCCESS"), timeout=60, what="report")
            world.settled()
            _exactly_once(world, transactions)
            reports = _reports(world)
            assert {r.status for r in reports} == {OutboxStatus.DELIVERED.value}
            checked = [r for r in reports if "already arrived" in (r.last_error or "")]
            assert len(checked) >= len(transactions)  # each INFO found in Saleor, not sent again


def test_sigterm_releases_work_in_flight_within_the_grace_period_and_exits_0(database_url: str, tmp_path: Path) -> None:
    with running_world(database_url, tmp_path, **FAST) as world:
        [transaction] = [_start(world)]
        world.saleor.hold_answers_to.add("transactionEventReport")
        _pay_detected(world, [transaction])
        eventually(lambda: world.saleor.held_answers >= 1, timeout=60, what="an INFO in flight")

        assert world.app.process is not None
        world.app.process.send_signal(signal.SIGTERM)
        # The held answer never comes while it runs: exiting proves the grace period cut it short.
        assert world.app.process.wait(timeout=60) == 0
        [report] = _reports(world)
        assert report.status == OutboxStatus.PENDING.value
        assert report.claim_token is None  # released, not left to its lease

        world.saleor.hold_answers_to.clear()
        with _replicas(world, 1):
            eventually(lambda: _reports(world)[0].status == OutboxStatus.DELIVERED.value, timeout=60, what="delivered")
        assert len(world.app_events(transaction[0], "INFO")) == 1
