"""A CoinPayments request's lateness after its slot, measured when its headers reach the socket."""

from __future__ import annotations

import asyncio
import time

import pytest
from prometheus_client import REGISTRY

from saleor_coinpayments.coinpayments import send_lateness
from saleor_coinpayments.coinpayments.client import CoinPaymentsClient
from saleor_coinpayments.coinpayments.ratelimit import Slot


class FixedSlot:
    """A limiter that hands out one slot `offset` seconds from the moment it is asked."""

    def __init__(self, offset: float, priority: str) -> None:
        self.offset = offset
        self.priority = priority

    async def acquire_slot(self) -> Slot:
        return Slot(time.monotonic() + self.offset, self.priority)


def _sample(name: str, priority: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, {"priority": priority, **labels}) or 0.0


def _lateness(priority: str) -> tuple[float, float, float, float]:
    """The send-lateness histogram's count, sum and sends within 0.1 s, and the sends past the
    margin, for `priority` (the registry is the process's: relative to before, should a test run twice)."""
    return (
        _sample("coinpayments_send_lateness_seconds_count", priority),
        _sample("coinpayments_send_lateness_seconds_sum", priority),
        _sample("coinpayments_send_lateness_seconds_bucket", priority, le="0.1"),
        _sample("coinpayments_sends_past_margin_total", priority),
    )


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A loopback CoinPayments that reads one request and answers 204."""
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    await writer.drain()
    writer.close()


async def _cancel_through(limiter: FixedSlot) -> None:
    server = await asyncio.start_server(_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with CoinPaymentsClient(
            client_id="c",
            client_secret="s",
            base_url=f"http://127.0.0.1:{port}",
            timeout_seconds=5,
            rate_limiter=limiter,
        ) as client:
            await client.cancel_invoice("inv-1")
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.asyncio
async def test_a_request_sent_long_after_its_slot_is_counted_past_the_margin() -> None:
    """The slot was 150 ms before the send (a stall between the limiter and the socket)."""
    priority = "test-late"
    count, _, within, past = _lateness(priority)

    await _cancel_through(FixedSlot(-0.150, priority))

    after = _lateness(priority)
    assert after[0] == count + 1
    assert after[2] == within, "not even within 0.1 s"
    assert after[3] == past + 1


@pytest.mark.asyncio
async def test_a_request_sent_before_its_slot_is_on_time() -> None:
    priority = "test-early"
    count, total, within, past = _lateness(priority)

    await _cancel_through(FixedSlot(10.0, priority))

    assert _lateness(priority) == (count + 1, total, within + 1, past)


def test_the_margin_is_the_late_start_plus_the_send_jitter() -> None:
    slot = Slot(0.0, "test-margin")
    past = _lateness("test-margin")[3]
    assert send_lateness.observe(slot, send_lateness.MARGIN_SECONDS) == pytest.approx(0.060)
    assert _lateness("test-margin")[3] == past
    send_lateness.observe(slot, 0.061)
    assert _lateness("test-margin")[3] == past + 1
