"""Chaos: every outcome reaches Saleor after kills, Saleor outages and lost notifications.

    .venv/bin/python -m bench.chaos [--quick] [--checkouts 1000] [--replicas 3] [--fault-seconds 120]
        [--kill-every 20] [--outage-every 30] [--outage-seconds 10] [--lost-percent 20]
        [--converge-timeout 600] [--app-setting NAME=VALUE ...]
        [--database postgresql://postgres@127.0.0.1:5432/postgres]

What runs: a throw-away PostgreSQL database, the CoinPayments simulator in its own process, the fake
Saleor of the tests in this one, and `--replicas` `saleor-coinpayments serve` replicas (workers on).
`--checkouts` checkouts are paid with the app (transactionInitialize). Then, for `--fault-seconds`:

  - `--lost-percent` of CoinPayments' notifications are lost (the simulator drops them);
  - every `--kill-every` seconds one replica (in turn) is SIGKILLed and started again;
  - every `--outage-every` seconds Saleor's API answers 503 for `--outage-seconds`;
  - meanwhile the invoices are settled at the simulator, spread over the fault window: four in five
    paid in full, the rest cancelled.

Then the faults stop (every replica up, Saleor up, no notification lost) and the bench reports how
long until every transaction has its outcome in Saleor (CHARGE_SUCCESS for a paid invoice,
CHARGE_FAILURE for a cancelled one), bounded by `--converge-timeout`, with what is missing then.
CoinPayments answers at once here (the faults are the point); figures are for this machine and
this run only. `--quick` is a smoke run: 40 checkouts, 20 s of faults (a kill every 6 s, Saleor
down 3 s in 8), at most 4 minutes to converge.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

if __package__ in (None, ""):  # `python bench/chaos.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scale import _in_parallel
from bench.world import (
    COIN,
    BenchWorld,
    Replica,
    bench_world,
    install,
    loadavg,
    parse_app_settings,
    shipped_defaults,
    shuffled,
)


def _settle(world: BenchWorld, invoices: list[str], paid: set[str], over: float, stop: threading.Event) -> None:
    """Pay or cancel each invoice at the simulator, spread over `over` seconds."""
    gap = over / max(1, len(invoices))
    for invoice_id in invoices:
        if stop.is_set():
            return
        try:
            if invoice_id in paid:
                world.sim.pay(invoice_id, "full", confirmations=6, currency=COIN)
            else:
                world.sim.control("POST", f"/invoices/{invoice_id}/cancel")
        except AssertionError as refused:  # the simulator refused (it should not): counted as missing later
            print(f"  settling {invoice_id} refused: {refused}", flush=True)
        time.sleep(gap)


def _kill_in_turn(replicas: list[Replica], every: float, until: float) -> int:
    kills = 0
    for n in range(10_000):
        if time.monotonic() + every > until:
            return kills
        time.sleep(every)
        replica = replicas[n % len(replicas)]
        replica.kill()
        kills += 1
        replica.start()
    return kills


def _outages(world: BenchWorld, every: float, seconds: float, until: float) -> int:
    outages = 0
    for _ in range(10_000):
        if time.monotonic() + every > until:
            return outages
        time.sleep(max(0.0, every - seconds))
        world.saleor.api_down = True
        outages += 1
        time.sleep(seconds)
        world.saleor.api_down = False
    return outages


def run(args: argparse.Namespace, work_dir: Path) -> list[str]:
    checkouts = 40 if args.quick else args.checkouts
    fault_seconds = 20.0 if args.quick else args.fault_seconds
    if args.quick:
        args.kill_every, args.outage_every, args.outage_seconds, args.converge_timeout = 6.0, 8.0, 3.0, 240.0
    overrides = parse_app_settings(args.app_setting)
    lines = [
        f"bench.chaos: {checkouts} checkouts, {args.replicas} replicas, {fault_seconds:.0f} s of faults"
        f" (kill every {args.kill_every} s, Saleor down {args.outage_seconds} s every {args.outage_every} s,"
        f" {args.lost_percent} % of notifications lost)",
        f"app settings: the app's defaults, and {overrides or 'nothing else'}"
        f" (schedule: {', '.join(f'{k}={v}' for k, v in shipped_defaults().items() if k not in overrides)})",
    ]
    with bench_world(args.database, work_dir, "bench_chaos", **overrides) as world:
        # The first replica's address is the invoices' notification address: it keeps its port.
        replicas = [world.replica() for _ in range(args.replicas)]
        replicas[0].start()
        install(world, replicas[0])
        for replica in replicas[1:]:
            replica.start()
        made = _in_parallel(checkouts, world.checkout)
        transactions = {invoice_id: transaction_id for transaction_id, invoice_id, _ in made}
        invoices = shuffled(list(transactions))
        paid = set(invoices[: len(invoices) * 4 // 5])
        lines.append(f"made {len(made)} checkouts; {len(paid)} to be paid, {len(invoices) - len(paid)} cancelled")

        world.sim.faults(webhookDropPercent=args.lost_percent)
        until = time.monotonic() + fault_seconds
        stop = threading.Event()
        settling = threading.Thread(target=_settle, args=(world, invoices, paid, fault_seconds * 0.8, stop))
        outages = [0]
        outage_thread = threading.Thread(
            target=lambda: outages.__setitem__(0, _outages(world, args.outage_every, args.outage_seconds, until))
        )
        settling.start()
        outage_thread.start()
        kills = _kill_in_turn(replicas, args.kill_every, until)
        settling.join(timeout=fault_seconds + 120)
        outage_thread.join(timeout=args.outage_every + 60)
        stop.set()

        # The faults stop.
        world.sim.faults(webhookDropPercent=0)
        world.saleor.api_down = False
        for replica in replicas:
            if replica.process is None or replica.process.poll() is not None:
                replica.start()
        stopped = time.monotonic()
        expected = {transactions[i]: ("CHARGE_SUCCESS" if i in paid else "CHARGE_FAILURE") for i in invoices}
        missing = dict(expected)
        deadline = stopped + args.converge_timeout
        while missing and time.monotonic() < deadline:
            for transaction_id in list(missing):
                if world.outcome(transaction_id) is not None:
                    del missing[transaction_id]
            if missing:
                time.sleep(1.0)
        took = time.monotonic() - stopped
        wrong = [t for t in expected if t not in missing and world.outcome(t) != expected[t]]
        lines += [
            f"faults: {kills} kills, {outages[0]} Saleor outages",
            (
                f"every outcome in Saleor {took:.1f} s after the faults stopped"
                if not missing
                else f"after {took:.0f} s {len(missing)} outcomes still missing (e.g. {list(missing)[:3]})"
            ),
            f"outcomes other than expected: {len(wrong)}",
            f"CoinPayments: most requests in one second over the run {world.coinpayments_requests()['maxPerSecond']}",
            f"load average at the end: {loadavg()}",
        ]
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench.chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run at a small size")
    parser.add_argument("--checkouts", type=int, default=1_000)
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--fault-seconds", type=float, default=120.0)
    parser.add_argument("--kill-every", type=float, default=20.0)
    parser.add_argument("--outage-every", type=float, default=30.0)
    parser.add_argument("--outage-seconds", type=float, default=10.0)
    parser.add_argument("--lost-percent", type=int, default=20)
    parser.add_argument("--converge-timeout", type=float, default=600.0)
    parser.add_argument("--app-setting", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/postgres")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-chaos-") as work:
        for line in run(args, Path(work)):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
