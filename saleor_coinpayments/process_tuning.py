"""Process-wide settings for a long-running server: memory arenas and the garbage collector."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc

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


def freeze_startup_objects() -> None:
    """Move everything start-up made (modules, routes, schemas, settings) out of the collector's
    sight, so a full collection scans only what requests make and no request waits on a long one."""
    gc.collect()
    gc.freeze()
