"""`run_simulator()`: what `saleor-coinpayments simulator` runs (uvicorn in the foreground)."""

from __future__ import annotations

import uvicorn

from saleor_coinpayments.simulator.app import create_simulator_app
from saleor_coinpayments.simulator.collector import LongLivedState
from saleor_coinpayments.simulator.engine import new_client_id, new_client_secret


def run_simulator(
    host: str, port: int, clients: list[tuple[str, str]], public_url: str | None, latency_ms: int = 0
) -> None:
    """Serve the simulator; with no clients it invents one pair and prints it so you can sign."""
    pairs = list(clients)
    if not pairs:
        pairs = [(new_client_id(), new_client_secret())]
    base = public_url or f"http://{host}:{port}"
    signed = public_url or "the URL they call"
    print(f"CoinPayments simulator on http://{host}:{port}; clients sign {signed}")  # noqa: T201
    for client_id, secret in pairs:
        print(f"  client id: {client_id}\n  secret:    {secret}")  # noqa: T201
    print(f"  control endpoints: {base}/__sim  docs: {base}/__sim/docs")  # noqa: T201
    if latency_ms:
        print(f"  every API answer waits {latency_ms} ms")  # noqa: T201
    app = create_simulator_app(dict(pairs), public_url, response_latency_ms=latency_ms)
    collector = LongLivedState()  # full collections skip the invoices kept (collector.py)
    collector.install()
    try:
        uvicorn.run(app, host=host, port=port, log_level="info")
    finally:
        collector.uninstall()
