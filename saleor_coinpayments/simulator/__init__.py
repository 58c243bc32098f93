"""A strict, in-memory CoinPayments v2 simulator (FastAPI) for tests, demos and benchmarks.

See README.md in this package for how to start it, sign requests and drive payments.
"""

from saleor_coinpayments.simulator.app import create_simulator_app

__all__ = ["create_simulator_app"]
