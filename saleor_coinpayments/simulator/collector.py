"""The simulator's process and the garbage collector: what it keeps is long-lived, so full collections leave it alone.

The simulator keeps every invoice until reset: 10,000 in bench/scale.py, about 100,000 objects the
collector tracks on top of start-up's 60,000. A full collection (the oldest generation) scanned
them all, 140–270 ms on the bench machine, while the one event loop stood still and arrivals
waited in the socket (loop_lag.py). So the `simulator` command freezes (`gc.freeze`) what start-up
made, and after each full collection what survived it once that is `freeze_at` objects or more:
state made since (invoices), which later full collections do not scan again. CPython starts a
full collection only once a quarter of what the last one kept is new (tens of thousands of
objects here), so a thread also runs one as soon as the old generation's unfrozen part reaches
`freeze_at`: each scans a few thousand objects. Fewer survivors (a few requests' leftovers) stay
collectable and are looked at again next time. The price: a reference cycle among objects alive
at a freeze is never collected once dropped.

Process-wide, so only `run_simulator` applies it; an app made by `create_simulator_app()` in a
test leaves the interpreter as it found it.
"""

from __future__ import annotations

import gc
import threading
from dataclasses import dataclass, field
from typing import Any

FREEZE_AT = 5_000  # survivors worth freezing (about 500 invoices); what stays unfrozen bounds a full scan


@dataclass
class LongLivedState:
    freeze_at: int = FREEZE_AT
    check_every_seconds: float = 1.0
    freezes: int = 0
    _oldest: int = field(default_factory=lambda: len(gc.get_threshold()) - 1)
    _stop: threading.Event = field(default_factory=threading.Event)
    _watcher: threading.Thread | None = None

    def install(self) -> None:
        """Freeze what exists now (start-up), and what each later full collection keeps; watch the
        old generation's growth."""
        gc.collect()
        gc.freeze()
        if self.after_collection not in gc.callbacks:
            gc.callbacks.append(self.after_collection)
        if self._watcher is None:
            self._stop.clear()
            self._watcher = threading.Thread(target=self._watch, name="simulator-gc", daemon=True)
            self._watcher.start()

    def uninstall(self) -> None:
        """No more freezing or watching (what is frozen stays so)."""
        if self.after_collection in gc.callbacks:
            gc.callbacks.remove(self.after_collection)
        if self._watcher is not None:
            self._stop.set()
            self._watcher.join()
            self._watcher = None

    @property
    def watching(self) -> bool:
        return self._watcher is not None and self._watcher.is_alive()

    def _watch(self) -> None:
        while not self._stop.wait(self.check_every_seconds):
            self.collect_if_grown()

    def collect_if_grown(self) -> bool:
        """A full collection once the old generation's unfrozen part holds `freeze_at` objects,
        while its scan is short (what it keeps is then frozen)."""
        if len(gc.get_objects(generation=self._oldest)) < self.freeze_at:
            return False
        gc.collect()
        return True

    def after_collection(self, phase: str, info: dict[str, Any]) -> None:
        if phase != "stop" or info.get("generation") != self._oldest:
            return
        if len(gc.get_objects(generation=self._oldest)) >= self.freeze_at:
            self.freezes += 1
            gc.freeze()
