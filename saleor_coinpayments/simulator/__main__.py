"""`python -m saleor_coinpayments.simulator [--host] [--port] [--client ID:SECRET] [--public-url URL]
[--latency-ms N]`."""

from __future__ import annotations

import argparse

from saleor_coinpayments.simulator.server import run_simulator


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m saleor_coinpayments.simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--client", action="append", default=[], metavar="ID:SECRET")
    parser.add_argument("--public-url", default=None)
    parser.add_argument("--latency-ms", type=int, default=0, help="every API answer waits this long")
    args = parser.parse_args()
    clients = []
    for pair in args.client:
        client_id, sep, secret = pair.partition(":")
        if not sep or not client_id or not secret:
            parser.error(f"--client takes ID:SECRET, got {pair!r}")
        clients.append((client_id, secret))
    if args.latency_ms < 0:
        parser.error("--latency-ms takes a non-negative number of milliseconds")
    run_simulator(args.host, args.port, clients, args.public_url, args.latency_ms)


if __name__ == "__main__":
    main()
