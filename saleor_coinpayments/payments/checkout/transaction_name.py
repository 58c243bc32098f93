"""A name staff recognise on checkout transactions ("CoinPayments" instead of "Transaction #1").

Saleor creates a checkout's transaction blank, and a session answer cannot name it; every
supported line has `transactionUpdate(transaction: {name})`. The call goes through the outbox
once per payment, queued with the first report about its money (no extra write on the buyer's
path, retried like any report). Sent-out invoices name theirs when they create it.
"""

from __future__ import annotations

from saleor_coinpayments.context import AppContext
from saleor_coinpayments.payments.delivery.outbox import queue_step
from saleor_coinpayments.payments.delivery.registry import DELIVERED, FAILED, Delivery, deliveries
from saleor_coinpayments.payments.payment_method import TRANSACTION_NAME
from saleor_coinpayments.saleor.client import describe_errors, mutation_errors
from saleor_coinpayments.saleor.schema import load_document
from saleor_coinpayments.store.fast_path import WriteStep
from saleor_coinpayments.store.installations import InstallationRecord
from saleor_coinpayments.store.tables import OutboxMessage, Payment

KIND = "transaction_name"


def naming_steps(payment: Payment) -> list[WriteStep]:
    """Once per checkout payment (the dedup key), written in the transition's own unit."""
    if payment.source_type != "checkout" or not payment.saleor_transaction_id:
        return []
    return [
        queue_step(
            installation_id=payment.installation_id,
            payment_id=payment.id,
            dedup_key=f"{payment.id}:{KIND}",
            kind=KIND,
            payload={"id": payment.saleor_transaction_id, "name": TRANSACTION_NAME},
        )
    ]


async def deliver(ctx: AppContext, installation: InstallationRecord, message: OutboxMessage) -> Delivery:
    data = await ctx.saleor.execute(
        installation.saleor_api_url,
        load_document("transaction_update_name"),
        {"id": message.payload["id"], "name": message.payload["name"]},
        token=installation.app_token,
    )
    errors = mutation_errors(data, "transactionUpdate")
    return (FAILED, describe_errors(errors)) if errors else (DELIVERED, None)


deliveries.register(KIND, deliver)
