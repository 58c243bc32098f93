"""An event loop on a virtual clock: when every task waits, time jumps to the next timer.

Concurrent sleeps then overlap as they do in real time (unlike a fake clock that every sleep moves
on), and a test of seconds of traffic runs in milliseconds, the same on a busy machine."""

from __future__ import annotations

import asyncio
import selectors


class _JumpingSelector(selectors.DefaultSelector):
    """Never blocks: nothing ready within `timeout` means that much virtual time has passed."""

    def __init__(self, loop: VirtualTimeLoop) -> None:
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(0)
        if not ready and timeout is not None and timeout > 0:
            self._loop.now += timeout
        return ready


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """`step_cost`: virtual seconds each callback takes, as on a loop with CPU-bound work, so a
    hand-over from task to task costs time."""

    def __init__(self, step_cost: float = 0.0) -> None:
        self.now = 0.0
        self.step_cost = step_cost
        super().__init__(_JumpingSelector(self))

    def _run_once(self) -> None:
        self.now += self.step_cost * len(self._ready)  # type: ignore[attr-defined]
        super()._run_once()  # type: ignore[misc]

    def time(self) -> float:
        return self.now
