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
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from saleor_coinpayments.context import AppContext
from saleor_coinpayments.locale import Speaker
from saleor_coinpayments.money import Money
from saleor_coinpayments.payments.checkout.pay_link import is_well_formed, token_hash
from saleor_coinpayments.payments.checkout.payment_data import chosen_coin_data
from saleor_coinpayments.payments.checkout.receipt import receipt_of, shop_name
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


def _seen(payment: Payment, speak: Speaker) -> str:
    seen, needed = _confirmations(payment)
    return speak.gettext("payment seen, {seen} of {needed} confirmations").format(
        seen=speak.number(seen), needed=speak.number(needed)
    )


def state_text(payment: Payment, speak: Speaker) -> tuple[str, str]:
    """(code, words in the page's language): waiting, seen (n of m), paid, expired or cancelled."""
    state = PaymentState(payment.state)
    nothing_taken = payment.credited_amount == 0
    if state in (PaymentState.PAID, PaymentState.COMPLETED):
        return "paid", speak.gettext("paid")
    if state is PaymentState.PENDING:
        return "seen", _seen(payment, speak)
    if state is PaymentState.EXPIRED:
        return "expired", speak.gettext("expired, nothing was taken") if nothing_taken else speak.gettext("expired")
    if state is PaymentState.CANCELLED:
        if nothing_taken:
            return "cancelled", speak.gettext("cancelled, nothing was taken")
        return "cancelled", speak.gettext("cancelled")
    status = payment.coin_status or {}
    if status.get("detected") and Decimal(status["detected"]) > 0:
        return "seen", _seen(payment, speak)
    return "waiting", speak.gettext("waiting for payment")


def refusal_text(code: str, speak: Speaker) -> str:
    """Why a coin could not be chosen, in the page's language (the code stays as the API says it)."""
    if code == "PROVIDER_UNAVAILABLE":
        return speak.gettext("The crypto payment provider is not answering right now. Please try again in a moment.")
    if code == "COIN_CHOICE_CLOSED":
        return speak.gettext("The coin of this payment can no longer be changed.")
    if code == "NOT_CONFIGURED":
        return speak.gettext("Crypto payments are not set up for this shop any more.")
    return speak.gettext("This coin cannot be used for this payment. Please choose another one.")


def _coins(payment: Payment, accepted: list[str], speak: Speaker) -> list[dict[str, Any]]:
    """The coins offered, each with its amount as given and as the locale writes it (every decimal)."""
    wanted = {c.upper() for c in accepted}
    coins = []
    for coin in (payment.details or {}).get("payment_currencies", []):
        if wanted and str(coin.get("symbol", "")).upper() not in wanted:
            continue
        shown = {k: coin.get(k) for k in ("id", "symbol", "name", "decimals", "amount")}
        shown["amountText"] = speak.coin(coin["amount"]) if coin.get("amount") else None
        coins.append(shown)
    return coins


def _chosen(payment: Payment, speak: Speaker) -> dict[str, Any] | None:
    """`data.payment`, plus the amounts as the locale writes them (the copy button keeps the raw
    amount: wallets read it)."""
    chosen = chosen_coin_data(payment)
    if chosen is None:
        return None
    chosen = dict(chosen)
    chosen["amountText"] = speak.coin(chosen["amount"]) if chosen.get("amount") else None
    try:
        expires = datetime.fromisoformat(str(chosen.get("expiresAt") or "").replace("Z", "+00:00"))
    except ValueError:
        expires = None
    chosen["expiresAtText"] = speak.datetime(expires.astimezone(UTC)) if expires and expires.tzinfo else None
    status = chosen.get("status")
    if isinstance(status, dict):
        chosen["statusText"] = {
            key: speak.coin(status[key]) if status.get(key) not in (None, "") else ""
            for key in ("detected", "confirmed")
        } | {key: speak.number(int(status.get(key) or 0)) for key in ("confirmations", "requiredConfirmations")}
    return chosen


def page_frame(payment: Payment, speak: Speaker) -> dict[str, Any]:
    """What the page's HTML shows before its script runs: the shop, the amount as the locale writes it."""
    return {
        "shop": shop_name(payment, None),
        "amount": speak.money(payment.amount, payment.currency),
        "currency": payment.currency,
    }


async def page_view(ctx: AppContext, payment: Payment, speak: Speaker) -> dict[str, Any]:
    """Everything the page shows, and nothing more, in the page's language."""
    details = payment.details or {}
    async with ctx.db.session() as session:
        config = await ConfigurationRepository(session, ctx.box).get(payment.configuration_id, with_channels=False)
    state, text = state_text(payment, speak)
    back = details.get("success_url") if state == "paid" else None
    if state in ("expired", "cancelled"):
        back = details.get("cancel_url")
    chosen = _chosen(payment, speak)
    expires = payment.expires_at
    view: dict[str, Any] = {
        "shop": shop_name(payment, config.name if config and config.name_chosen else None),
        "amount": Money.of(payment.amount, payment.currency).as_str(),
        "amountText": speak.money(payment.amount, payment.currency),
        "currency": payment.currency,
        "language": speak.html_lang,
        "state": state,
        "stateText": text,
        "expiresAt": expires.isoformat() if expires else None,
        "expiresAtText": speak.datetime(expires) if expires else None,
        "coins": _coins(payment, config.accepted_coins if config else [], speak) if state == "waiting" else [],
        "payment": chosen,
        "returnUrl": back,
        "now": utcnow().isoformat(),
    }
    receipt = await receipt_of(ctx, payment, view["shop"], speak)
    view["receipt"] = receipt.as_json() if receipt else None
    view["version"] = view_version(view)
    return view


def view_version(view: dict[str, Any]) -> str:
    """A short fingerprint of what the page shows (not the server's clock): the page sends it back
    when it waits, and a different one means there is something new to show."""
    shown = {key: value for key, value in view.items() if key not in ("now", "version")}
    return hashlib.sha256(json.dumps(shown, sort_keys=True, default=str).encode()).hexdigest()[:16]


async def wait_for_change(ctx: AppContext, payment: Payment, version: str, speak: Speaker) -> dict[str, Any]:
    """The page's view as soon as it differs from `version`, or after PAY_PAGE_WAIT_SECONDS.

    While it waits, the buyer counts as watching (`current`, once per half watching window and
    never more often than the page's old 3 s poll), so the reconciler re-reads the payment by the
    schedule; that write, or any other replica's, wakes the wait through the process's one check
    for all waiting pages. The view is computed again only when the payment changed."""
    deadline = time.monotonic() + ctx.settings.pay_page_wait_seconds
    window = max(ctx.settings.schedule_watching_for_seconds / 2, OLD_POLL_SECONDS)
    asked_at = -math.inf
    view = await page_view(ctx, payment, speak)
    while True:
        if time.monotonic() - asked_at >= window:
            await current(ctx, payment)
            asked_at = time.monotonic()
        left = deadline - time.monotonic()
        if view["version"] != version or left <= 0:
            break
        if await ctx.page_waiters.wait(payment, min(left, asked_at + window - time.monotonic())):
            payment = await ctx.db.fast.read(Payment, id=payment.id) or payment
            view = await page_view(ctx, payment, speak)
    view["now"] = utcnow().isoformat()  # the page sets its countdown's clock from it
    return view
