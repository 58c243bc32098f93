"""Helpers for the issue 11 end-to-end tests: billing settings, a subscription app, order reads."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.tables import Configuration, InvoiceReminder, OutboxMessage, Payment
from tests.fakes.saleor_model import Address, App, Line, Order, TransactionEvent
from tests.integration.e2e.test_sent_invoices import _ours as ours
from tests.integration.e2e.test_sent_invoices import _pay_in_full as pay_in_full
from tests.integration.e2e.test_sent_invoices import _transaction_for as transaction_for
from tests.integration.e2e.world import World

__all__ = ["ours", "pay_in_full", "transaction_for"]

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


def saleor_invoices(world: World, order_id: str) -> list[tuple[str | None, str | None, str, int]]:
    with world.saleor.lock:
        return [(i.number, i.url, i.status, i.sent_notifications) for i in world.saleor.order(order_id).invoices]


def notes(world: World, order_id: str) -> list[str]:
    with world.saleor.lock:
        return list(world.saleor.order(order_id).notes)


def app_events(world: World, transaction_id: str, type_: str) -> list[TransactionEvent]:
    return world.app_events(transaction_id, type_)


def manual_transaction(world: World, order: Order, name: str, amount_field: str, amount: int) -> None:
    """Money taken outside CoinPayments (cash: amountCharged; a card still pending: amountAuthorized)."""
    done = world.saleor.graphql(
        f'mutation($id: ID!) {{ transactionCreate(id: $id, transaction: {{name: "{name}", '
        f'{amount_field}: {{amount: {amount}, currency: "USD"}}}}) {{ errors {{ code }} }} }}',
        {"id": order.id},
        token=world.saleor_app.token,
    )
    assert done["data"]["transactionCreate"]["errors"] == []


def order_of(world: World, order_id: str) -> Order:
    return world.saleor.order(order_id)
