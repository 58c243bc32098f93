"""Sending signed notifications in the background, with retries and a log.

See coinpayments.md#webhook-verification, #webhook-delivery.

One worker per notification URL keeps deliveries to a receiver in emission order (so tests
are deterministic); disorder, loss and duplicates come only from injected faults. Nothing
here runs inside an API request: `submit` only queues.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from saleor_coinpayments.simulator.clock import SimClock
from saleor_coinpayments.simulator.engine import Notification
from saleor_coinpayments.simulator.faults import Faults
from saleor_coinpayments.simulator.jsonenc import encode
from saleor_coinpayments.simulator.signing import format_timestamp, signature

log = logging.getLogger("saleor_coinpayments.simulator.webhooks")


@dataclass
class Attempt:
    at: datetime
    timestamp: str
    signature: str
    status: int | None
    error: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "timestamp": self.timestamp,
            "signature": self.signature,
            "status": self.status,
            "error": self.error,
        }


@dataclass
class DeliveryRecord:
    seq: int
    notification: Notification
    body: bytes
    duplicate: bool = False
    outcome: str = "queued"  # queued | held | delivered | failed | dropped
    attempts: list[Attempt] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        n = self.notification
        return {
            "seq": self.seq,
            "eventId": n.body.get("id"),
            "event": n.event,
            "type": n.body.get("type"),
            "invoiceId": n.invoice_id,
            "url": n.url,
            "source": n.source,
            "clientId": n.client_id,
            "duplicate": self.duplicate,
            "outcome": self.outcome,
            "attempts": [a.to_json() for a in self.attempts],
            "body": self.body.decode("utf-8"),
        }


@dataclass
class RetryPolicy:
    """Documented wallet-webhook policy, assumed for invoices: 5 attempts, 5 s timeout, 1 s apart."""

    max_attempts: int = 5
    timeout_seconds: float = 5.0
    delay_seconds: float = 1.0


class Dispatcher:
    def __init__(self, clock: SimClock, faults: Faults, policy: RetryPolicy | None = None) -> None:
        self.clock = clock
        self.faults = faults
        self.policy = policy or RetryPolicy()
        self.records: list[DeliveryRecord] = []
        self._seq = itertools.count(1)
        self._queues: dict[str, asyncio.Queue[DeliveryRecord]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._held: list[DeliveryRecord] = []
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._client: httpx.AsyncClient | None = None

    # --- queueing -------------------------------------------------------------------------

    def submit(self, notifications: list[Notification]) -> None:
        """Queue notifications; must be called on the event loop (API handlers are)."""
        for n in notifications:
            record = self._record(n, encode(n.body))
            if self.faults.take("webhook_drop") or self.faults.lose_by_chance():
                record.outcome = "dropped"
                continue
            copies = [record]
            if self.faults.take("webhook_duplicate"):
                copies.append(self._record(n, record.body, duplicate=True))
            for copy in copies:
                if self.faults.take("webhook_reorder"):
                    copy.outcome = "held"
                    self._held.append(copy)
                    if self.faults.webhook_reorder == 0:
                        self.flush()
                else:
                    self._enqueue(copy)

    def flush(self) -> int:
        """Release held notifications, newest first (the reorder fault)."""
        held, self._held = self._held, []
        for record in reversed(held):
            record.outcome = "queued"
            self._enqueue(record)
        return len(held)

    def _record(self, n: Notification, body: bytes, duplicate: bool = False) -> DeliveryRecord:
        record = DeliveryRecord(next(self._seq), n, body, duplicate)
        self.records.append(record)
        return record

    def _enqueue(self, record: DeliveryRecord) -> None:
        url = record.notification.url
        queue = self._queues.get(url)
        if queue is None:
            queue = self._queues[url] = asyncio.Queue()
        self._in_flight += 1
        self._idle.clear()
        queue.put_nowait(record)
        worker = self._workers.get(url)
        if worker is None or worker.done():
            self._workers[url] = asyncio.get_running_loop().create_task(self._work(queue))

    async def _work(self, queue: asyncio.Queue[DeliveryRecord]) -> None:
        while not queue.empty():
            record = queue.get_nowait()
            try:
                await self._deliver(record)
            except Exception:  # a bug here must not kill the worker for this URL
                log.exception("webhook delivery crashed")
                record.outcome = "failed"
            finally:
                self._in_flight -= 1
                if self._in_flight == 0:
                    self._idle.set()

    # --- sending --------------------------------------------------------------------------

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(follow_redirects=False)
        return self._client

    async def _deliver(self, record: DeliveryRecord) -> None:
        n = record.notification
        if self.faults.webhook_delay_seconds:
            await asyncio.sleep(self.faults.webhook_delay_seconds)
        for attempt in range(1, self.policy.max_attempts + 1):
            stamp = format_timestamp(self.clock.wall())
            sig = signature(n.secret, "POST", n.url, n.client_id, stamp, record.body)
            status: int | None = None
            error: str | None = None
            if self.faults.take("webhook_fail_next"):
                error = "injected: receiver unreachable"
            else:
                try:
                    response = await self._http().post(
                        n.url,
                        content=record.body,
                        headers={
                            "Content-Type": "application/json; charset=utf-8",
                            "X-CoinPayments-Client": n.client_id,
                            "X-CoinPayments-Timestamp": stamp,
                            "X-CoinPayments-Signature": sig,
                            "User-Agent": "CoinPayments-Simulator/1",
                        },
                        timeout=self.policy.timeout_seconds,
                    )
                    status = response.status_code
                except httpx.HTTPError as exc:
                    error = f"{type(exc).__name__}: {exc}"
            record.attempts.append(Attempt(self.clock.wall(), stamp, sig, status, error))
            if status is not None and 200 <= status < 300:
                record.outcome = "delivered"
                return
            if attempt < self.policy.max_attempts:
                await asyncio.sleep(self.policy.delay_seconds)
        record.outcome = "failed"
        log.warning("webhook %s to %s failed after %d attempts", n.event, n.url, self.policy.max_attempts)

    # --- inspection and lifecycle ---------------------------------------------------------

    async def wait_idle(self, seconds: float) -> bool:
        """Wait until every queued notification has been delivered or given up."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), seconds)
        return self._idle.is_set()

    def clear(self) -> None:
        self.records.clear()
        self._held.clear()

    async def aclose(self) -> None:
        for task in self._workers.values():
            task.cancel()
        for task in self._workers.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._workers.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
