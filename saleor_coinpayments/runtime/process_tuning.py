"""Process-wide settings for a long-running server: the garbage collector.

They change the whole interpreter, so only `saleor-coinpayments serve` applies them (through
`ProcessTuning`); an app made by `create_app()` alone, as in the tests, leaves the process as it
found it. Each can be switched off by its setting (see `ProcessTuning.from_settings`).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from saleor_coinpayments.runtime.quiet_gc import QuietCollector, generations
from saleor_coinpayments.settings import Settings

WARM_FREEZES = 3


@dataclass
class StartupFreezer:
    """Moves what start-up made (modules, routes, schemas, settings) out of the collector's sight,
    so a full collection scans only what requests make and no request waits on a long one; then
    does the same after the first `WARM_FREEZES` full collections the traffic brings.

    The first requests fill long-lived caches (compiled SQL, pools, parsed keys) that every later
    full collection would scan again, at about half a microsecond per object. What survives one of
    the first full collections is mostly those caches: frozen, it is never scanned again. The price
    is bounded: a cycle among the objects of the requests in flight at those moments is never
    collected (plain reference counting still frees everything else)."""

    warm_freezes_left: int = WARM_FREEZES
    _oldest: int = field(default_factory=lambda: generations() - 1)

    def freeze_startup_objects(self) -> None:
        gc.collect()
        gc.freeze()
        if self.after_collection not in gc.callbacks:
            gc.callbacks.append(self.after_collection)

    def after_collection(self, phase: str, info: dict[str, Any]) -> None:
        if phase != "stop" or info.get("generation") != self._oldest or self.warm_freezes_left <= 0:
            return
        self.warm_freezes_left -= 1
        gc.freeze()  # (the callback stays registered: removing it while callbacks run could skip another)

    def forget(self) -> None:
        """Stop freezing after collections (the frozen objects stay frozen)."""
        if self.after_collection in gc.callbacks:
            gc.callbacks.remove(self.after_collection)


@dataclass(frozen=True)
class ProcessTuning:
    """What `serve` does to its process, each part switched by a setting."""

    gc_freeze: bool = True
    quiet_gc: bool = True
    collector: QuietCollector = field(default_factory=QuietCollector, compare=False)
    freezer: StartupFreezer = field(default_factory=StartupFreezer, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> ProcessTuning:
        return cls(
            gc_freeze=settings.runtime_gc_freeze,
            quiet_gc=settings.runtime_quiet_gc,
        )

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The collector's parts, from the end of start-up (inside the app's lifespan) to shutdown."""
        if self.gc_freeze:
            self.freezer.freeze_startup_objects()
        if not self.quiet_gc:
            yield
            return
        async with self.collector.running():
            yield
