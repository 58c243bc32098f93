"""How long each Saleor webhook takes to answer, by event and status class (Prometheus).

An ASGI middleware, so it times every webhook route (also ones added later) including the
signature check; paths that are no Saleor event of ours count as "unknown" so a stranger cannot
grow the label set."""

from __future__ import annotations

import time

from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from saleor_coinpayments.saleor.events import SaleorEvent

PREFIX = "/api/webhooks/saleor/"

WEBHOOK_SECONDS = Histogram(
    "saleor_webhook_duration_seconds",
    "Time to answer a Saleor webhook, by event and status class",
    ["event", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 18),
)


class WebhookTimer:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.events = {event.path: event.value for event in SaleorEvent}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            event = self.events.get(path.rstrip("/"), "unknown")
            WEBHOOK_SECONDS.labels(event=event, status=f"{status // 100}xx").observe(time.monotonic() - started)
