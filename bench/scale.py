"""Cost that follows what happens: many open invoices, many open pay pages, CoinPayments at 300 ms.

    .venv/bin/python -m bench.scale [--quick] [--invoices 10000] [--pages 1000] [--payments 100]
        [--latency-ms 300] [--quiet-seconds 120] [--report-timeout 900] [--replicas 1]
        [--app-setting NAME=VALUE ...] [--database postgresql://postgres@127.0.0.1:5432/postgres]

What runs: a throw-away PostgreSQL database, the CoinPayments simulator in its own process, the fake
Saleor of the tests in this one, and `saleor-coinpayments serve` replicas (workers on). Then:

  open          `--invoices` open invoices, checkout and sent-out mixed. Through the app's own paths
                (transactionInitialize; INVOICE_REQUESTED for sent-out ones): the pay pages' checkouts
                and the payments measured below. The rest are old, untouched invoices, seeded: each is
                made at the simulator through its signed API (our `invoiceId` on it), and its row is a
                copy of an app-made row of the same kind (checkout or sent-out) with that invoice's ids,
                created and last read hours to days ago, due now. Their buyers never come back.
  pages         `--pages` pay pages wait on the app (`/pay/<token>/wait`), each asking again when
                answered (polling `/status` every 3 s if a wait fails), for the rest of the run
  quiet         CoinPayments at `--latency-ms`; after `--settle-seconds` (60) nothing happens (no buyer
                either) for `--quiet-seconds`: CoinPayments requests a second (the simulator's rate
                meter), the database's transactions and rows a second (pg_stat_database: a point
                statement is one transaction), and the pay pages' requests a second
  notified      `--payments` checkout payments and as many sent-out invoices paid, notifications on:
                the delay from each payment to its CHARGE_SUCCESS in Saleor (p50, p99, the slowest)
  lost          the same with every notification lost (the simulator drops them): the reconciler
                alone has to find them; bounded by `--report-timeout`
  live          all along but in the quiet window, a buyer's transactionInitialize every 0.5 s with one
                in flight: its latency (through the fake Saleor), and its
                wait for a rate-limit slot (the app's coinpayments_rate_limiter_wait_seconds{live})

`--app-setting` passes settings to every replica, e.g. a schedule compressed by a factor (the bench
prints the settings it ran with, and the figures then stand for that compressed schedule). Figures
are for this machine and this run only (the load average is printed); nothing here asserts on time.
`--quick` is a smoke run: 300 invoices, 30 pages, 5 payments, short windows.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/scale.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import insert, select

from bench.world import (
    COIN,
    MUG,
    BenchWorld,
    bench_world,
    bucket_percentile,
    install,
    live_rate_limit_waits,
    loadavg,
    parse_app_settings,
    percentile,
)
from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.tables import Payment, core_table, new_id
from saleor_coinpayments.store.types import utcnow
from tests.integration.simulator.signer import Signer, compact, invoice_body

PAYMENTS = core_table(Payment)


# --- opening invoices ----------------------------------------------------------------------------


def _in_parallel(count: int, work: Any, threads: int = 16) -> list[Any]:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda _: work(), range(count)))


async def _seed(world: BenchWorld, count: int, templates: dict[str, str]) -> int:
    """`count` old untouched invoices: made at the simulator, their rows copied from app-made ones."""
    if count <= 0:
        return 0
    signer = Signer(world.sim.base_url, world.sim.client_id, world.sim.client_secret)
    db = Database(world.url)
    try:
        async with db.session() as session:
            rows = {
                kind: dict((await session.execute(select(PAYMENTS).where(PAYMENTS.c.id == pid))).mappings().one())
                for kind, pid in templates.items()
            }
        kinds = list(rows)
        made: list[tuple[str, str, str]] = []  # (kind, our ref, invoice id)
        semaphore = asyncio.Semaphore(32)
        async with httpx.AsyncClient(timeout=30) as client:

            async def one(n: int) -> None:
                ref = f"scp-seed-{uuid.uuid4().hex[:27]}"
                body = compact(invoice_body("20.00", invoiceId=ref, payment={"refundEmail": "buyer@example.com"}))
                url = f"{world.sim.base_url}/api/v2/merchant/invoices"
                async with semaphore:
                    answer = await client.post(url, content=body, headers=signer.headers("POST", url, body))
                answer.raise_for_status()
                made.append((kinds[n % len(kinds)], ref, answer.json()["invoices"][0]["id"]))

            await asyncio.gather(*(one(n) for n in range(count)))
        now = utcnow()
        values = []
        for n, (kind, ref, invoice_id) in enumerate(made):
            aged = now - timedelta(hours=1 + (n % 72))  # one hour to three days old
            row = dict(rows[kind])
            row.update(
                id=new_id(),
                invoice_id=invoice_id,
                our_invoice_ref=ref,
                saleor_transaction_id=f"seed-{ref}",
                request_key=None,
                pay_token_hash=None,
                checkout_link=None,
                invoice_link=None,
                created_at=aged,
                updated_at=aged,
                last_checked_at=aged,
                next_check_at=now,
                read_by=now,  # the read's deadline (issue 24): due now, like next_check_at
                changed_at=None,  # untouched since made
                watching_until=None,  # no buyer watching
                claimed_until=None,
            )
            values.append(row)
        async with db.session(write=True) as session:
            for start in range(0, len(values), 1000):
                await session.execute(insert(PAYMENTS), values[start : start + 1000])
        return len(values)
    finally:
        await db.dispose()


# --- pay pages -----------------------------------------------------------------------------------


@dataclass
class Pages:
    """Pay pages waiting on the app, as the page's script does (bounded by `stop`)."""

    links: list[str]
    stop: threading.Event = field(default_factory=threading.Event)
    requests: int = 0
    waits_answered: int = 0
    failures: int = 0

    async def _page(self, client: httpx.AsyncClient, link: str) -> None:
        version = ""
        for _ in range(100_000):
            if self.stop.is_set():
                return
            try:
                self.requests += 1
                answer = await client.get(f"{link}/wait", params={"version": version})
                if answer.status_code == 200:
                    version = answer.json()["version"]
                    self.waits_answered += 1
                    continue
            except httpx.HTTPError:
                pass
            self.failures += 1
            await asyncio.sleep(3.0)  # the page's timer poll after a failed wait

    async def _run(self) -> None:
        limits = httpx.Limits(max_connections=len(self.links) + 10, max_keepalive_connections=len(self.links) + 10)
        async with httpx.AsyncClient(timeout=90, limits=limits) as client:
            tasks = [asyncio.create_task(self._page(client, link)) for link in self.links]
            await asyncio.to_thread(self.stop.wait)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        thread.start()
        return thread


# --- a buyer's transactionInitialize all along ------------------------------------------------------


@dataclass
class LiveProbe:
    world: BenchWorld
    pause: float = 0.5
    stop: threading.Event = field(default_factory=threading.Event)
    paused: threading.Event = field(default_factory=threading.Event)  # while the quiet window is measured
    latencies: list[float] = field(default_factory=list)
    failed: int = 0

    def run(self) -> None:
        for _ in range(100_000):
            if self.stop.wait(self.pause):
                return
            if self.paused.is_set():
                continue
            made = self.world.saleor.create_checkout([MUG])
            started = time.monotonic()
            answer = self.world.saleor.transaction_initialize(made.id, gateway="saleor.coinpayments")
            if answer.event is not None and answer.event.type == "CHARGE_ACTION_REQUIRED":
                self.latencies.append(time.monotonic() - started)
            else:
                self.failed += 1

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, daemon=True)
        thread.start()
        return thread


# --- payments and their reports -------------------------------------------------------------------


def _pay_and_time(world: BenchWorld, paid: list[tuple[str, str]], timeout: float) -> tuple[list[float], int]:
    """Pay each (transaction, invoice) in full; the seconds until each one's CHARGE_SUCCESS is in
    Saleor, and how many had none within `timeout`."""
    paid_at: dict[str, float] = {}
    for transaction_id, invoice_id in paid:
        world.sim.pay(invoice_id, "full", confirmations=6, currency=COIN)
        paid_at[transaction_id] = time.monotonic()
    delays: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(delays) < len(paid) and time.monotonic() < deadline:
        for transaction_id, _ in paid:
            if transaction_id not in delays and world.outcome(transaction_id) == "CHARGE_SUCCESS":
                delays[transaction_id] = time.monotonic() - paid_at[transaction_id]
        time.sleep(0.2)
    return list(delays.values()), len(paid) - len(delays)


def _delays(name: str, delays: list[float], missing: int) -> str:
    if not delays:
        return f"{name:<34} none reported ({missing} missing)"
    return (
        f"{name:<34} p50 {percentile(delays, 0.5):7.2f} s   p99 {percentile(delays, 0.99):7.2f} s"
        f"   slowest {max(delays):7.2f} s   missing {missing}"
    )


# --- the run ----------------------------------------------------------------------------------------


@dataclass
class Sizes:
    invoices: int
    pages: int
    payments: int
    quiet_seconds: float
    settle_seconds: float
    report_timeout: float


def sizes(args: argparse.Namespace) -> Sizes:
    if args.quick:
        return Sizes(300, 30, 5, 15.0, 6.0, 120.0)
    return Sizes(args.invoices, args.pages, args.payments, args.quiet_seconds, args.settle_seconds, args.report_timeout)


def run(args: argparse.Namespace, work_dir: Path) -> list[str]:
    size = sizes(args)
    overrides = parse_app_settings(args.app_setting)
    lines = [
        f"bench.scale: {size.invoices} open invoices, {size.pages} pay pages, {size.payments} payments a group,"
        f" CoinPayments at {args.latency_ms} ms, {args.replicas} replica(s)",
        f"app settings: {overrides or 'defaults'}",
    ]
    with bench_world(args.database, work_dir, "bench_scale", **overrides) as world:
        first = world.replica()
        first.start()
        install(world, first)
        for _ in range(args.replicas - 1):
            world.replica().start()
        opened = time.monotonic()
        pages = [link for _, _, link in _in_parallel(size.pages, world.checkout)]
        measured_checkouts = [(t, i) for t, i, _ in _in_parallel(2 * size.payments, world.checkout)]
        measured_sent = _in_parallel(2 * size.payments, world.sent_invoice, threads=8)
        templates = {
            "checkout": _payment_id(world, measured_checkouts[0][1]),
            "sent": _payment_id(world, measured_sent[0][1]),
        }
        app_made = len(pages) + len(measured_checkouts) + len(measured_sent)
        seeded = asyncio.run(_seed(world, size.invoices - app_made, templates))
        lines.append(
            f"opened {app_made} invoices through the app and seeded {seeded} old ones"
            f" in {time.monotonic() - opened:.0f} s"
        )

        world.sim.control("PUT", "/settings", {"responseLatencyMs": args.latency_ms})
        waiting = Pages(pages)
        probe = LiveProbe(world)
        threads = [waiting.start(), probe.start()]
        waits_before = live_rate_limit_waits(first.base_url)
        try:
            time.sleep(size.settle_seconds)
            probe.paused.set()  # nothing happens now: no buyer either
            time.sleep(probe.pause * 2)
            cp_before, db_before, page_requests = (
                world.coinpayments_requests(),
                world.database_counters(),
                waiting.requests,
            )
            started = time.monotonic()
            time.sleep(size.quiet_seconds)
            elapsed = time.monotonic() - started
            cp_after, db_after = world.coinpayments_requests(), world.database_counters()
            probe.paused.clear()
            lines += [
                f"quiet: CoinPayments reads/s {(cp_after['requests'] - cp_before['requests']) / elapsed:8.2f}"
                f"   (most in one second over the run: {cp_after['maxPerSecond']})",
                f"quiet: database transactions/s {(db_after['xacts'] - db_before['xacts']) / elapsed:8.1f}"
                f"   rows read/s {(db_after['read'] - db_before['read']) / elapsed:10.0f}"
                f"   rows written/s {(db_after['written'] - db_before['written']) / elapsed:8.1f}",
                f"quiet: pay page requests/s {(waiting.requests - page_requests) / elapsed:8.2f}"
                f" for {len(pages)} pages (failed waits so far: {waiting.failures})",
            ]
            half = size.payments
            notified = measured_checkouts[:half], measured_sent[:half]
            lost = measured_checkouts[half:], measured_sent[half:]
            for name, (checkouts, sent) in (("notified", notified), ("lost", lost)):
                if name == "lost":
                    world.sim.faults(webhookDropPercent=100)
                lines.append(
                    _delays(
                        f"{name}: checkout payment -> Saleor", *_pay_and_time(world, checkouts, size.report_timeout)
                    )
                )
                lines.append(
                    _delays(f"{name}: sent-out invoice -> Saleor", *_pay_and_time(world, sent, size.report_timeout))
                )
            world.sim.faults(webhookDropPercent=0)
        finally:
            waiting.stop.set()
            probe.stop.set()
            for thread in threads:
                thread.join(timeout=120)
        waits_after = live_rate_limit_waits(first.base_url)
        latencies = probe.latencies
        lines += [
            f"live: transactionInitialize p50 {percentile(latencies, 0.5) * 1000:7.1f} ms"
            f"   p99 {percentile(latencies, 0.99) * 1000:7.1f} ms   ({len(latencies)} made, {probe.failed} failed)",
            f"live: wait for a rate-limit slot, p99 in bucket {bucket_percentile(waits_before, waits_after, 0.99)}"
            " (replica 1 only)",
            "CoinPayments over the whole run: most requests in one second"
            f" {world.coinpayments_requests()['maxPerSecond']}",
            f"load average at the end: {loadavg()}",
        ]
    return lines


def _payment_id(world: BenchWorld, invoice_id: str) -> str:
    async def read() -> str:
        db = Database(world.url)
        try:
            async with db.session() as session:
                found = await session.scalar(select(PAYMENTS.c.id).where(PAYMENTS.c.invoice_id == invoice_id))
                assert found is not None, invoice_id
                return str(found)
        finally:
            await db.dispose()

    return asyncio.run(read())


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench.scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run at a small size")
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--pages", type=int, default=1_000)
    parser.add_argument("--payments", type=int, default=100, help="payments in each group")
    parser.add_argument("--latency-ms", type=int, default=300)
    parser.add_argument("--quiet-seconds", type=float, default=120.0)
    parser.add_argument("--settle-seconds", type=float, default=60.0, help="before the quiet window")
    parser.add_argument("--report-timeout", type=float, default=900.0)
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--app-setting", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/postgres")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as work:
        for line in run(args, Path(work)):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
