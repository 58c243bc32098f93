"""The link to the app's own pay page (`checkoutPage: app`): `<APP_PUBLIC_URL>/pay/<token>`.

The token is 32 random bytes, one per transaction. Only its SHA-256 is used to find the payment
(unique index), so a lookup never compares secrets character by character and a token that was never
handed out finds nothing. The link itself replaces CoinPayments' checkout link on the row, so every
answer (initialize, a retry, process) hands out the same page.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any

from saleor_coinpayments.payments.checkout.storefront_data import StorefrontOptions
from saleor_coinpayments.settings import Settings
from saleor_coinpayments.store.configurations import ConfigurationRecord
from saleor_coinpayments.store.tables import Payment

PAY_PATH = "/pay"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def is_well_formed(token: str) -> bool:
    """What `secrets.token_urlsafe(32)` makes; anything else is refused before the database."""
    return bool(_TOKEN.fullmatch(token))


def attach_pay_link(row: Payment, settings: Settings) -> None:
    """Give the payment its pay page (once): a new token, its hash, and the link as checkout link."""
    if row.pay_token_hash is not None:
        return
    token = secrets.token_urlsafe(32)
    row.pay_token_hash = token_hash(token)
    details = dict(row.details or {})
    if row.checkout_link:
        details["hosted_checkout_link"] = row.checkout_link
    row.details = details
    row.checkout_link = settings.public_url(f"{PAY_PATH}/{token}")


def shop_name(config: ConfigurationRecord, channel_name: str | None) -> str:
    """The shop as the page names it: the configuration's name when staff chose it, else the
    channel's name as Saleor knows it; never a slug the CLI took as a default name."""
    if config.name_chosen:
        return config.name
    return channel_name or ""


def page_details(
    config: ConfigurationRecord, options: StorefrontOptions, channel_name: str | None = None
) -> dict[str, Any]:
    """What the pay page needs later, kept on the payment when it is claimed: which page, the shop's
    name (`shop_name`) and where to send the buyer back."""
    if config.checkout_page != "app":
        return {}
    return {
        "checkout_page": "app",
        "shop_name": shop_name(config, channel_name),
        "success_url": options.success_url,
        "cancel_url": options.cancel_url,
    }


def attach_if_wanted(row: Payment, settings: Settings) -> None:
    if (row.details or {}).get("checkout_page") == "app":
        attach_pay_link(row, settings)
