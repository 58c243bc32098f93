"""What the app's pay page shows of one payment, and the buyer's actions on it.

The page and its JSON endpoint see only this: the shop's name, the amount, the coins with their
amounts, the chosen coin (address, exact amount, URI, QR, expiry, live status), the state in words
and the way back to the shop; once money came in, the receipt (payments/checkout/receipt.py). Never
the invoice id, the Saleor ids, the hosted links or anything of another payment. Reads follow
`transactionProcess`: the stored state is the answer, and the request only marks the buyer as
watching (payments/watching.py), so the reconciler re-reads seconds apart.

The page waits on the app instead of polling: `wait_for_change` answers when the view differs from
the version the page shows (a re-read or a notification changed the payment, in any replica) or
after `PAY_PAGE_WAIT_SECONDS`, and the page then asks again.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from decimal import Decimal
from typing import Any

from saleor_coinpayments.context import AppContext
from saleor_coinpayments.money import Money
from saleor_coinpayments.payments.checkout.pay_link import is_well_formed, token_hash
from saleor_coinpayments.payments.checkout.payment_data import chosen_coin_data
from saleor_coinpayments.payments.checkout.receipt import receipt_of
from saleor_coinpayments.payments.watching import buyer_watching
from saleor_coinpayments.states import PaymentState
from saleor_coinpayments.store.configurations import ConfigurationRepository
from saleor_coinpayments.store.tables import Payment
from saleor_coinpayments.store.types import utcnow

OLD_POLL_SECONDS = 3.0  # how often the page polled before it could wait


async def payment_for_token(ctx: AppContext, token: str) -> Payment | None:
    """The payment whose pay page this is, or None (also for anything that is not a token)."""
    if not is_well_formed(token):
        return None
    return await ctx.db.fast.read(Payment, pay_token_hash=token_hash(token))


async def current(ctx: AppContext, payment: Payment) -> Payment:
    """The stored payment, as `transactionProcess` answers it; the buyer counts as watching, so the
    scheduled re-read comes within seconds and the page's next poll shows it."""
    await buyer_watching(ctx, payment)
    return payment


def _confirmations(payment: Payment) -> tuple[int, int]:
    status = payment.coin_status or {}
    if status:
        return int(status.get("confirmations") or 0), int(status.get("requiredConfirmations") or 0)
    last = (payment.details or {}).get("last_view") or {}
    return int(last.get("confirmations") or 0), int(last.get("required_confirmations") or 0)


def state_text(payment: Payment) -> tuple[str, str]:
    """(code, words) for the page: waiting, seen (n of m), paid, expired or cancelled."""
    state = PaymentState(payment.state)
    nothing_taken = payment.credited_amount == 0
    if state in (PaymentState.PAID, PaymentState.COMPLETED):
        return "paid", "paid"
    if state is PaymentState.PENDING:
        seen, needed = _confirmations(payment)
        return "seen", f"payment seen, {seen} of {needed} confirmations"
    if state is PaymentState.EXPIRED:
        return "expired", "expired, nothing was taken" if nothing_taken else "expired"
    if state is PaymentState.CANCELLED:
        return "cancelled", "cancelled, nothing was taken" if nothing_taken else "cancelled"
    status = payment.coin_status or {}
    if status.get("detected") and Decimal(status["detected"]) > 0:
        seen, needed = _confirmations(payment)
        return "seen", f"payment seen, {seen} of {needed} confirmations"
    return "waiting", "waiting for payment"


def _coins(payment: Payment, accepted: list[str]) -> list[dict[str, Any]]:
    wanted = {c.upper() for c in accepted}
    return [
        {k: coin.get(k) for k in ("id", "symbol", "name", "decimals", "amount")}
        for coin in (payment.details or {}).get("payment_currencies", [])
        if not wanted or str(coin.get("symbol", "")).upper() in wanted
    ]


async def page_view(ctx: AppContext, payment: Payment) -> dict[str, Any]:
    """Everything the page shows, and nothing more."""
    details = payment.details or {}
    async with ctx.db.session() as session:
        config = await ConfigurationRepository(session, ctx.box).get(payment.configuration_id, with_channels=False)
    state, text = state_text(payment)
    back = details.get("success_url") if state == "paid" else None
    if state in ("expired", "cancelled"):
        back = details.get("cancel_url")
    chosen = chosen_coin_data(payment)
    view: dict[str, Any] = {
        "shop": details.get("shop_name") or (config.name if config else ""),
        "amount": Money.of(payment.amount, payment.currency).as_str(),
        "currency": payment.currency,
        "state": state,
        "stateText": text,
        "expiresAt": payment.expires_at.isoformat() if payment.expires_at else None,
        "coins": _coins(payment, config.accepted_coins if config else []) if state == "waiting" else [],
        "payment": chosen,
        "returnUrl": back,
        "now": utcnow().isoformat(),
    }
    receipt = await receipt_of(ctx, payment, view["shop"])
    view["receipt"] = receipt.as_json() if receipt else None
    view["version"] = view_version(view)
    return view


def view_version(view: dict[str, Any]) -> str:
    """A short fingerprint of what the page shows (not the server's clock): the page sends it back
    when it waits, and a different one means there is something new to show."""
    shown = {key: value for key, value in view.items() if key not in ("now", "version")}
    return hashlib.sha256(json.dumps(shown, sort_keys=True, default=str).encode()).hexdigest()[:16]


async def wait_for_change(ctx: AppContext, payment: Payment, version: str) -> dict[str, Any]:
    """The page's view as soon as it differs from `version`, or after PAY_PAGE_WAIT_SECONDS.

    While it waits, the buyer counts as watching (`current`, once per half watching window and
    never more often than the page's old 3 s poll), so the reconciler re-reads the payment by the
    schedule; that write, or any other replica's, wakes the wait through the process's one check
    for all waiting pages. The view is computed again only when the payment changed."""
    deadline = time.monotonic() + ctx.settings.pay_page_wait_seconds
    window = max(ctx.settings.schedule_watching_for_seconds / 2, OLD_POLL_SECONDS)
    asked_at = -math.inf
    view = await page_view(ctx, payment)
    while True:
        if time.monotonic() - asked_at >= window:
            await current(ctx, payment)
            asked_at = time.monotonic()
        left = deadline - time.monotonic()
        if view["version"] != version or left <= 0:
            break
        if await ctx.page_waiters.wait(payment, min(left, asked_at + window - time.monotonic())):
            payment = await ctx.db.fast.read(Payment, id=payment.id) or payment
            view = await page_view(ctx, payment)
    view["now"] = utcnow().isoformat()  # the page sets its countdown's clock from it
    return view
