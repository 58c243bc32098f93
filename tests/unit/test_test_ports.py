"""The suite's own port allocator: xdist workers never hand out the same port, and no port comes
from the kernel's ephemeral range, where outgoing connections take theirs (a CI run once saw
an app fail to bind, and its readiness check answered by another worker's app)."""

from __future__ import annotations

import itertools
import socket

import pytest

from tests.helpers import servers


def _slice(
    monkeypatch: pytest.MonkeyPatch, worker: str, workers: int, count: int, database: str = "sqlite"
) -> set[int]:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", str(workers))
    monkeypatch.setenv("TEST_DATABASE", database)
    return set(itertools.islice(servers.worker_ports(), count))


def test_workers_get_disjoint_ports_below_the_ephemeral_range(monkeypatch: pytest.MonkeyPatch) -> None:
    ephemeral = servers.first_ephemeral_port()
    slices = [_slice(monkeypatch, f"gw{n}", 3, 40_000) for n in range(3)]
    for one, other in itertools.combinations(slices, 2):
        assert not one & other
    every = set().union(*slices)
    assert min(every) >= 10_000
    assert max(every) < ephemeral


def test_the_two_database_suites_run_side_by_side_get_disjoint_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    """`make test` runs the SQLite and the PostgreSQL suites at once, each with its own gw0, gw1."""
    slices = [
        _slice(monkeypatch, f"gw{n}", 2, 20_000, database) for database in ("sqlite", "postgresql") for n in (0, 1)
    ]
    for one, other in itertools.combinations(slices, 2):
        assert not one & other
    assert max(set().union(*slices)) < servers.first_ephemeral_port()


def test_a_port_that_is_taken_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", servers.free_port()))
        listener.listen()
        taken = listener.getsockname()[1]
        monkeypatch.setattr(servers, "port_supply", itertools.chain([taken], servers.port_supply))
        assert servers.free_port() != taken
