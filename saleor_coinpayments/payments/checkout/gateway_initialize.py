"""PAYMENT_GATEWAY_INITIALIZE_SESSION: tell the storefront whether crypto is available here."""

from __future__ import annotations

from typing import Any

import structlog

from saleor_coinpayments.coinpayments import errors as cp_errors
from saleor_coinpayments.context import AppContext
from saleor_coinpayments.payments.gateway import client_for, configuration_for_channel
from saleor_coinpayments.payments.payloads import parse_gateway_initialize
from saleor_coinpayments.store.installations import InstallationRecord

log = structlog.get_logger(__name__)

PRODUCTION_HOSTS = (
    "https://a-api.coinpayments.net",
    "https://b-api.coinpayments.net",
    "https://c-api.coinpayments.net",
)
TEST_COINS = {"LTCT"}


async def run(ctx: AppContext, installation: InstallationRecord, payload: dict[str, Any]) -> dict[str, Any]:
    request = parse_gateway_initialize(payload)
    if request.channel_slug is None:
        return {"configured": False, "message": "No channel in the request."}
    config = await configuration_for_channel(ctx, installation.id, request.channel_slug)
    if config is None:
        return {
            "configured": False,
            "message": "Crypto payments are not set up for this channel yet.",
        }
    accepted = {c.upper() for c in config.accepted_coins}
    coins: list[dict[str, Any]] = []
    try:
        for currency in await client_for(ctx, config).currencies():
            if currency.is_fiat or "payments" not in currency.capabilities and currency.capabilities:
                continue
            if accepted and currency.symbol.upper() not in accepted:
                continue
            coins.append(
                {
                    "id": currency.id,
                    "symbol": currency.symbol,
                    "name": currency.name,
                    "logo": currency.logo.image_url if currency.logo else None,
                }
            )
    except cp_errors.CoinPaymentsError as exc:
        log.warning("coin_list_unavailable", error=exc.message)
        coins = [{"symbol": symbol} for symbol in sorted(accepted)]
    test_mode = config.api_url.rstrip("/") not in PRODUCTION_HOSTS or (bool(accepted) and accepted <= TEST_COINS)
    return {
        "configured": True,
        "name": "Pay with crypto (CoinPayments)",
        "testMode": test_mode,
        "coins": coins,
    }
