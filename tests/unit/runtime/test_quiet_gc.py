"""The older collector generations wait for a quiet moment (or a scan within the budget), never
run on CPython's own thresholds meanwhile, and still run when a busy process is overdue."""

from __future__ import annotations

import asyncio
import gc
import itertools
import threading
import time
import weakref
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from saleor_coinpayments.runtime.quiet_gc import NEVER, CountRequestsInFlight, QuietCollector, deferred_thresholds
from tests.helpers.servers import serve_asgi


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def garbage_cycle_in_older_generation(young_collections: int) -> weakref.ref[Node]:
    """A cycle that survives young collections (so it sits in generation 1), then is dropped: only
    an older collection can free it. The young collections also make generation 1 due."""
    a, b = Node(), Node()
    a.other, b.other = b, a
    for _ in range(young_collections):
        gc.collect(0)
    ref = weakref.ref(a)
    del a, b
    return ref


@pytest.fixture
def older_collections() -> Iterator[list[int]]:
    """The generation of every collection of generation 1 or 2 that starts during the test."""
    seen: list[int] = []

    def note(phase: str, info: dict[str, Any]) -> None:
        if phase == "start" and info["generation"] >= 1:
            seen.append(info["generation"])

    gc.callbacks.append(note)
    yield seen
    gc.callbacks.remove(note)


def test_only_young_collections_are_automatic_while_it_runs_and_thresholds_come_back() -> None:
    before = gc.get_threshold()
    collector = QuietCollector(check_every_seconds=3600)

    callbacks = list(gc.callbacks)
    deferred = (before[0], *([NEVER] * (len(before) - 1)))  # as many generations as there are

    async def scenario() -> None:
        async with collector.running():
            assert gc.get_threshold() == deferred
            async with collector.running():  # a second app in the same process shares it
                assert gc.get_threshold() == deferred
            assert gc.get_threshold() == deferred
        assert gc.get_threshold() == before
        assert gc.callbacks == callbacks  # stopped counting with the last user

    asyncio.run(scenario())


def test_due_generation_follows_cpythons_own_ratios() -> None:
    collector = QuietCollector(young_per_older=3, older_per_full=2)
    with collector.counting():
        gc.collect()
        assert collector.due_generation() is None
        for _ in range(3):
            gc.collect(0)
        assert collector.due_generation() == 1
        gc.collect(1)
        assert collector.due_generation() is None  # the middle one ran: young ones count from zero
        gc.collect(1)
        assert collector.due_generation() == len(gc.get_threshold()) - 1  # the oldest, however many
        gc.collect()
        assert collector.due_generation() is None


@pytest.mark.parametrize("saved", [(700, 10, 10), (2000, 10, 0), (700, 10)])
def test_only_the_young_threshold_stays_whatever_the_number_of_generations(saved: tuple[int, ...]) -> None:
    assert deferred_thresholds(saved) == (saved[0], *([NEVER] * (len(saved) - 1)))


def test_a_busy_process_collects_only_within_the_budget_unless_overdue(older_collections: list[int]) -> None:
    collector = QuietCollector(young_per_older=10, busy_scan_limit=0, force_after_seconds=3600)
    gc.collect()
    older_collections.clear()
    collector.request_started()
    with collector.counting():
        ref = garbage_cycle_in_older_generation(young_collections=10)
        assert collector.collect_if_cheap() is None  # any scan is over a budget of 0
        assert collector.collect_if_overdue() is None  # and none is overdue yet
        assert ref() is not None
        assert older_collections == []

        collector.busy_scan_limit = 10**9  # a larger budget is not held back by the refusal
        assert collector.collect_if_cheap() == 1
        assert ref() is None

        collector.busy_scan_limit = 0
        ref = garbage_cycle_in_older_generation(young_collections=10)
        collector.force_after_seconds = 0.0
        assert collector.collect_if_overdue() == 1  # in flight and over budget: overdue wins
        assert ref() is None


def test_a_collection_refused_for_its_size_runs_once_it_fits() -> None:
    collector = QuietCollector(young_per_older=1, quiet_scan_limit=0, check_every_seconds=1.0)
    with collector.counting():
        gc.collect(0)
        assert collector.collect_if_cheap() is None
        time.sleep(0.11)
        collector.quiet_scan_limit = 10**9
        assert collector.collect_if_cheap() == 1


def test_under_load_that_stays_the_objects_are_counted_ever_less_often() -> None:
    """Counting what a collection would scan lists every object of those generations: under load that
    never fits the budget, each refusal doubles the wait before the next count, up to the periodic check."""
    now = [0.0]
    counts: list[float] = []

    class Counted(QuietCollector):
        def _objects_to_scan(self, generation: int) -> int:
            counts.append(now[0])
            return 10**9

    collector = Counted(young_per_older=1, busy_scan_limit=1, check_every_seconds=1.0, clock=lambda: now[0])
    collector.in_flight = 1
    with collector.counting():
        gc.collect(0)
        while now[0] < 5.0:  # a request ending every millisecond for five seconds
            collector.collect_if_cheap()
            now[0] = round(now[0] + 0.001, 3)
    gaps = [round(b - a, 3) for a, b in itertools.pairwise(counts)]
    assert gaps[:4] == pytest.approx([0.1, 0.2, 0.4, 0.8], abs=0.0015)
    assert gaps[4:] == pytest.approx([1.0] * (len(gaps) - 4), abs=0.0015)
    assert len(counts) == 8  # not 50, as a fixed tenth of the check would give


@pytest.fixture
def held_request_app() -> Iterator[tuple[str, QuietCollector, threading.Event, dict[str, weakref.ref[Node]]]]:
    collector = QuietCollector(busy_scan_limit=0, quiet_scan_limit=10**9, check_every_seconds=3600)
    release = threading.Event()
    made: dict[str, weakref.ref[Node]] = {}

    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with collector.running():
            yield

    app = FastAPI(lifespan=lifespan)

    @app.post("/hold")
    async def hold() -> dict[str, bool]:
        a, b = Node(), Node()
        a.other, b.other = b, a  # alive while the request is: it moves to generation 1
        for _ in range(collector.young_per_older):
            gc.collect(0)
        made["cycle"] = weakref.ref(a)
        await asyncio.to_thread(release.wait, 10)
        return {"held": True}

    app.add_middleware(CountRequestsInFlight, collector=collector)
    with serve_asgi(app) as url:
        yield url, collector, release, made


def test_the_older_collection_waits_for_the_request_then_frees_its_garbage(
    held_request_app: tuple[str, QuietCollector, threading.Event, dict[str, weakref.ref[Node]]],
    older_collections: list[int],
) -> None:
    url, collector, release, made = held_request_app
    answers: list[httpx.Response] = []
    client = threading.Thread(target=lambda: answers.append(httpx.post(f"{url}/hold", timeout=10)))
    client.start()
    deadline = time.monotonic() + 10
    while "cycle" not in made and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "cycle" in made
    assert collector.in_flight == 1

    for _ in range(3 * collector.young_per_older):  # young collections go on meanwhile; no older one
        gc.collect(0)
    assert collector.collect_if_cheap() is None
    assert older_collections == []
    assert made["cycle"]() is not None

    release.set()
    client.join(timeout=10)
    assert answers
    assert answers[0].status_code == 200
    while made["cycle"]() is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert made["cycle"]() is None  # collected once the request had ended: its cycle went with it
    assert older_collections
    assert collector.in_flight == 0
