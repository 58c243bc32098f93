"""The loop both background workers share: claim as many rows as there are free slots, work each in
its own task, and on shutdown finish or give up what is in flight.

Claiming only when a slot is free keeps every claim short: a row is never leased while it waits
behind other work in this process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import structlog

log = structlog.get_logger(__name__)

T = TypeVar("T")


async def work_claims(
    name: str,
    *,
    claim: Callable[[int], Awaitable[list[T]]],
    work: Callable[[T], Coroutine[Any, Any, None]],
    concurrency: int,
    interval: float,
    stopping: asyncio.Event,
    grace_seconds: float,
    nudge: asyncio.Event | None = None,
) -> None:
    """Run until `stopping` is set; then let work in flight finish for `grace_seconds` and cancel the
    rest (the caller releases what was cancelled). `nudge`, when set, claims again at once instead of
    after `interval`: work this process just queued need not wait for the next poll."""
    tasks: set[asyncio.Task[None]] = set()
    stop_waiter = asyncio.create_task(stopping.wait())
    nudge_waiter = asyncio.create_task(nudge.wait()) if nudge is not None else None
    try:
        while not stopping.is_set():
            free = concurrency - len(tasks)
            claimed = 0
            if free > 0:
                try:
                    batch = await claim(free)
                except Exception:
                    log.exception("worker_claim_failed", worker=name)
                    batch = []
                claimed = len(batch)
                tasks.update(asyncio.create_task(work(item)) for item in batch)
            # All slots busy, or a full claim (more may be due): go on as soon as a slot frees up.
            timeout = None if claimed == free else interval
            waiters = {*tasks, stop_waiter} | ({nudge_waiter} if nudge_waiter is not None else set())
            done, _ = await asyncio.wait(waiters, timeout=timeout, return_when="FIRST_COMPLETED")
            if nudge is not None and nudge_waiter in done:
                nudge.clear()  # before the claim: a nudge from here on is seen by the next wait
                nudge_waiter = asyncio.create_task(nudge.wait())
            tasks -= done
        if tasks:
            _, unfinished = await asyncio.wait(tasks, timeout=grace_seconds)
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)
            if unfinished:
                log.info("worker_work_cut_short", worker=name, tasks=len(unfinished))
    finally:
        helpers: list[asyncio.Task[Any]] = [*tasks, stop_waiter, *([nudge_waiter] if nudge_waiter else [])]
        for helper in helpers:
            helper.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
