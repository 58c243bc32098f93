"""List invoices through the index: the same pages as a scan of every invoice would give, while a
call looks only at the invoices it returns and at most one more (listing.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from saleor_coinpayments.simulator.clock import SimClock
from saleor_coinpayments.simulator.currencies import CurrencyBook
from saleor_coinpayments.simulator.domain import Invoice
from saleor_coinpayments.simulator.engine import Engine
from saleor_coinpayments.simulator.problems import Problem
from saleor_coinpayments.simulator.validation import validate_create_v2

CLIENT = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"
OTHER = "f9e8d7c6b5a4938271605f4e3d2c1b0a"
T0 = datetime(2025, 3, 1, 2, 30, tzinfo=UTC)


class Wall:
    """A wall clock the test moves (and may move back)."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def make_engine(wall: Wall) -> Engine:
    engine = Engine(CurrencyBook.create(), SimClock(wall))
    engine.add_client(CLIENT, "secret")
    engine.add_client(OTHER, "secret")
    return engine


def create(engine: Engine, client: str = CLIENT, ref: str | None = None) -> Invoice:
    body: dict[str, Any] = {
        "currency": "5057",
        "items": [{"name": "W", "quantity": {"value": 1, "type": "quantity"}, "amount": "10.00"}],
        "amount": {"breakdown": {"subtotal": "10.00"}, "total": "10.00"},
        "payment": {"refundEmail": "buyer@example.com", "paymentCurrency": "1002"},
    }
    if ref is not None:
        body["invoiceId"] = ref
    return engine.create_invoice(engine.clients[client], validate_create_v2(body, engine.book, client), "http://sim")


def scan(engine: Engine, client: str = CLIENT, **filters: Any) -> list[str]:
    """What a scan of every invoice, newest first, keeps (the rule List follows)."""
    status, lo, hi = filters.get("status"), filters.get("created_from"), filters.get("created_to")
    merchant = engine.clients[client].merchant_id
    mine = [i for i in engine.invoices.values() if i.merchant_id == merchant]
    return [
        i.id
        for i in sorted(mine, key=lambda i: list(engine.invoices).index(i.id), reverse=True)
        if (status is None or i.status.lower() == status.lower())
        and (lo is None or i.created_at >= lo)
        and (hi is None or i.created_at <= hi)
    ]


def listed(engine: Engine, client: str = CLIENT, limit: int = 100, **filters: Any) -> tuple[list[str], int]:
    """Every page in turn: the ids, and how many invoices the calls looked at."""
    before, ids, after = engine.index.examined, [], None
    for _ in range(1000):
        page, after = engine.list_invoices(engine.clients[client], limit=limit, after=after, **filters)
        ids += [i.id for i in page]
        if after is None:
            return ids, engine.index.examined - before
    raise AssertionError("no last page")


def test_a_status_list_looks_only_at_invoices_in_that_status() -> None:
    engine = make_engine(Wall())
    made = [create(engine) for _ in range(300)]
    for invoice in (made[10], made[150], made[299]):
        engine.pay(invoice, "1002", "full", 2)  # → paid
    ids, examined = listed(engine, status="paid")
    assert ids == [made[299].id, made[150].id, made[10].id] == scan(engine, status="PAID")
    assert examined == 3
    ids, examined = listed(engine, status="Unpaid", limit=100)
    assert ids == scan(engine, status="unpaid")
    assert len(ids) == 297
    assert examined == 297 + 2  # each of the first two pages looked at one more, to know a next one exists


def test_a_page_after_a_cursor_starts_there() -> None:
    engine = make_engine(Wall())
    made = [create(engine) for _ in range(50)]
    before = engine.index.examined
    page, after = engine.list_invoices(engine.clients[CLIENT], limit=10, after=made[30].id)
    assert [i.id for i in page] == [m.id for m in reversed(made[20:30])]
    assert after == made[20].id
    assert engine.index.examined - before == 11


def test_creation_time_bounds_stop_the_walk_while_times_go_forward() -> None:
    wall = Wall()
    engine = make_engine(wall)
    for _ in range(100):
        create(engine)
        wall.now += timedelta(minutes=1)
    lo, hi = T0 + timedelta(minutes=60), T0 + timedelta(minutes=69)
    ids, examined = listed(engine, status="unpaid", created_from=lo, created_to=hi)
    assert ids == scan(engine, status="unpaid", created_from=lo, created_to=hi)
    assert len(ids) == 10
    assert examined == 11  # the ten, and the first one made before `from`


def test_a_clock_that_went_back_still_gives_every_match() -> None:
    wall = Wall()
    engine = make_engine(wall)
    for minute in (5, 1, 9, 3, 7, 2):
        wall.now = T0 + timedelta(minutes=minute)
        create(engine)
    lo, hi = T0 + timedelta(minutes=2), T0 + timedelta(minutes=7)
    ids, _ = listed(engine, limit=2, created_from=lo, created_to=hi)
    assert ids == scan(engine, created_from=lo, created_to=hi)
    assert len(ids) == 4


def test_an_invoice_moves_between_status_lists_and_cursors_are_the_merchants_own() -> None:
    engine = make_engine(Wall())
    mine, theirs = create(engine), create(engine, OTHER)
    engine.cancel(mine)
    assert listed(engine, status="unpaid")[0] == []
    assert listed(engine, status="cancelled")[0] == [mine.id]
    assert listed(engine, OTHER)[0] == [theirs.id]
    with pytest.raises(Problem) as refused:
        engine.list_invoices(engine.clients[CLIENT], after=theirs.id)
    assert refused.value.status == 400
    with pytest.raises(Problem):
        engine.list_invoices(engine.clients[CLIENT], after="7c9e6679-7425-40de-944b-e07fc1f90ae7")


def test_free_text_and_reset() -> None:
    engine = make_engine(Wall())
    made = [create(engine, ref=f"ORDER-{n}") for n in range(12)]
    page, after = engine.list_invoices(engine.clients[CLIENT], q="order-1", limit=2)
    assert [i.id for i in page] == [made[11].id, made[10].id]
    assert after == made[10].id
    page, after = engine.list_invoices(engine.clients[CLIENT], q="order-1", limit=2, after=after)
    assert [i.id for i in page] == [made[1].id]
    assert after is None
    engine.reset()
    assert listed(engine)[0] == []
    engine.cancel(made[0])  # an invoice a request still held across the reset: nothing to move
    assert listed(engine, status="cancelled")[0] == []
