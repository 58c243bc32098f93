"""One background job per key while it runs; with the setting off, one per call."""

from __future__ import annotations

import asyncio

from saleor_coinpayments.runtime.single_flight import SingleFlight


def _scenario(flights: SingleFlight) -> tuple[list[bool], int]:
    async def go() -> tuple[list[bool], int]:
        release = asyncio.Event()
        started = 0

        async def job() -> None:
            nonlocal started
            started += 1
            await release.wait()

        answers = [flights.start("payment-1", job) for _ in range(5)]
        await asyncio.sleep(0)
        release.set()
        await flights.aclose()
        return answers, started

    return asyncio.run(go())


def test_calls_while_a_job_runs_start_nothing() -> None:
    answers, started = _scenario(SingleFlight())
    assert answers == [True, False, False, False, False]
    assert started == 1


def test_with_single_flight_off_every_call_starts_its_job() -> None:
    answers, started = _scenario(SingleFlight(enabled=False))
    assert answers == [True] * 5
    assert started == 5


def test_close_cancels_unkeyed_jobs_too() -> None:
    async def go() -> list[str]:
        flights = SingleFlight(enabled=False)
        seen: list[str] = []

        async def job() -> None:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                seen.append("cancelled")
                raise

        flights.start("p", job)
        await asyncio.sleep(0)
        await flights.aclose()
        seen.append("closed")
        return seen

    assert asyncio.run(go()) == ["cancelled", "closed"]
