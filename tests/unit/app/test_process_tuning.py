"""Process-wide settings: start-up and warm caches are frozen (a bounded number of times), and
the GIL comes back to the event loop quickly."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator

import pytest

from saleor_coinpayments import process_tuning
from saleor_coinpayments.app import create_app
from saleor_coinpayments.settings import load_settings


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


def test_the_app_takes_the_gil_back_from_driver_threads_within_a_millisecond() -> None:
    default = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)  # CPython's default
        create_app(load_settings(), run_workers=False)
        assert sys.getswitchinterval() <= process_tuning.GIL_SWITCH_SECONDS
    finally:
        sys.setswitchinterval(default)
