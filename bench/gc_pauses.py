"""Garbage-collector pauses of the app process, measured with `gc.callbacks` (bench only).

Every collection's wall time and the CPU time this thread spent in it are recorded per generation
(a pause much longer in wall time than in CPU time was the process waiting for a core, not the
collector working); the bench resets the record before its
measured runs and reads it afterwards (`GET /bench/gc`), so the longest pause a request could have
waited on is reported beside the latencies. Collections that started with no request in flight
(the older generations, which `saleor_coinpayments.runtime.quiet_gc` keeps for such moments) are counted
apart: no request was waiting when they began.
"""

from __future__ import annotations

import gc
import time
from typing import Any

from saleor_coinpayments.runtime.quiet_gc import RequestCounter


class GcPauses:
    def __init__(self, in_flight: RequestCounter) -> None:
        self._in_flight = in_flight
        self._started = 0.0
        self._started_cpu = 0.0
        self._quiet = False
        self.reset()

    def reset(self) -> None:
        n = len(gc.get_threshold())  # the interpreter's generations, however many
        self.count = [0] * n
        self.longest_ms = [0.0] * n
        self.longest_cpu_ms = [0.0] * n
        self.collected = [0] * n
        self.total_ms = 0.0
        self.over_10ms = 0
        self.quiet_count = [0] * n
        self.quiet_longest_ms = [0.0] * n

    def install(self) -> None:
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            self._started_cpu = time.thread_time()
            self._quiet = self._in_flight.in_flight == 0
            return
        pause = (time.perf_counter() - self._started) * 1000
        cpu = (time.thread_time() - self._started_cpu) * 1000
        generation = min(int(info.get("generation", 0)), len(self.count) - 1)
        if self._quiet:
            self.quiet_count[generation] += 1
            self.quiet_longest_ms[generation] = max(self.quiet_longest_ms[generation], pause)
            return
        self.count[generation] += 1
        self.longest_ms[generation] = max(self.longest_ms[generation], pause)
        self.longest_cpu_ms[generation] = max(self.longest_cpu_ms[generation], cpu)
        self.collected[generation] += int(info.get("collected", 0))
        self.total_ms += pause
        if pause > 10:
            self.over_10ms += 1

    def to_json(self) -> dict[str, Any]:
        return {
            "collections": self.count,
            "longest_ms": [round(ms, 3) for ms in self.longest_ms],
            "longest_cpu_ms": [round(ms, 3) for ms in self.longest_cpu_ms],
            "collected": self.collected,
            "total_ms": round(self.total_ms, 3),
            "over_10ms": self.over_10ms,
            "quiet_collections": self.quiet_count,
            "quiet_longest_ms": [round(ms, 3) for ms in self.quiet_longest_ms],
            "tracked_objects": len(gc.get_objects()),
            "frozen_objects": gc.get_freeze_count(),
        }
