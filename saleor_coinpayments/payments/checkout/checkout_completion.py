"""An order for money received, even when the buyer never comes back (DESIGN.md "Payment states").

When a credit makes a checkout paid, the app queues `checkoutComplete` for later (after
CHECKOUT_COMPLETE_AFTER_SECONDS, so a returning buyer's storefront completes it first). A checkout
that is gone by then (completed by the storefront, or by Saleor's own automatic completion) or
not fully paid is left alone; only other refusals are kept as failed.
"""

from __future__ import annotations

from datetime import timedelta

from saleor_coinpayments.context import AppContext
from saleor_coinpayments.payments.delivery.outbox import queue_step
from saleor_coinpayments.payments.delivery.registry import DELIVERED, FAILED, Delivery, deliveries
from saleor_coinpayments.saleor.client import describe_errors, mutation_errors
from saleor_coinpayments.saleor.schema import load_document
from saleor_coinpayments.store.fast_path import WriteStep
from saleor_coinpayments.store.installations import InstallationRecord
from saleor_coinpayments.store.tables import OutboxMessage, Payment
from saleor_coinpayments.store.types import utcnow

KIND = "checkout_complete"
LEFT_ALONE = {"NOT_FOUND": "the checkout is gone (already completed)", "CHECKOUT_NOT_FULLY_PAID": "not fully paid"}


def completion_steps(ctx: AppContext, payment: Payment) -> list[WriteStep]:
    """Once per checkout payment, after the configured delay; nothing when the delay is 0. Written
    in the transition's own unit (payments/refresh.py)."""
    delay = ctx.settings.checkout_complete_after_seconds
    if payment.source_type != "checkout" or delay <= 0:
        return []
    return [
        queue_step(
            installation_id=payment.installation_id,
            payment_id=payment.id,
            dedup_key=f"{payment.id}:{KIND}",
            kind=KIND,
            payload={"id": payment.source_id},
            not_before=utcnow() + timedelta(seconds=delay),
        )
    ]


async def deliver(ctx: AppContext, installation: InstallationRecord, message: OutboxMessage) -> Delivery:
    data = await ctx.saleor.execute(
        installation.saleor_api_url,
        load_document("checkout_complete"),
        {"id": message.payload["id"]},
        token=installation.app_token,
    )
    errors = mutation_errors(data, "checkoutComplete")
    if not errors:
        order = (data.get("checkoutComplete") or {}).get("order") or {}
        return DELIVERED, f"order {order.get('number')} created" if order else None
    codes = {str(e.get("code")) for e in errors}
    if codes <= set(LEFT_ALONE):
        return DELIVERED, "left alone: " + "; ".join(LEFT_ALONE[c] for c in sorted(codes))
    return FAILED, describe_errors(errors)


deliveries.register(KIND, deliver)
