"""The claim loop's nudge (payments/delivery/claim_loop.py): work this process queues is claimed at
once, not at the next poll (a notified payment's reports reach Saleor within 2 s, issue 24)."""

from __future__ import annotations

import asyncio

import pytest

from saleor_coinpayments.payments.delivery.claim_loop import work_claims

POLL = 30.0  # far longer than the test: only a nudge can bring the second claim


async def _run(nudge: asyncio.Event | None) -> list[str]:
    queued: list[str] = []
    worked: list[str] = []
    stopping = asyncio.Event()

    async def claim(limit: int) -> list[str]:
        taken, queued[:] = queued[:limit], queued[limit:]
        return taken

    async def work(item: str) -> None:
        worked.append(item)

    loop = asyncio.create_task(
        work_claims(
            "test",
            claim=claim,
            work=work,
            concurrency=4,
            interval=POLL,
            stopping=stopping,
            grace_seconds=1,
            nudge=nudge,
        )
    )
    await asyncio.sleep(0.05)  # the first claim found nothing: the loop now waits for its poll
    queued.append("report")
    if nudge is not None:
        nudge.set()
    for _ in range(100):
        if worked:
            break
        await asyncio.sleep(0.01)
    stopping.set()
    await asyncio.wait_for(loop, 5)
    return worked


@pytest.mark.asyncio
async def test_a_nudge_claims_queued_work_at_once() -> None:
    # Without the nudge the loop would sleep its 30 s poll and this would find nothing worked.
    assert await _run(asyncio.Event()) == ["report"]
