"""Helpers for the issue 11 end-to-end tests: billing settings, a subscription app, order reads."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.tables import Configuration, InvoiceReminder, OutboxMessage, Payment
from tests.fakes.saleor_model import Address, App, Line, Order, TransactionEvent, TransactionItem
from tests.integration.e2e.world import World, eventually

COIN = "1002"


def set_billing(
    world: World, *, new_orders: bool = True, due_days: int = 7, reminders: list[int] | None = None
) -> None:
    """The configuration's sent-out invoice settings, written as `config set` would store them."""

    async def run() -> None:
        db = Database(world.app.settings.database_url)
        try:
            async with db.session() as session:
                await session.execute(
                    update(Configuration).values(
                        invoice_new_orders=new_orders, invoice_due_days=due_days, invoice_reminders=reminders or []
                    )
                )
        finally:
            await db.dispose()

    asyncio.run(run())


def rows(world: World, table: Any) -> list[Any]:
    async def run() -> list[Any]:
        db = Database(world.app.settings.database_url)
        try:
            async with db.session() as session:
                return list((await session.execute(select(table))).scalars())
        finally:
            await db.dispose()

    return asyncio.run(run())


def payments(world: World) -> list[Payment]:
    return rows(world, Payment)


def reminders(world: World) -> list[InvoiceReminder]:
    return sorted(rows(world, InvoiceReminder), key=lambda r: r.due_at)


def outbox(world: World) -> list[OutboxMessage]:
    return rows(world, OutboxMessage)


def subscription_app(world: World) -> App:
    """Another app in the same Saleor (a subscription service) that creates orders."""
    with world.saleor.lock:
        model = world.saleor.model
        app = App(
            pk=model.next_pk(),
            identifier="subscriptions.example",
            name="Subscriptions",
            token=model.new_app_token(),
            permissions={"MANAGE_ORDERS"},
        )
        model.apps.append(app)
        return app


def lines(total: str = "70.00") -> list[Line]:
    return [Line("Monthly plan", "Pro", "PLAN-PRO", 1, Decimal(total), Decimal(total))]


def order_options(**options: Any) -> dict[str, Any]:
    options.setdefault("email", "jan.kowalski@example.com")
    options.setdefault("billing_address", Address(first_name="Jan", last_name="Kowalski"))
    return options


def ours(world: World, order_id: str) -> list[TransactionItem]:
    with world.saleor.lock:
        return [t for t in world.saleor.order(order_id).transactions if t.app is world.saleor_app]


def transaction_for(world: World, order_id: str, invoice_id: str) -> TransactionItem:
    def find() -> TransactionItem | None:
        return next((t for t in ours(world, order_id) if t.psp_reference == invoice_id), None)

    return eventually(find, what=f"transaction {invoice_id} on the order")


def saleor_invoices(world: World, order_id: str) -> list[tuple[str | None, str | None, str, int]]:
    with world.saleor.lock:
        return [(i.number, i.url, i.status, i.sent_notifications) for i in world.saleor.order(order_id).invoices]


def notes(world: World, order_id: str) -> list[str]:
    with world.saleor.lock:
        return list(world.saleor.order(order_id).notes)


def app_events(world: World, transaction_id: str, type_: str) -> list[TransactionEvent]:
    return world.app_events(transaction_id, type_)


def pay_in_full(world: World, invoice_id: str) -> None:
    world.sim.pay(invoice_id, "full", confirmations=0, currency=COIN)
    needed = world.sim.invoice(invoice_id)["payment"]["wallets"][0]["requiredConfirmations"]
    world.sim.confirm(invoice_id, needed)


def order_of(world: World, order_id: str) -> Order:
    return world.saleor.order(order_id)
