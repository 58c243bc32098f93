"""A CoinPayments notification: verify it, record it once, and make its invoice due for a re-read.

The notification is only a trigger (its amounts are unreliable, coinpayments.md#webhook-body): after it is recorded the
invoice is re-read from CoinPayments and the state machine acts on that. The answer is quick; the
re-read (`reread_soon`) runs right after it, and the reconciler covers a crash in between. The
route only verifies the size, calls `receive`, hands `reread_soon` to run after the answer, and
renders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from prometheus_client import Counter

from saleor_coinpayments.coinpayments import errors as cp_errors
from saleor_coinpayments.coinpayments.webhooks import (
    CoinPaymentsNotification,
    WebhookVerificationError,
    verify_notification,
)
from saleor_coinpayments.context import AppContext
from saleor_coinpayments.payments.gateway import configuration
from saleor_coinpayments.payments.refresh import InvoiceKey, invoice_key, refresh_payment
from saleor_coinpayments.runtime import Coalescer
from saleor_coinpayments.store.configurations import ConfigurationRecord
from saleor_coinpayments.store.fast_path import WriteStep
from saleor_coinpayments.store.notifications import NotificationRepository
from saleor_coinpayments.store.tables import Payment
from saleor_coinpayments.urls import coinpayments_notification_url

log = structlog.get_logger(__name__)

NOTIFICATIONS = Counter("coinpayments_notifications_total", "CoinPayments notifications, by outcome", ["outcome"])


def _source(installation_id: str) -> str:
    return f"coinpayments:{installation_id}"


@dataclass(frozen=True)
class Accepted:
    """Recorded (or recognised as a duplicate); `payment_id` is due a re-read if known."""

    duplicate: bool
    payment_id: str | None
    notification_id: str
    installation_id: str
    invoice_key: InvoiceKey | None = None  # what the re-read needs of the row, given back by the receipt


@dataclass(frozen=True)
class Rejected:
    status: int
    code: str
    message: str


def _verified(
    ctx: AppContext, config: ConfigurationRecord, body: bytes, headers: dict[str, str]
) -> CoinPaymentsNotification:
    return verify_notification(
        body=body,
        headers=headers,
        registered_url=coinpayments_notification_url(ctx.settings, config.id),
        client_id=config.client_id,
        client_secret=config.client_secret,
        window_seconds=ctx.settings.coinpayments_webhook_window_seconds,
    )


async def receive(ctx: AppContext, configuration_id: str, body: bytes, headers: dict[str, str]) -> Accepted | Rejected:
    config = await configuration(ctx, configuration_id)
    if config is None:
        NOTIFICATIONS.labels(outcome="unknown_configuration").inc()
        return Rejected(404, "UNKNOWN_CONFIGURATION", "No configuration at this notification URL.")
    try:
        try:
            notification = _verified(ctx, config, body, headers)
        except WebhookVerificationError:
            config = await configuration(ctx, configuration_id, fresh=True)  # changed elsewhere meanwhile?
            if config is None:
                raise
            notification = _verified(ctx, config, body, headers)
    except WebhookVerificationError as exc:
        NOTIFICATIONS.labels(outcome=f"rejected_{exc.reason.value}").inc()
        log.warning("coinpayments_notification_rejected", reason=exc.reason.value, configuration_id=configuration_id)
        status = 400 if exc.reason.value == "bad_body" else 401
        return Rejected(status, "INVALID_NOTIFICATION", exc.message)

    receipt = await NotificationRepository.receive(
        ctx.db.fast,
        installation_id=config.installation_id,
        source=_source(config.installation_id),
        external_id=notification.id,
        invoice_id=notification.invoice_id,
        event_type=notification.raw_type,
        state=notification.raw_state,
    )
    duplicate = not receipt.recorded
    outcome = "duplicate" if duplicate else ("accepted" if receipt.payment_id else "unknown_invoice")
    NOTIFICATIONS.labels(outcome=outcome).inc()
    log.info(
        "coinpayments_notification",
        outcome=outcome,
        notification_type=notification.raw_type,
        invoice_id=notification.invoice_id,
    )
    key = None
    if receipt.configuration_id is not None:
        key = invoice_key(notification.invoice_id, receipt.configuration_id, receipt.saleor_transaction_id)
    return Accepted(
        duplicate=duplicate,
        payment_id=receipt.payment_id,
        notification_id=notification.id,
        installation_id=config.installation_id,
        invoice_key=key,
    )


async def mark_handled(ctx: AppContext, accepted: Sequence[Accepted], outcome: str) -> None:
    await ctx.db.fast.run(mark_handled_steps(accepted, outcome))


def mark_handled_steps(accepted: Sequence[Accepted], outcome: str) -> list[WriteStep]:
    """For a unit already open (the re-read's own transition)."""
    return NotificationRepository.mark_handled_steps(
        [(_source(a.installation_id), a.notification_id) for a in accepted], outcome
    )


def needs_reread(result: Accepted) -> bool:
    """A first copy of a notification whose payment we know: its invoice is due a re-read."""
    return result.payment_id is not None and not result.duplicate


async def reread_soon(ctx: AppContext, accepted: Accepted) -> None:
    """Re-read the invoice after answering. Notifications of one payment that arrive before its
    re-read starts share it; if it fails the reconciler picks the payment up."""
    payment_id = accepted.payment_id
    if payment_id is None:
        return
    rereads: Coalescer[Accepted] = ctx.notification_rereads
    await rereads.submit(payment_id, accepted, lambda batch: _reread(ctx, payment_id, batch))


async def _reread(ctx: AppContext, payment_id: str, batch: list[Accepted]) -> None:
    def handled(payment: Payment) -> list[WriteStep]:
        return mark_handled_steps(batch, f"state {payment.state}")

    try:
        key = next((accepted.invoice_key for accepted in batch if accepted.invoice_key), None)
        snapshot = await refresh_payment(ctx, payment_id, also=handled, key=key)
        if snapshot is not None:
            return  # marked handled in the transition's own transaction
        outcome = "payment gone"
    except cp_errors.CoinPaymentsError as exc:
        log.warning("notification_refresh_failed", payment_id=payment_id, error=exc.message)
        outcome = f"re-read failed: {exc.code}"
    await mark_handled(ctx, batch, outcome)
