"""Process-wide tuning: only `serve` applies it (an app made in-process leaves the interpreter as it
found it), each part follows its setting, and start-up and warm caches are frozen a bounded number
of times."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from saleor_coinpayments.app import create_app
from saleor_coinpayments.runtime.process_tuning import WARM_FREEZES, ProcessTuning, StartupFreezer
from saleor_coinpayments.settings import Settings, load_settings
from tests.helpers.servers import serve_asgi


def settings_in(folder: Path) -> Settings:
    return load_settings(data_dir=folder, database_url=f"sqlite+aiosqlite:///{folder / 'app.db'}", secret_key="k" * 32)


@pytest.fixture
def freezer() -> Iterator[StartupFreezer]:
    """As in a process that has not started the app yet (another test in this worker may have)."""
    gc.unfreeze()
    made = StartupFreezer()
    yield made
    made.forget()
    gc.unfreeze()


@pytest.fixture
def interpreter_state() -> Iterator[None]:
    """Whatever a test changes in the interpreter is put back."""
    thresholds, interval = gc.get_threshold(), sys.getswitchinterval()
    yield
    gc.set_threshold(*thresholds)
    sys.setswitchinterval(interval)


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def test_survivors_of_the_first_full_collections_are_frozen_then_no_more(freezer: StartupFreezer) -> None:
    freezer.freeze_startup_objects()
    frozen = gc.get_freeze_count()
    assert frozen > 0
    kept: list[list[Node]] = []
    for _ in range(WARM_FREEZES):
        kept.append([Node() for _ in range(100)])  # long-lived: survives the next full collection
        gc.collect()
        assert gc.get_freeze_count() >= frozen + 100
        frozen = gc.get_freeze_count()
    kept.append([Node() for _ in range(100)])
    gc.collect()
    assert gc.get_freeze_count() == frozen  # later full collections freeze nothing more


def test_young_collections_freeze_nothing(freezer: StartupFreezer) -> None:
    freezer.freeze_startup_objects()
    frozen = gc.get_freeze_count()
    kept = [Node() for _ in range(100)]
    gc.collect(0)
    assert gc.get_freeze_count() == frozen
    assert kept


def test_an_app_made_and_run_in_process_leaves_the_interpreter_as_it_was(
    interpreter_state: None, tmp_path: Path
) -> None:
    sys.setswitchinterval(0.004)
    gc.set_threshold(701, 11, 12)
    callbacks, frozen = list(gc.callbacks), gc.get_freeze_count()
    app = create_app(settings_in(tmp_path), run_workers=False)
    with serve_asgi(app) as url:  # the lifespan has run: the app is started
        assert httpx.get(f"{url}/health/live", timeout=10).status_code == 200
        assert gc.get_threshold() == (701, 11, 12)
        assert sys.getswitchinterval() == pytest.approx(0.004)
        assert gc.callbacks == callbacks
        assert gc.get_freeze_count() == frozen
    assert gc.get_threshold() == (701, 11, 12)
    assert sys.getswitchinterval() == pytest.approx(0.004)


def test_the_settings_switch_each_part() -> None:
    on = ProcessTuning.from_settings(load_settings())
    assert (on.quiet_gc, on.gc_freeze) == (True, True)
    off = ProcessTuning.from_settings(load_settings(runtime_quiet_gc=False, runtime_gc_freeze=False))
    assert (off.quiet_gc, off.gc_freeze) == (False, False)


def test_with_the_quiet_collector_and_freezing_off_the_running_app_leaves_the_collector_alone(
    interpreter_state: None, tmp_path: Path
) -> None:
    gc.set_threshold(702, 10, 10)
    callbacks, frozen = list(gc.callbacks), gc.get_freeze_count()
    tuning = ProcessTuning(gc_freeze=False, quiet_gc=False)
    with serve_asgi(create_app(settings_in(tmp_path), run_workers=False, tuning=tuning)) as url:
        assert httpx.get(f"{url}/health/live", timeout=10).status_code == 200
        assert gc.get_threshold() == (702, 10, 10)
        assert gc.callbacks == callbacks
        assert gc.get_freeze_count() == frozen


def test_with_the_quiet_collector_on_the_running_app_defers_the_older_generations(
    interpreter_state: None, tmp_path: Path
) -> None:
    gc.set_threshold(703, 10, 10)
    tuning = ProcessTuning(gc_freeze=False, quiet_gc=True)
    with serve_asgi(create_app(settings_in(tmp_path), run_workers=False, tuning=tuning)) as url:
        assert httpx.get(f"{url}/health/live", timeout=10).status_code == 200
        assert gc.get_threshold()[0] == 703
        assert all(threshold > 10**6 for threshold in gc.get_threshold()[1:])
    assert gc.get_threshold() == (703, 10, 10)
