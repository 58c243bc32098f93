"""Cost that follows what happens: many open invoices, many open pay pages, CoinPayments at 300 ms.

    .venv/bin/python -m bench.scale [--quick] [--invoices 10000] [--pages 1000] [--payments 100]
        [--latency-ms 300] [--quiet-seconds 120] [--report-timeout 900] [--replicas 1] [--pay-every 0.5]
        [--live-seconds 60] [--skip-restarts] [--app-setting NAME=VALUE ...] [--database postgresql://postgres@127.0.0.1:5432/postgres]

What runs: a throw-away PostgreSQL database, the CoinPayments simulator in its own process, the fake
Saleor of the tests in this one, and `saleor-coinpayments serve` replicas (workers on). Then:

  open          `--invoices` open invoices, checkout and sent-out mixed. Through the app's own paths
                (transactionInitialize; INVOICE_REQUESTED for sent-out ones): the pay pages' checkouts
                and the payments measured below. The rest are old, untouched invoices, seeded first
                (bench/seed.py: made an hour to three days ago, each next read placed within its
                schedule gap as if the app had been running). Their buyers never come back, and
                their creation's notifications are dropped (sent days ago). The simulator's rate
                meter is reset after the seeding: what it counts then is the app's.
  pages         `--pages` pay pages wait on the app (`/pay/<token>/wait`), each asking again when
                answered (polling `/status` every 3 s if a wait fails), for the rest of the run
  quiet         CoinPayments at `--latency-ms`; after `--settle-seconds` (60) nothing happens (no buyer
                either). The bench first waits (at most `--drain-timeout`, printed) until the
                simulator has delivered its queued notifications and every replica's
                `reconciler_lag_seconds` is small: the reads the opening's live requests held back
                are made by then. Then for `--quiet-seconds`: CoinPayments requests a
                second (the simulator's rate meter), the database's transactions and rows a second
                (pg_stat_database: a point statement is one transaction), and the pay pages'
                requests a second
  notified      `--payments` checkout payments and as many sent-out invoices paid, one every
                `--pay-every` seconds (a burst would measure the simulator's one-at-a-time
                notification queue rather than the app), notifications on:
                the delay from each payment to its CHARGE_SUCCESS in Saleor (p50, p99, the slowest),
                Saleor watched from the first payment on (a report is timed as it arrives)
  lost          the same with every notification lost (the simulator drops them): the reconciler
                alone has to find them; bounded by `--report-timeout`
  live          all along but in the quiet window, a buyer's transactionInitialize every 0.5 s with one
                in flight: its latency (through the fake Saleor)
  live under    for `--live-seconds` every open invoice is kept due (the reconcilers of every replica
  load          ask for far more than the limit), no payment and no other buyer: the same probe, and
                its wait for a rate-limit slot against the target of 15 ms at p99, from the app's
                coinpayments_rate_limiter_wait_seconds{live} over that window (bench/live_wait.py)
  restarts      every open invoice made due at once, a rolling deploy and a SIGKILL (bench/restarts.py):
                the most requests in any sliding second with demand far above the limit

Next to each "most requests in any sliding second" (bench/margins.py): the simulator's largest
event-loop lag over the same time (a stall stamps arrivals held in its socket together), and the
replicas' sends later than the limiter's 60 ms margin after their slot (a replica's late send), so
a count above the limit can be put on one side or the other.
`--app-setting` passes settings to every replica, e.g. a schedule compressed by a factor (the bench
prints the settings it ran with, and the figures then stand for that compressed schedule). Figures
are for this machine and this run only (the load average is printed); nothing here asserts on time.
`--quick` is a smoke run: 300 invoices, 30 pages, 5 payments, short windows (20 s live under load).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/scale.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import select

from bench.live_wait import LiveProbe, live_wait_under_demand
from bench.margins import MarginTally, note
from bench.restarts import restarts_under_load
from bench.seed import PAYMENTS, SPREAD, seed
from bench.world import (
    COIN,
    BenchWorld,
    bench_world,
    calls_between,
    coinpayments_calls,
    install,
    loadavg,
    parse_app_settings,
    percentile,
    shipped_defaults,
)
from saleor_coinpayments.payments.delivery.backlog import SAMPLE_INTERVAL_SECONDS as BACKLOG_SAMPLE_SECONDS
from saleor_coinpayments.payments.schedule import ReadSchedule
from saleor_coinpayments.store.db import Database

DRAINED_LAG_SECONDS = 5.0  # a reconciler keeping up reads what is due within its poll (1 s) and a read

# --- opening invoices ----------------------------------------------------------------------------


def _in_parallel(count: int, work: Any, threads: int = 16) -> list[Any]:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda _: work(), range(count)))


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


# --- the opening's backlog ------------------------------------------------------------------------


def reconciler_lag(base_url: str) -> float | None:
    """The replica's `reconciler_lag_seconds` (now minus the oldest due read's time), None if unread."""
    with contextlib.suppress(httpx.HTTPError):
        for line in httpx.get(f"{base_url}/metrics", timeout=10).text.splitlines():
            if line.startswith("reconciler_lag_seconds "):
                return float(line.rsplit(" ", 1)[1])
    return None


def wait_for_backlog(
    world: BenchWorld, urls: list[str], bound: float, lag_at_most: float = DRAINED_LAG_SECONDS
) -> tuple[float, str]:
    """Wait until the opening's work is done: the simulator has delivered every notification it
    queued (one at a time; each makes a re-read), and no replica's reconciler is behind (every
    replica's lag at most `lag_at_most`, in two samples in a row: the gauge is sampled every
    BACKLOG_SAMPLE_SECONDS). Reads the opening held back (its live requests go first) are made before
    the quiet window then, and the window measures the schedule's steady cost, not a catch-up.
    Gives up after `bound` seconds: (seconds waited, how)."""
    started = time.monotonic()
    for _ in range(100_000):
        if world.sim.control("POST", "/deliveries/wait", {"timeoutSeconds": 10})["idle"]:
            break
        if time.monotonic() - started > bound:
            return time.monotonic() - started, f"NOT drained within {bound:g} s (notifications still queued)"
    calm = 0
    lags: list[float | None] = []
    for _ in range(100_000):
        lags = [reconciler_lag(url) for url in urls]
        calm = calm + 1 if all(lag is not None and lag <= lag_at_most for lag in lags) else 0
        waited = time.monotonic() - started
        if calm >= 2:
            return waited, f"drained (reconciler lag <= {lag_at_most:g} s on every replica)"
        if waited > bound:
            break
        time.sleep(BACKLOG_SAMPLE_SECONDS)
    shown = ", ".join("?" if lag is None else f"{lag:.0f} s" for lag in lags)
    return time.monotonic() - started, f"NOT drained within {bound:g} s (reconciler lag {shown})"


# --- payments and their reports -------------------------------------------------------------------


def _pay_and_time(
    world: BenchWorld, paid: list[tuple[str, str]], timeout: float, every: float
) -> tuple[list[float], int]:
    """Pay each (transaction, invoice) in full, one every `every` seconds; the seconds until each
    one's CHARGE_SUCCESS is in Saleor, and how many had none within `timeout` of the last payment.

    Saleor is watched from the first payment on, in a thread of its own, while the later ones are
    still being paid: a report is timed when it arrives, not when the group is done (that added up
    to `len(paid)` × `every` to the first payments' delays: 50 s for 100 payments at 0.5 s)."""
    paid_at: dict[str, float] = {}
    delays: dict[str, float] = {}
    done_paying = threading.Event()

    def watch() -> None:
        deadline: float | None = None
        for _ in range(10_000_000):
            if done_paying.is_set() and deadline is None:
                deadline = time.monotonic() + timeout
            if len(delays) == len(paid) or (deadline is not None and time.monotonic() > deadline):
                return
            for transaction_id, at in list(paid_at.items()):
                if transaction_id not in delays and world.outcome(transaction_id) == "CHARGE_SUCCESS":
                    delays[transaction_id] = time.monotonic() - at
            time.sleep(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        for transaction_id, invoice_id in paid:
            world.sim.pay(invoice_id, "full", confirmations=6, currency=COIN)
            paid_at[transaction_id] = time.monotonic()
            time.sleep(every)
    finally:
        done_paying.set()
    watcher.join(timeout + 60)
    found = dict(delays)
    return list(found.values()), len(paid) - len(found)


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
    live_seconds: float


def sizes(args: argparse.Namespace) -> Sizes:
    if args.quick:
        return Sizes(300, 30, 5, 15.0, 6.0, 120.0, 20.0)
    return Sizes(
        args.invoices,
        args.pages,
        args.payments,
        args.quiet_seconds,
        args.settle_seconds,
        args.report_timeout,
        args.live_seconds,
    )


def run(args: argparse.Namespace, work_dir: Path) -> list[str]:
    size = sizes(args)
    overrides = parse_app_settings(args.app_setting)
    lines = [
        f"bench.scale: {size.invoices} open invoices, {size.pages} pay pages, {size.payments} payments a group,"
        f" CoinPayments at {args.latency_ms} ms, {args.replicas} replica(s), a payment every {args.pay_every} s",
        f"app settings: the app's defaults, and {overrides or 'nothing else'}"
        f" (schedule: {', '.join(f'{k}={v}' for k, v in shipped_defaults().items() if k not in overrides)})",
    ]
    with bench_world(args.database, work_dir, "bench_scale", **overrides) as world:
        first = world.replica()
        first.start()
        install(world, first)
        replicas = [first]
        for _ in range(args.replicas - 1):
            replicas.append(world.replica())
            replicas[-1].start()
        opened = time.monotonic()
        # Two app-made rows to copy first: the seeding's own calls to the simulator then come before
        # the rate meter is reset, and everything it counts after is the app's.
        templates_made = world.checkout(), world.sent_invoice()
        templates = {
            "checkout": _payment_id(world, templates_made[0][1]),
            "sent": _payment_id(world, templates_made[1][1]),
        }
        app_made = size.pages + 4 * size.payments + 2
        # Old invoices told the app of their creation long ago: the simulator drops those notifications,
        # else each would re-read its invoice now and undo the seeding's spread of next reads.
        world.sim.faults(webhookDropPercent=100)
        try:
            seeded = asyncio.run(seed(world, size.invoices - app_made, templates, ReadSchedule.of(first.settings)))
        finally:
            world.sim.faults(webhookDropPercent=0)
        world.sim.control("DELETE", "/api-rate")
        tally = MarginTally()
        tally.start([replica.base_url for replica in replicas])
        pages = [link for _, _, link in _in_parallel(size.pages, world.checkout)]
        measured_checkouts = [(t, i) for t, i, _ in _in_parallel(2 * size.payments, world.checkout)]
        measured_sent = _in_parallel(2 * size.payments, world.sent_invoice, threads=8)
        lines += [
            f"opened {app_made} invoices through the app and seeded {seeded} old ones"
            f" in {time.monotonic() - opened:.0f} s",
            SPREAD,
        ]

        world.sim.control("PUT", "/settings", {"responseLatencyMs": args.latency_ms})
        waiting = Pages(pages)
        probe = LiveProbe(world)
        threads = [waiting.start(), probe.start()]
        try:
            time.sleep(size.settle_seconds)
            probe.paused.set()  # nothing happens now: no buyer either
            time.sleep(probe.pause * 2)
            urls = [replica.base_url for replica in replicas]
            drained_in, drained = wait_for_backlog(world, urls, args.drain_timeout)
            lines.append(f"quiet: before the window, the opening's backlog {drained} after {drained_in:.0f} s")
            cp_before, db_before, page_requests, calls_before = (
                world.coinpayments_requests(),
                world.database_counters(),
                waiting.requests,
                coinpayments_calls(urls),
            )
            started = time.monotonic()
            time.sleep(size.quiet_seconds)
            elapsed = time.monotonic() - started
            cp_after, db_after = world.coinpayments_requests(), world.database_counters()
            calls = calls_between(calls_before, coinpayments_calls(urls))
            probe.paused.clear()
            lines += [
                f"quiet: CoinPayments reads/s {(cp_after['requests'] - cp_before['requests']) / elapsed:8.2f}"
                f" over {elapsed:.0f} s   (the app's most in any sliding second so far: {cp_after['maxPerSecond']})",
                f"quiet: the calls, by operation: {calls}",
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
                        f"{name}: checkout payment -> Saleor",
                        *_pay_and_time(world, checkouts, size.report_timeout, args.pay_every),
                    )
                )
                lines.append(
                    _delays(
                        f"{name}: sent-out invoice -> Saleor",
                        *_pay_and_time(world, sent, size.report_timeout, args.pay_every),
                    )
                )
            world.sim.faults(webhookDropPercent=0)
        finally:
            waiting.stop.set()
            probe.stop.set()
            for thread in threads:
                thread.join(timeout=120)
        latencies = probe.latencies
        counted = world.coinpayments_requests()
        lines += [
            f"live: transactionInitialize p50 {percentile(latencies, 0.5) * 1000:7.1f} ms"
            f"   p99 {percentile(latencies, 0.99) * 1000:7.1f} ms   ({len(latencies)} made, {probe.failed} failed)",
            "CoinPayments from the app since the seeding: most requests in any sliding second"
            f" {counted['maxPerSecond']}, answered 429: {counted.get('rateLimited', 0)};"
            f" {note(world, tally, [replica.base_url for replica in replicas])}",
        ]
        if size.live_seconds > 0:
            lines += live_wait_under_demand(world, first, size.live_seconds)
            lines.append(f"live under load, since the seeding: {note(world, tally, [r.base_url for r in replicas])}")
        if not args.skip_restarts:
            lines += restarts_under_load(world, replicas)
        lines.append(f"load average at the end: {loadavg()}")
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
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=900.0,
        help="longest wait, before the quiet window, for the reconcilers to catch up what the opening held back",
    )
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument(
        "--pay-every", type=float, default=0.5, help="seconds between two payments of a group (a busy shop's pace)"
    )
    parser.add_argument("--live-seconds", type=float, default=60.0, help="the live-under-load window (0 leaves it out)")
    parser.add_argument("--skip-restarts", action="store_true", help="leave out the restarts phase")
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
