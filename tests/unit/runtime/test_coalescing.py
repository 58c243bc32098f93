"""Items of one key join the run that has not started yet, never one under way; keys do not mix;
a failed or cancelled run leaves the key usable."""

from __future__ import annotations

import asyncio

import pytest

from saleor_coinpayments.runtime.coalescing import Coalescer


class Runs:
    """Records each run's batch; a run holds until released, so tests can arrive mid-run."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, batch: list[str]) -> None:
        self.batches.append(list(batch))  # what the run saw when it began
        self.started.set()
        await self.release.wait()


def test_items_arriving_during_a_run_share_the_next_run() -> None:
    async def scenario() -> tuple[list[list[str]], list[bool]]:
        coalescer: Coalescer[str] = Coalescer()
        runs = Runs()
        first = asyncio.create_task(coalescer.submit("p1", "n1", runs))
        await runs.started.wait()  # n1's run is under way: later ones must not count as covered by it
        later = [asyncio.create_task(coalescer.submit("p1", n, runs)) for n in ("n2", "n3", "n4")]
        await asyncio.sleep(0)
        assert coalescer.gathering("p1") == 3
        runs.release.set()
        opened = await asyncio.gather(first, *later)
        return runs.batches, list(opened)

    batches, opened = asyncio.run(scenario())
    assert batches == [["n1"], ["n2", "n3", "n4"]]
    assert opened == [True, True, False, False]


def test_an_item_after_the_batch_closed_gets_a_run_of_its_own() -> None:
    async def scenario() -> list[list[str]]:
        coalescer: Coalescer[str] = Coalescer()
        seen: list[list[str]] = []
        inside = asyncio.Event()
        go_on = asyncio.Event()

        async def run(batch: list[str]) -> None:
            seen.append(list(batch))
            inside.set()
            await go_on.wait()

        first = asyncio.create_task(coalescer.submit("p", "a", run))
        await inside.wait()
        assert coalescer.gathering("p") == 0  # the batch closed when its run began
        second = asyncio.create_task(coalescer.submit("p", "b", run))
        await asyncio.sleep(0)
        go_on.set()
        await asyncio.gather(first, second)
        return seen

    assert asyncio.run(scenario()) == [["a"], ["b"]]


def test_keys_run_side_by_side_and_never_share_a_batch() -> None:
    async def scenario() -> list[list[str]]:
        coalescer: Coalescer[str] = Coalescer()
        both_started = asyncio.Event()
        seen: list[list[str]] = []

        async def run(batch: list[str]) -> None:
            seen.append(list(batch))
            if len(seen) == 2:
                both_started.set()
            await both_started.wait()  # deadlocks (times out) unless the two keys run at once

        await asyncio.wait_for(
            asyncio.gather(coalescer.submit("p1", "x", run), coalescer.submit("p2", "y", run)), timeout=2
        )
        return seen

    assert sorted(asyncio.run(scenario())) == [["x"], ["y"]]


def test_a_failed_run_raises_to_its_opener_and_the_key_runs_again() -> None:
    async def scenario() -> list[list[str]]:
        coalescer: Coalescer[str] = Coalescer()
        seen: list[list[str]] = []

        async def failing(batch: list[str]) -> None:
            seen.append(list(batch))
            raise RuntimeError("CoinPayments down")

        async def fine(batch: list[str]) -> None:
            seen.append(list(batch))

        with pytest.raises(RuntimeError):
            await coalescer.submit("p", "a", failing)
        assert await asyncio.wait_for(coalescer.submit("p", "b", fine), timeout=2) is True
        return seen

    assert asyncio.run(scenario()) == [["a"], ["b"]]


@pytest.mark.parametrize(
    ("slots", "waiting_key"),
    [(None, "p"), (1, "q")],
    ids=["waiting-for-its-key", "waiting-for-a-slot"],
)
def test_an_opener_cancelled_while_waiting_drops_its_batch_and_frees_its_key_and_slot(
    slots: int | None, waiting_key: str
) -> None:
    async def scenario() -> list[list[str]]:
        coalescer: Coalescer[str] = Coalescer(slots=slots)
        runs = Runs()
        first = asyncio.create_task(coalescer.submit("p", "a", runs))
        await runs.started.wait()
        waiting = asyncio.create_task(coalescer.submit(waiting_key, "b", runs))
        await asyncio.sleep(0)
        assert coalescer.gathering(waiting_key) == 1
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert coalescer.gathering(waiting_key) == 0
        runs.release.set()
        await first
        # The key (and with slots=1 the one slot) is free again: both runs go through.
        await asyncio.wait_for(coalescer.submit(waiting_key, "c", runs), timeout=2)
        await asyncio.wait_for(coalescer.submit("r", "d", runs), timeout=2)
        return runs.batches

    assert asyncio.run(scenario()) == [["a"], ["c"], ["d"]]


def test_no_more_runs_than_slots_and_a_key_waiting_for_a_slot_keeps_gathering() -> None:
    async def scenario() -> tuple[int, list[list[str]]]:
        coalescer: Coalescer[str] = Coalescer(slots=2)
        release = asyncio.Event()
        under_way = 0
        most = 0
        seen: list[list[str]] = []

        async def run(batch: list[str]) -> None:
            nonlocal under_way, most
            seen.append(list(batch))
            under_way += 1
            most = max(most, under_way)
            await release.wait()
            under_way -= 1

        busy = [asyncio.create_task(coalescer.submit(key, key, run)) for key in ("a", "b")]
        await asyncio.sleep(0)
        waiting = [asyncio.create_task(coalescer.submit("c", n, run)) for n in ("c1", "c2", "c3")]
        await asyncio.sleep(0)
        assert coalescer.gathering("c") == 3  # no slot yet: the batch is still open
        release.set()
        await asyncio.wait_for(asyncio.gather(*busy, *waiting), timeout=2)
        return most, seen

    most, seen = asyncio.run(scenario())
    assert most == 2
    assert seen == [["a"], ["b"], ["c1", "c2", "c3"]]


def test_with_coalescing_off_each_item_gets_a_run_of_its_own_one_at_a_time() -> None:
    async def scenario() -> tuple[list[list[str]], list[bool]]:
        coalescer: Coalescer[str] = Coalescer(coalesce=False)
        runs = Runs()
        first = asyncio.create_task(coalescer.submit("p1", "n1", runs))
        await runs.started.wait()
        later = [asyncio.create_task(coalescer.submit("p1", n, runs)) for n in ("n2", "n3")]
        await asyncio.sleep(0)
        assert coalescer.gathering("p1") == 0  # nothing gathers
        assert runs.batches == [["n1"]]  # and nothing runs beside the key's run under way
        runs.release.set()
        opened = await asyncio.gather(first, *later)
        return runs.batches, list(opened)

    batches, opened = asyncio.run(scenario())
    assert batches == [["n1"], ["n2"], ["n3"]]
    assert opened == [True, True, True]
