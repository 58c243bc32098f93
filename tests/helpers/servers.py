"""Real HTTP servers on loopback for tests: any ASGI app under uvicorn in a background thread."""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn

_LOWEST_TEST_PORT = 10000
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def first_ephemeral_port() -> int:
    """Where the kernel starts handing out ports to `bind(0)` and to outgoing connections."""
    try:
        return int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def worker_ports() -> Iterator[int]:
    """This test worker's own slice of the ports below the ephemeral range, from a random start.

    A port that `bind(0)` picked and let go can be taken before a server binds it: by another
    xdist worker's `bind(0)`, or as the local port of any outgoing connection. A server that
    loses that race fails to bind, and a readiness check may then reach another worker's
    server. Slices per worker and per database suite, outside the kernel's range, rule both out
    within a run, and between the two suites `make test` runs side by side.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    workers = max(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")), 1)
    # `make test` runs the SQLite and the PostgreSQL suites at once: each has its half of the range.
    suite = 1 if os.environ.get("TEST_DATABASE", "sqlite").strip().lower() == "postgresql" else 0
    index = suite * workers + (int(worker) if worker.isdigit() else 0)
    width = (first_ephemeral_port() - _LOWEST_TEST_PORT) // (2 * workers)
    first = _LOWEST_TEST_PORT + index * width
    start = random.randrange(width)
    return (first + (start + step) % width for step in itertools.count())


port_supply = worker_ports()
_ports_lock = threading.Lock()


def free_port() -> int:
    """A loopback port nobody listens on, that no other worker of this run will hand out."""
    with _ports_lock:
        for port in port_supply:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise AssertionError("unreachable: the port cycle is endless")


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # a thread cannot own signal handlers
        pass


@contextlib.contextmanager
def serve_asgi(app: Any, port: int | None = None, host: str = "127.0.0.1") -> Iterator[str]:
    """Run `app` on a loopback port until the block ends; yields its base URL (no trailing slash)."""
    port = port or free_port()
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on", loop="asyncio")
    server = _Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"server on port {port} did not start")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
