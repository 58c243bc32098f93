"""Talking to CoinPayments (API v1/v2 at `{a,b,c}-api.coinpayments.net`): signing, client, models, webhooks.

The facts behind this package are in coinpayments/API.md of the shared notes; section numbers
in docstrings (§2.3 …) point there.
"""
