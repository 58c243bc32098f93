"""How long each CoinPayments call takes, by operation and outcome (Prometheus)."""

from __future__ import annotations

import re

from prometheus_client import Histogram

CALL_SECONDS = Histogram(
    "coinpayments_request_duration_seconds",
    "CoinPayments API requests (one attempt each), by operation and outcome",
    ["operation", "outcome"],
    buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2.5, 5, 8, 15),
)

_WORD = re.compile(r"^(v\d+|[a-z-]+)$")


def operation_name(method: str, path: str) -> str:
    """`GET /api/v2/merchant/invoices/{id}`: ids replaced, so the label stays a short list."""
    segments = [segment if _WORD.match(segment) else "{id}" for segment in path.split("?")[0].split("/")]
    return f"{method} {'/'.join(segments)}"


def observe(method: str, path: str, outcome: str, seconds: float) -> None:
    CALL_SECONDS.labels(operation=operation_name(method, path), outcome=outcome).observe(seconds)
