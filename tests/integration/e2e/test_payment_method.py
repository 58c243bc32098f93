"""Issue #27: the buyer's coin on the Saleor transaction (`paymentMethodDetails`, Saleor 3.22+).

The checkout's transaction is also named "CoinPayments" on every line (`transactionUpdate`).
Once the coin is known (chosen on the pay page / `paymentCurrency`, or the coin money came in),
session answers carry `{"type": "OTHER", "name": …}` and event reports `{other: {name}}`, checked by
the fake Saleor as 3.23 checks them and stored on its transaction. A 3.20 installation gets neither:
its fake refuses the report argument as 3.20 does (unknown type, the report fails) and notes any
answer key it would pass over (`ignored_answer_keys`), so sending it there fails these tests.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.tables import Installation
from tests.fakes.saleor import SALEOR_3_20, SALEOR_VERSION
from tests.integration.e2e.world import World, eventually, running_world


@pytest.fixture(params=[SALEOR_3_20, SALEOR_VERSION], ids=["saleor-3.20", "saleor-newest"])
def world(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Iterator[World]:
    with running_world(database_url, tmp_path, saleor_version=request.param, process_refresh_min_seconds=0) as running:
        yield running


def _takes_details(world: World) -> bool:
    return world.saleor.version == SALEOR_VERSION


def _last_answer(world: World, event: str) -> dict[str, Any]:
    delivery = [d for d in world.saleor.deliveries if d.event == event][-1]
    answer = json.loads(delivery.response_body)
    assert isinstance(answer, dict)
    return answer


def _reports(world: World) -> list[dict[str, Any]]:
    """The variables of every transactionEventReport the app sent, and what Saleor answered."""
    return [
        {**(entry["variables"] or {}), "_response": entry["response"]}
        for entry in list(world.saleor.graphql_log)
        if "transactionEventReport(" in entry["query"]
    ]


def _stored_schema_version(world: World) -> str | None:
    async def read() -> str | None:
        db = Database(world.app.settings.database_url)
        try:
            async with db.session() as session:
                [row] = (await session.execute(Installation.__table__.select())).all()
                return row.saleor_schema_version  # type: ignore[no-any-return]
        finally:
            await db.dispose()

    return asyncio.run(read())


def test_the_chosen_coin_names_the_payment_method_on_lines_that_take_it(world: World) -> None:
    assert _stored_schema_version(world) == world.saleor.schema_version  # from registration's header
    checkout = world.checkout("20.00")
    started = world.initialize(checkout.id)
    assert started.event.type == "CHARGE_ACTION_REQUIRED", started.event.message
    assert "paymentMethodDetails" not in _last_answer(world, "transaction_initialize_session")  # no coin yet
    transaction_id, invoice_id = started.transaction.id, started.event.psp_reference

    chosen = world.saleor.transaction_process(transaction_id, data={"paymentCurrency": "LTCT"})
    assert chosen.event.type == "CHARGE_ACTION_REQUIRED", chosen.event.message
    coin = chosen.data["payment"]["currency"]
    name = f"{coin['name']} (LTCT) via CoinPayments"
    answer = _last_answer(world, "transaction_process_session")
    with world.saleor.lock:
        stored = world.transaction(transaction_id).payment_method_details
    if _takes_details(world):
        assert answer["paymentMethodDetails"] == {"type": "OTHER", "name": name}
        assert stored == {"type": "OTHER", "name": name}
    else:
        assert "paymentMethodDetails" not in answer
        assert stored is None

    world.sim.pay(invoice_id, "full", confirmations=0, currency="1002")
    needed = world.sim.invoice(invoice_id)["payment"]["wallets"][0]["requiredConfirmations"]
    world.sim.confirm(invoice_id, needed)
    eventually(lambda: world.app_events(transaction_id, "CHARGE_SUCCESS"), what="CHARGE_SUCCESS")
    # the Dashboard shows "CoinPayments" instead of "Transaction #1", on every line
    eventually(lambda: world.transaction(transaction_id).name == "CoinPayments", what="the transaction's name")
    reports = _reports(world)
    assert reports
    assert all("errors" not in r["_response"] for r in reports), reports
    if _takes_details(world):
        assert all(r["paymentMethodDetails"] == {"other": {"name": name}} for r in reports), reports
    else:
        assert all("paymentMethodDetails" not in r for r in reports), reports
    assert world.saleor.ignored_answer_keys == []


def test_the_coin_money_came_in_names_it_without_a_choice(world: World) -> None:
    checkout = world.checkout("20.00")
    started = world.initialize(checkout.id)
    transaction_id, invoice_id = started.transaction.id, started.event.psp_reference
    world.sim.pay(invoice_id, "full", confirmations=0, currency="1002")
    needed = world.sim.invoice(invoice_id)["payment"]["wallets"][0]["requiredConfirmations"]
    world.sim.confirm(invoice_id, needed)
    eventually(lambda: world.app_events(transaction_id, "CHARGE_SUCCESS"), what="CHARGE_SUCCESS")
    reports = _reports(world)
    assert all("errors" not in r["_response"] for r in reports), reports
    named = [r.get("paymentMethodDetails") for r in reports]
    if _takes_details(world):
        assert named[-1] == {"other": {"name": "LTCT via CoinPayments"}}, named
        with world.saleor.lock:
            assert world.transaction(transaction_id).payment_method_details == {
                "type": "OTHER",
                "name": "LTCT via CoinPayments",
            }
    else:
        assert named == [None] * len(named)
    assert world.saleor.ignored_answer_keys == []
