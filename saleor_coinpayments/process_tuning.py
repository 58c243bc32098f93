"""Process-wide settings for a long-running server: memory arenas, the GIL and the garbage collector."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys
from typing import Any

_M_ARENA_MAX = -8  # glibc's mallopt parameter number
MALLOC_ARENAS = 2


def limit_malloc_arenas() -> None:
    """glibc gives each thread that allocates its own malloc arena (up to 8 per core), and every
    arena keeps freed memory. The driver threads (one per SQLite connection, the DNS resolver)
    would each grow one: two arenas hold the RSS down at no measurable cost in speed. Must run
    before those threads start; a no-op off glibc."""
    name = ctypes.util.find_library("c")
    if not name:
        return
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_ARENA_MAX, MALLOC_ARENAS)


GIL_SWITCH_SECONDS = 0.001


def shorten_gil_switch_interval() -> None:
    """The event loop gives the GIL up in every blocking call (a point read on SQLite, a socket
    send) and the driver threads (one per SQLite connection, the name resolver) take it; by
    default the loop then waits up to 5 ms to get it back while a thread runs Python. At 1 ms the
    tail shortened: transactionProcess p99 at one connection beside its background re-reads (on
    PostgreSQL, CoinPayments fast) was 4–9 ms above the echo in four bench runs of four without,
    and under 2 ms in three of four with it (6 ms in the fourth); no route's throughput moved."""
    sys.setswitchinterval(GIL_SWITCH_SECONDS)


def freeze_startup_objects() -> None:
    """Move everything start-up made (modules, routes, schemas, settings) out of the collector's
    sight, so a full collection scans only what requests make and no request waits on a long one;
    then do the same after the first few full collections the traffic brings (see below)."""
    gc.collect()
    gc.freeze()
    if _freeze_after_full_collection not in gc.callbacks:
        gc.callbacks.append(_freeze_after_full_collection)


WARM_FREEZES = 3
_warm_freezes_left = WARM_FREEZES


def _freeze_after_full_collection(phase: str, info: dict[str, Any]) -> None:
    """The first requests fill long-lived caches (compiled SQL, pools, parsed keys) that every later
    full collection would scan again, at about half a microsecond per object. What survives one of
    the first WARM_FREEZES full collections is mostly those caches: frozen, it is never scanned again.
    The price is bounded: a cycle among the objects of the requests in flight at those moments is
    never collected (plain reference counting still frees everything else)."""
    global _warm_freezes_left
    if phase != "stop" or info.get("generation") != 2 or _warm_freezes_left <= 0:
        return
    _warm_freezes_left -= 1
    gc.freeze()  # (the callback stays registered: removing it while callbacks run could skip another)
