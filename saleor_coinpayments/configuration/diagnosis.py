""" "Test connection": one signed call to CoinPayments, and a verdict an admin can act on.

CoinPayments answers every credential problem with the same bare 401
(coinpayments.md#refused-signatures): a wrong secret, a client id from another instance, an IP
outside the integration's Allowed IPs and a clock more than a minute off all look alike. The one we
can tell apart is the clock: the `Date` header of any answer from the API host says what time
CoinPayments thinks it is. The others are listed, in order of likelihood, with what to check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx

from saleor_coinpayments.coinpayments.client import CoinPaymentsClient

CLOCK_TOLERANCE = timedelta(seconds=30)
"""CoinPayments refuses signatures older than 60 s; warn well before that."""


@dataclass(frozen=True)
class ConnectionVerdict:
    """`ok`, a stable `code` for programs, and a `message` for the admin (never a secret)."""

    ok: bool
    code: str
    message: str

    def to_json(self) -> dict[str, object]:
        return {"ok": self.ok, "code": self.code, "message": self.message}


async def clock_skew(
    http: httpx.AsyncClient, base_url: str, now: Callable[[], datetime], timeout_seconds: float = 5.0
) -> timedelta | None:
    """Our clock minus CoinPayments' (from its `Date` header), or None when it cannot be told."""
    before = now()
    try:
        async with http.stream("GET", f"{base_url}/api/v1/currencies", timeout=timeout_seconds) as response:
            date = response.headers.get("date")
    except httpx.HTTPError:
        return None
    after = now()
    if not date:
        return None
    try:
        theirs = parsedate_to_datetime(date)
    except (TypeError, ValueError):
        return None
    if theirs.tzinfo is None:
        return None
    # Our time halfway through the round trip; `Date` has whole seconds, far below the tolerance.
    return before + (after - before) / 2 - theirs


def _describe_skew(skew: timedelta) -> str:
    seconds = int(abs(skew.total_seconds()))
    direction = "ahead of" if skew > timedelta(0) else "behind"
    return (
        f"This server's clock is {seconds} s {direction} CoinPayments' clock, and CoinPayments refuses "
        "signed requests more than a minute off. Synchronise this server's clock (NTP), then test again."
    )


def _bad_credentials(base_url: str) -> str:
    host = urlsplit(base_url).hostname or base_url
    instance_hint = (
        f"the integration belongs to another CoinPayments instance (this configuration uses {host}; "
        "accounts live on a-, b- or c-api.coinpayments.net depending on the business' country)"
    )
    return (
        "CoinPayments refused these credentials (401). Check, in this order: the client secret (CoinPayments "
        "shows it once, when the API integration is created — paste it again); the client id; "
        f"{instance_hint}; the integration's Allowed IPs list (this server's public IP must be on it, or the "
        "list must be empty); and that the integration is enabled and the business verified."
    )


async def diagnose(
    client: CoinPaymentsClient, http: httpx.AsyncClient, now: Callable[[], datetime]
) -> ConnectionVerdict:
    """The verdict for one configuration's credentials, from one cheap signed call."""
    check = await client.check_credentials()
    if check.ok:
        return ConnectionVerdict(True, "ok", f"Connected to CoinPayments at {client.base_url}.")
    if check.code == "bad_credentials":
        skew = await clock_skew(http, client.base_url, now)
        if skew is not None and abs(skew) > CLOCK_TOLERANCE:
            return ConnectionVerdict(False, "clock_skew", _describe_skew(skew))
        return ConnectionVerdict(False, "bad_credentials", _bad_credentials(client.base_url))
    if check.code == "forbidden":
        return ConnectionVerdict(
            False,
            "forbidden",
            "The credentials are right, but this API integration may not read invoices (403). In the "
            "CoinPayments dashboard, give the integration the invoice and webhook permissions.",
        )
    if check.code in ("coinpayments_not_found", "coinpayments_unexpected"):
        return ConnectionVerdict(
            False,
            "not_coinpayments",
            f"No CoinPayments API answers at {client.base_url}. Check the API URL: it is "
            f"https://a-api.coinpayments.net (or b-/c-api) for your account's instance. ({check.message})",
        )
    if check.code == "unreachable":
        return ConnectionVerdict(
            False,
            "unreachable",
            f"Could not connect to {client.base_url}. Check the API URL and that this server can reach it.",
        )
    return ConnectionVerdict(False, check.code, check.message)
