"""The collector settings: start-up and warm caches are frozen, a bounded number of times."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from saleor_coinpayments import process_tuning


@pytest.fixture
def fresh_collector(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As in a process that has not started the app yet (another test in this worker may have)."""

    def forget() -> None:
        if process_tuning._freeze_after_full_collection in gc.callbacks:
            gc.callbacks.remove(process_tuning._freeze_after_full_collection)
        gc.unfreeze()

    forget()
    monkeypatch.setattr(process_tuning, "_warm_freezes_left", process_tuning.WARM_FREEZES)
    yield
    forget()


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def test_survivors_of_the_first_full_collections_are_frozen_then_no_more(fresh_collector: None) -> None:
    process_tuning.freeze_startup_objects()
    frozen = gc.get_freeze_count()
    assert frozen > 0
    kept: list[list[Node]] = []
    for _ in range(process_tuning.WARM_FREEZES):
        kept.append([Node() for _ in range(100)])  # long-lived: survives the next full collection
        gc.collect()
        assert gc.get_freeze_count() >= frozen + 100
        frozen = gc.get_freeze_count()
    kept.append([Node() for _ in range(100)])
    gc.collect()
    assert gc.get_freeze_count() == frozen  # later full collections freeze nothing more


def test_young_collections_freeze_nothing(fresh_collector: None) -> None:
    process_tuning.freeze_startup_objects()
    frozen = gc.get_freeze_count()
    kept = [Node() for _ in range(100)]
    gc.collect(0)
    gc.collect(1)
    assert gc.get_freeze_count() == frozen
    assert kept
