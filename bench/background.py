"""Background work at real-world latency: the outbox and the reconciler on one and on three replicas.

    .venv/bin/python -m bench.background [--invoices 1000] [--reports 300] [--replicas 1 3]
        [--latency-ms 300] [--seconds 30] [--reconcile-concurrency N]
        [--database postgresql://postgres@127.0.0.1:5432/postgres]

What runs, for each replica count, on a fresh temporary PostgreSQL database: the CoinPayments
simulator (its own process, every API answer held `--latency-ms`), the fake Saleor of the tests
(in this process, every GraphQL answer held as long), and `saleor-coinpayments serve` replicas
with their workers. Setup makes `--invoices` open invoices through the real checkout flow
(transactionInitialize → the app → the simulator), with the latencies off. Then the latencies go
on, the replicas start, `--reports` of the invoices are paid (each makes a CHARGE_SUCCESS report,
often an INFO before it), and for `--seconds` the bench samples:

  reports/s        reports delivered to Saleor per second, from the payments until the last arrived
  reads/s          CoinPayments requests per second of the one client id, counted at the simulator,
                   and that as a share of COINPAYMENTS_RATE_LIMIT_PER_SECOND (target ≥ 90 %: the limiter
                   spaces its slots 63.2 a second at 70, the rest is the margin for late sends; never > 100 %)
  max in 1 s       the most requests that arrived at the simulator within any one second
  lag              reconciler lag (now − the oldest next_check_at still due), mean and max of the samples
  app CPU          cores the replicas used together while sampled, and CPU ms per read; with
                   the machine's load average it tells a CPU-starved run from a slow design

RECONCILE_INTERVAL_SECONDS is `--reconcile-interval` (default 5 s), so 1,000 young invoices ask for
200 reads a second, more than the limit: the reconciler has to run at the limit, and its lag shows
what is left over. Figures are for this machine and this run only; nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/background.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
import httpx
from sqlalchemy import func, select

from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.migrate import upgrade
from saleor_coinpayments.store.tables import OutboxMessage, OutboxStatus, Payment
from saleor_coinpayments.store.types import utcnow
from tests.fakes.saleor import FakeSaleor
from tests.fakes.saleor_model import Line
from tests.helpers.app_server import app_settings, start_app_process
from tests.helpers.servers import free_port
from tests.integration.e2e.world import Simulator, configure

GATEWAY = "saleor.coinpayments"
LIMIT = 70.0


@dataclass
class RunResult:
    replicas: int
    reports: int
    reports_seconds: float
    reads: int
    read_seconds: float
    max_in_one_second: int
    rate_limited: int
    lags: list[float]
    cpu_seconds: float
    load: float

    @property
    def reports_per_second(self) -> float:
        return self.reports / self.reports_seconds if self.reports_seconds else 0.0

    @property
    def reads_per_second(self) -> float:
        return self.reads / self.read_seconds if self.read_seconds else 0.0


def _admin(dsn: str, sql: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(dsn, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


@contextlib.contextmanager
def _database(admin_dsn: str) -> Iterator[str]:
    name = f"bench_bg_{uuid.uuid4().hex[:10]}"
    _admin(admin_dsn, f'CREATE DATABASE "{name}"')
    url = "postgresql+asyncpg://" + admin_dsn.split("://", 1)[1].rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        _admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def _simulator(client_id: str, secret: str) -> Iterator[Simulator]:
    port = free_port()
    command = [str(Path(sys.executable).with_name("saleor-coinpayments")), "simulator", "--port", str(port)]
    process = subprocess.Popen([*command, "--client", f"{client_id}:{secret}"], stdout=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base_url}/__sim/settings", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        yield Simulator(base_url, client_id, secret)
    finally:
        process.kill()
        process.wait(timeout=10)


def _query(url: str, work: Any) -> Any:
    async def run() -> Any:
        db = Database(url)
        try:
            async with db.session() as session:
                return await work(session)
        finally:
            await db.dispose()

    return asyncio.run(run())


def _delivered(url: str) -> int:
    async def work(session: Any) -> int:
        query = select(func.count()).where(OutboxMessage.status == OutboxStatus.DELIVERED.value)
        return int((await session.execute(query)).scalar_one())

    return int(_query(url, work))


def _reports_made(url: str) -> int:
    async def work(session: Any) -> int:
        return int((await session.execute(select(func.count()).select_from(OutboxMessage))).scalar_one())

    return int(_query(url, work))


def _lag(url: str) -> float:
    async def work(session: Any) -> float:
        now = utcnow()
        oldest = (
            await session.execute(
                select(func.min(Payment.next_check_at)).where(
                    Payment.is_final.is_(False), Payment.invoice_id.is_not(None), Payment.next_check_at <= now
                )
            )
        ).scalar_one_or_none()
        return max(0.0, (now - oldest).total_seconds()) if oldest else 0.0

    return float(_query(url, work))


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (Linux /proc; 0 elsewhere)."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _counted(sim: Simulator) -> dict[str, int]:
    clients: dict[str, dict[str, int]] = sim.control("GET", "/api-rate")["clients"]
    return clients.get(sim.client_id, {"requests": 0, "maxPerSecond": 0, "rateLimited": 0})


def run_one(args: argparse.Namespace, replicas: int, work_dir: Path) -> RunResult:
    client_id, secret = secrets.token_hex(16), secrets.token_urlsafe(32)
    with _database(args.database) as url, _simulator(client_id, secret) as sim, FakeSaleor.serve() as saleor:
        data_dir = work_dir / f"r{replicas}"
        data_dir.mkdir(parents=True, exist_ok=True)
        common = {
            "coinpayments_api_url": sim.base_url,
            "reconcile_interval_seconds": args.reconcile_interval,
            "outbox_interval_seconds": 0.2,
            "log_level": "WARNING",
        }
        if args.reconcile_concurrency:
            common["reconcile_concurrency"] = args.reconcile_concurrency
        setup_port = free_port()
        setup = start_app_process(app_settings(url, data_dir, setup_port, run_workers=False, **common))
        try:
            saleor.install_app(f"http://127.0.0.1:{setup_port}/api/manifest")
            configure(url, saleor.api_url, sim)

            def initialize(_: int) -> str:
                for _attempt in range(5):  # a busy machine can time a request out: a new checkout then
                    checkout = saleor.create_checkout([Line("Mug", "M", "MUG", 1, Decimal("20.00"))])
                    started = saleor.transaction_initialize(checkout.id, gateway=GATEWAY)
                    if started.event is not None and started.event.type == "CHARGE_ACTION_REQUIRED":
                        return str(started.event.psp_reference)
                raise RuntimeError(f"initialize failed: {started.data}")

            with ThreadPoolExecutor(16) as pool:
                invoices = list(pool.map(initialize, range(args.invoices)))
        finally:
            setup.kill()
            setup.wait(timeout=10)
        print(f"  [{replicas} replica(s)] {len(invoices)} open invoices made", flush=True)

        sim.control("PUT", "/settings", {"responseLatencyMs": args.latency_ms})
        saleor.latency_seconds = args.latency_ms / 1000
        processes = []
        try:
            for n in range(replicas):
                # The first replica takes the setup's address: the invoices' notification URL points there.
                port = setup_port if n == 0 else free_port()
                settings = app_settings(url, data_dir, port, **common)
                processes.append(start_app_process(settings))
            sim.control("DELETE", "/api-rate")
            paid_at = time.monotonic()
            for invoice_id in invoices[: args.reports]:
                sim.pay(invoice_id, "full", confirmations=6, currency="1002")
            started = time.monotonic()
            before = _counted(sim)["requests"]
            pids = [process.pid for process in processes]
            cpu_before = _cpu_seconds(pids)
            lags: list[float] = []
            reports_done_at: float | None = None
            made = 0
            while time.monotonic() - started < args.seconds:
                time.sleep(1.0)
                lags.append(_lag(url))
                if reports_done_at is None:
                    made = _reports_made(url)
                    if made >= args.reports and _delivered(url) >= made:
                        reports_done_at = time.monotonic()
            counted = _counted(sim)
            elapsed = time.monotonic() - started
            cpu_seconds = _cpu_seconds(pids) - cpu_before
            delivered = _delivered(url)
            return RunResult(
                replicas=replicas,
                reports=delivered,
                reports_seconds=(reports_done_at or time.monotonic()) - paid_at,
                reads=counted["requests"] - before,
                read_seconds=elapsed,
                max_in_one_second=counted["maxPerSecond"],
                rate_limited=counted["rateLimited"],
                lags=lags,
                cpu_seconds=cpu_seconds,
                load=os.getloadavg()[0],
            )
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument("--reports", type=int, default=300, help="invoices paid during the measurement")
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--latency-ms", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=30.0, help="how long to sample")
    parser.add_argument("--reconcile-interval", type=float, default=5.0)
    parser.add_argument("--reconcile-concurrency", type=int, default=None, help="default: the app's own")
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-background-") as work:
        for replicas in args.replicas:
            results.append(run_one(args, replicas, Path(work)))
            print(_table(results), flush=True)  # so far, in case a later run fails
    return 0


def _table(results: list[RunResult]) -> str:
    lines = [
        f"{'replicas':>8} {'reports':>8} {'reports/s':>10} {'reads/s':>8} {'of limit':>9} "
        f"{'max in 1 s':>10} {'429s':>5} {'lag mean':>9} {'lag max':>8} {'app CPU':>8} {'ms/read':>8} {'load':>5}"
    ]
    for r in results:
        share = r.reads_per_second / LIMIT
        mean_lag = sum(r.lags) / len(r.lags) if r.lags else 0.0
        lines.append(
            f"{r.replicas:>8} {r.reports:>8} {r.reports_per_second:>10.1f} {r.reads_per_second:>8.1f} "
            f"{share:>8.1%} {r.max_in_one_second:>10} {r.rate_limited:>5} {mean_lag:>8.1f}s "
            f"{max(r.lags or [0]):>7.1f}s {r.cpu_seconds / r.read_seconds:>8.2f} "
            f"{1000 * r.cpu_seconds / max(r.reads, 1):>8.1f} {r.load:>5.1f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
