"""Background work computes one piece at a time, overlaps its network waits, and a cancelled wait
leaves the lane as it found it."""

from __future__ import annotations

import asyncio

from saleor_coinpayments.runtime.background_lane import BackgroundLane, network_wait


def test_a_second_job_waits_while_the_first_computes() -> None:
    async def scenario() -> list[str]:
        lane = BackgroundLane()
        order: list[str] = []
        first_inside = asyncio.Event()
        let_first_finish = asyncio.Event()

        async def first() -> None:
            async with lane.held():
                order.append("first in")
                first_inside.set()
                await let_first_finish.wait()  # computing (a database write, say): still holding
                order.append("first out")

        async def second() -> None:
            await first_inside.wait()
            async with lane.held():
                order.append("second in")

        jobs = [asyncio.create_task(first()), asyncio.create_task(second())]
        await asyncio.sleep(0.01)
        assert lane.busy
        let_first_finish.set()
        await asyncio.gather(*jobs)
        assert not lane.busy
        return order

    assert asyncio.run(scenario()) == ["first in", "first out", "second in"]


def test_network_waits_let_go_of_the_lane_and_take_it_back() -> None:
    async def scenario() -> list[str]:
        lane = BackgroundLane()
        order: list[str] = []
        answer = asyncio.Event()

        async def first() -> None:
            async with lane.held():
                order.append("first asks")
                async with network_wait():
                    await answer.wait()
                order.append("first has its answer")

        async def second() -> None:
            await asyncio.sleep(0)
            async with lane.held():
                order.append("second runs while first waits")
                answer.set()
                await asyncio.sleep(0.01)  # first's answer is in, but second still holds the lane
                order.append("second done")

        await asyncio.gather(first(), second())
        assert not lane.busy
        return order

    assert asyncio.run(scenario()) == [
        "first asks",
        "second runs while first waits",
        "second done",
        "first has its answer",
    ]


def test_a_job_cancelled_while_taking_the_lane_back_leaves_it_free() -> None:
    async def scenario() -> None:
        lane = BackgroundLane()
        answer = asyncio.Event()

        async def waits_on_the_network() -> None:
            async with lane.held(), network_wait():
                await answer.wait()

        async def computes(release: asyncio.Event) -> None:
            async with lane.held():
                await release.wait()

        job = asyncio.create_task(waits_on_the_network())
        await asyncio.sleep(0.01)
        release = asyncio.Event()
        holder = asyncio.create_task(computes(release))
        await asyncio.sleep(0.01)
        answer.set()  # the job now waits to take the lane back from `holder`
        await asyncio.sleep(0.01)
        job.cancel()
        await asyncio.gather(job, return_exceptions=True)
        release.set()
        await holder
        assert not lane.busy
        # exactly one slot: two holders still take turns
        second_release = asyncio.Event()
        a = asyncio.create_task(computes(second_release))
        await asyncio.sleep(0.01)
        assert lane.busy
        b = asyncio.create_task(computes(asyncio.Event()))
        await asyncio.sleep(0.01)
        b.cancel()
        second_release.set()
        await a
        await asyncio.gather(b, return_exceptions=True)
        assert not lane.busy

    asyncio.run(scenario())


def test_outside_a_lane_a_network_wait_changes_nothing() -> None:
    async def scenario() -> bool:
        lane = BackgroundLane()
        async with network_wait():
            pass
        return lane.busy

    assert asyncio.run(scenario()) is False


def test_with_the_lane_off_background_work_does_not_wait_for_it() -> None:
    async def scenario() -> list[str]:
        lane = BackgroundLane(enabled=False)
        order: list[str] = []
        first_inside = asyncio.Event()
        let_first_finish = asyncio.Event()

        async def first() -> None:
            async with lane.held():
                order.append("first in")
                first_inside.set()
                await let_first_finish.wait()
                order.append("first out")

        async def second() -> None:
            await first_inside.wait()
            async with lane.held(), network_wait():
                order.append("second in")
            let_first_finish.set()

        await asyncio.gather(first(), second())
        assert not lane.busy
        return order

    assert asyncio.run(scenario()) == ["first in", "second in", "first out"]
