"""What bench/scale.py and bench/chaos.py share: a throw-away PostgreSQL database, the simulator in
its own process, the fake Saleor of the tests in this one, app replicas by their own command, and
the figures read from them (the simulator's rate meter, PostgreSQL's counters, the app's metrics).

Everything listens on loopback; every loop here is bounded in count and in time."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.background import _admin, _simulator
from saleor_coinpayments.settings import Settings
from saleor_coinpayments.store.migrate import upgrade
from tests.fakes.saleor import FakeSaleor
from tests.fakes.saleor_model import Line
from tests.helpers.app_server import app_settings, start_app_process
from tests.helpers.servers import free_port
from tests.integration.e2e.world import Simulator, configure

GATEWAY = "saleor.coinpayments"
COIN = "1002"  # LTCT: the simulator's test coin
MUG = Line("Mug", "M", "MUG", 1, Decimal("20.00"))


# The test suite's app settings (tests/helpers/app_server.py) re-read every invoice each 0.3 s and
# keep the sweeps away; a bench measures the app as shipped, so these take the app's own defaults.
SHIPPED = ("reconcile_interval_seconds", "sweep_recent_seconds", "sweep_all_seconds", "outbox_interval_seconds")


def shipped_defaults() -> dict[str, Any]:
    return {name: Settings.model_fields[name].default for name in SHIPPED}


def parse_app_settings(pairs: list[str]) -> dict[str, str]:
    """`NAME=VALUE` pairs (setting names as in the environment, any case) for every replica."""
    settings: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or name.strip().lower() not in Settings.model_fields:
            raise SystemExit(f"--app-setting {pair!r}: not NAME=VALUE of a known setting")
        settings[name.strip().lower()] = value
    return settings


@contextlib.contextmanager
def database(admin_dsn: str, prefix: str) -> Iterator[tuple[str, str]]:
    """A migrated throw-away database: (SQLAlchemy URL, asyncpg DSN); dropped at the end."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    _admin(admin_dsn, f'CREATE DATABASE "{name}"')
    base = admin_dsn.split("://", 1)[1].rsplit("/", 1)[0]
    try:
        url = f"postgresql+asyncpg://{base}/{name}"
        upgrade(url)
        yield url, f"postgresql://{base}/{name}"
    finally:
        _admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Replica:
    port: int
    settings: Settings
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = start_app_process(self.settings)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None


@dataclass
class BenchWorld:
    url: str
    dsn: str
    sim: Simulator
    saleor: FakeSaleor
    data_dir: Path
    common: dict[str, Any]
    replicas: list[Replica] = field(default_factory=list)

    def replica(self, port: int | None = None, **overrides: Any) -> Replica:
        """A replica (not started); the first one's port is the invoices' notification address."""
        port = port or free_port()
        settings = app_settings(self.url, self.data_dir, port, **{**self.common, **overrides})
        replica = Replica(port, settings)
        self.replicas.append(replica)
        return replica

    def stop_all(self) -> None:
        for replica in self.replicas:
            replica.stop()

    # --- work through the app's own paths --------------------------------------------------------

    def checkout(self) -> tuple[str, str, str]:
        """A checkout paid with the app: (transaction id, invoice id, the pay page link)."""
        for _attempt in range(5):  # a busy machine may time a request out: a new checkout then
            made = self.saleor.create_checkout([MUG])
            started = self.saleor.transaction_initialize(made.id, gateway=GATEWAY)
            if started.event is not None and started.event.type == "CHARGE_ACTION_REQUIRED":
                assert started.transaction is not None
                return started.transaction.id, str(started.event.psp_reference), str(started.event.external_url)
        raise RuntimeError(f"transactionInitialize failed: {started.data}")

    def sent_invoice(self, timeout: float = 60.0) -> tuple[str, str]:
        """An order's invoice sent out by the app (INVOICE_REQUESTED): (transaction id, invoice id)."""
        order = self.saleor.create_order([MUG], email="buyer@example.com")
        self.saleor.request_invoice(order.id)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.saleor.lock:
                ours = [t for t in self.saleor.order(order.id).transactions if t.psp_reference]
            if ours:
                return ours[0].id, str(ours[0].psp_reference)
            time.sleep(0.2)
        raise RuntimeError(f"no invoice sent for order {order.id} in {timeout} s")

    def outcome(self, transaction_id: str) -> str | None:
        """The transaction's final report in Saleor (CHARGE_SUCCESS or CHARGE_FAILURE), if any."""
        with self.saleor.lock:
            events = self.saleor.transaction(transaction_id).events
            for event in events:
                if event.type in ("CHARGE_SUCCESS", "CHARGE_FAILURE"):
                    return str(event.type)
        return None

    # --- figures ---------------------------------------------------------------------------------

    def coinpayments_requests(self) -> dict[str, int]:
        clients = self.sim.control("GET", "/api-rate")["clients"]
        counted: dict[str, int] = clients.get(self.sim.client_id, {"requests": 0, "maxPerSecond": 0})
        return counted

    def database_counters(self) -> dict[str, int]:
        """PostgreSQL's counters of this database: transactions (a point statement is one) and rows."""

        async def read() -> dict[str, int]:
            conn = await asyncpg.connect(self.dsn, timeout=10)
            try:
                row = await conn.fetchrow(
                    "SELECT xact_commit + xact_rollback AS xacts, tup_returned + tup_fetched AS read,"
                    " tup_inserted + tup_updated + tup_deleted AS written"
                    " FROM pg_stat_database WHERE datname = current_database()"
                )
                assert row is not None
                return {key: int(row[key]) for key in ("xacts", "read", "written")}
            finally:
                await conn.close()

        return asyncio.run(read())


@contextlib.contextmanager
def bench_world(admin_dsn: str, work_dir: Path, prefix: str, **common: Any) -> Iterator[BenchWorld]:
    """Database, simulator and fake Saleor; the app installed and configured (its pay page) by a
    setup replica that is stopped before this yields; replicas are the caller's."""
    import secrets

    client_id, secret = secrets.token_hex(16), secrets.token_urlsafe(32)
    with database(admin_dsn, prefix) as (url, dsn), _simulator(client_id, secret) as sim, FakeSaleor.serve() as saleor:
        common = {"coinpayments_api_url": sim.base_url, "log_level": "WARNING", **shipped_defaults(), **common}
        world = BenchWorld(url, dsn, sim, saleor, work_dir, common)
        try:
            yield world
        finally:
            world.stop_all()


def install(world: BenchWorld, first: Replica) -> None:
    """Install the app through `first` (running) and configure the channel for its pay page."""
    world.saleor.install_app(f"{first.base_url}/api/manifest")
    configure(world.url, world.saleor.api_url, world.sim, checkout_page="app")


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def live_rate_limit_waits(
    base_url: str, priority: str = "live", histogram: str = "coinpayments_rate_limiter_wait_seconds"
) -> dict[float, float]:
    """The app's histogram of live requests' waits for a rate-limit slot (or another of the
    limiter's histograms): {upper bound: count}; the late slots given up at that priority under
    the key -1."""
    buckets: dict[float, float] = {}
    with contextlib.suppress(httpx.HTTPError):
        for line in httpx.get(f"{base_url}/metrics", timeout=10).text.splitlines():
            if f'priority="{priority}"' not in line:
                continue
            if line.startswith(f"{histogram}_bucket{{"):
                bound = line.split('le="', 1)[1].split('"', 1)[0]
                buckets[float("inf") if bound == "+Inf" else float(bound)] = float(line.rsplit(" ", 1)[1])
            elif line.startswith("coinpayments_rate_limiter_late_slots_total{"):
                buckets[-1.0] = float(line.rsplit(" ", 1)[1])
    return buckets


def bucket_counts(before: dict[float, float], after: dict[float, float]) -> str:
    """The observations between two reads, bucket by bucket (not cumulative): `<=15ms:3 …`."""
    bounds = sorted(bound for bound in after if bound >= 0)
    counts, below = [], 0.0
    for bound in bounds:
        total = after[bound] - before.get(bound, 0.0)
        if total > below:
            label = "+Inf" if bound == float("inf") else f"{bound * 1000:g}ms"
            counts.append(f"<={label}:{int(total - below)}")
        below = total
    return " ".join(counts) or "none"


def coinpayments_calls(base_urls: list[str]) -> dict[str, float]:
    """CoinPayments calls the replicas made, by operation (their metrics), summed over `base_urls`."""
    calls: dict[str, float] = {}
    for base_url in base_urls:
        with contextlib.suppress(httpx.HTTPError):
            for line in httpx.get(f"{base_url}/metrics", timeout=10).text.splitlines():
                if line.startswith("coinpayments_request_duration_seconds_count{"):
                    operation = line.split('operation="', 1)[1].split('"', 1)[0]
                    calls[operation] = calls.get(operation, 0.0) + float(line.rsplit(" ", 1)[1])
    return calls


def calls_between(before: dict[str, float], after: dict[str, float]) -> str:
    """The calls made between two `coinpayments_calls`, most first."""
    delta = {operation: after[operation] - before.get(operation, 0.0) for operation in after}
    made = sorted(((count, operation) for operation, count in delta.items() if count > 0), reverse=True)
    return ", ".join(f"{operation} {count:.0f}" for count, operation in made) or "none"


def bucket_bound(before: dict[float, float], after: dict[float, float], share: float) -> tuple[float, int] | None:
    """The upper bound of the histogram bucket holding the `share` percentile of the observations
    between two reads, and how many there were (None: none)."""
    delta = {bound: after.get(bound, 0.0) - before.get(bound, 0.0) for bound in after if bound >= 0}
    total = delta.get(float("inf"), 0.0)
    if total <= 0:
        return None
    bound = next(bound for bound in sorted(delta) if delta[bound] >= share * total)
    return bound, int(total)


def bucket_percentile(before: dict[float, float], after: dict[float, float], share: float) -> str:
    """The histogram bucket holding the `share` percentile of the observations between two reads."""
    found = bucket_bound(before, after, share)
    if found is None:
        return "no live request"
    return f"<= {found[0] * 1000:g} ms ({found[1]} requests)"


def every(seconds: float, until: Callable[[], bool], action: Callable[[], None], limit: int = 100_000) -> None:
    """Run `action` every `seconds` until `until()` (at most `limit` times)."""
    for _ in range(limit):
        if until():
            return
        action()
        time.sleep(seconds)


def shuffled(items: list[Any], seed: int = 7) -> list[Any]:
    copy = list(items)
    random.Random(seed).shuffle(copy)
    return copy


def loadavg() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())
