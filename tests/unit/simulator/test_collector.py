"""The simulator command keeps full collections off its long-lived state (collector.py): it freezes
what start-up made and what a full collection keeps once that is many objects, not a few leftovers."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

from saleor_coinpayments.simulator import server
from saleor_coinpayments.simulator.collector import LongLivedState


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """As in a process that froze nothing yet and has no collection callbacks (another test's may
    still be registered in this worker, and one freezing after a full collection made counts here
    flaky); put back afterwards (frozen objects unfrozen)."""
    callbacks = list(gc.callbacks)
    gc.callbacks.clear()
    gc.unfreeze()
    yield
    gc.callbacks[:] = callbacks
    gc.unfreeze()


def test_a_full_collection_freezes_what_it_kept_once_that_is_many_objects(unfrozen: None) -> None:
    state = LongLivedState(freeze_at=1_000, check_every_seconds=3600)  # no watcher's collection meanwhile
    state.install()
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0  # start-up's objects
        few = [Node() for _ in range(10)]
        gc.collect()
        assert gc.get_freeze_count() == frozen  # a few survivors stay collectable
        many = [Node() for _ in range(2_000)]
        gc.collect()
        assert gc.get_freeze_count() >= frozen + 2_000
        assert state.freezes == 1
        frozen = gc.get_freeze_count()
        gc.collect(1)  # a younger collection freezes nothing
        assert gc.get_freeze_count() == frozen
        assert few
        assert many
    finally:
        state.uninstall()
    assert state.after_collection not in gc.callbacks


def test_a_grown_old_generation_is_collected_and_frozen_before_cpython_would(unfrozen: None) -> None:
    state = LongLivedState(freeze_at=1_000)
    state.after_collection("stop", {"generation": 0})  # only full collections count
    gc.collect()
    gc.freeze()
    gc.callbacks.append(state.after_collection)
    frozen = gc.get_freeze_count()
    assert not state.collect_if_grown()
    kept = [Node() for _ in range(2_000)]
    gc.collect(1)  # survivors of a younger collection join the old generation, unscanned by a full one
    assert gc.get_freeze_count() == frozen
    assert state.collect_if_grown()
    assert gc.get_freeze_count() >= frozen + 2_000
    assert not state.collect_if_grown()
    assert kept


def test_the_simulator_command_applies_it_for_as_long_as_it_serves(
    unfrozen: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}

    def serving(app: Any, **_: Any) -> None:
        seen["hooks"] = [c for c in gc.callbacks if isinstance(getattr(c, "__self__", None), LongLivedState)]
        seen["frozen"] = gc.get_freeze_count()
        seen["watching"] = [h.__self__.watching for h in seen["hooks"]]

    monkeypatch.setattr(server.uvicorn, "run", serving)
    server.run_simulator("127.0.0.1", 0, [("0a1b2c3d4e5f40718293a4b5c6d7e8f9", "c2VjcmV0")], None)
    assert len(seen["hooks"]) == 1
    assert seen["frozen"] > 0
    assert seen["watching"] == [True]
    assert not seen["hooks"][0].__self__.watching  # its thread ended too
    assert seen["hooks"][0] not in gc.callbacks  # removed once it stops serving
