"""Talking to CoinPayments (API v1/v2 at `{a,b,c}-api.coinpayments.net`): signing, client, models, webhooks.

The facts behind this package are in the docs, docs/reference/coinpayments.md; docstrings cite its
sections by anchor (`coinpayments.md#signing` …).
"""
