"""What each speed mechanism buys: each switched off in turn against all on, on the path it is for.

    .venv/bin/python -m bench.run --ablation [-n 500] [--payments 50] [--database postgresql://…]

For every distinct (setting, value when off) in `ROWS`, and for all on at the start and again at
the end, a fresh database, simulator and app are started (bench/run.py `started`) and only the runs
that its rows' figures need are made. The table says, per row: the figure with all on (the mean of
both all-on runs, whose spread shows the run-to-run noise), the figure with that one mechanism off,
and the gain: how much better all on is than off, relative to off. A mechanism that buys under
`KEEP_THRESHOLD_PCT` on its own path is a candidate for removal.

A new mechanism is one more line in `ROWS`: (its setting, its value when off, a figure of `FIGURES`).
Figures are for this machine and this run only; nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bench.run import (
    Bench,
    Started,
    _action_required,
    _ok,
    _received,
    open_payments,
    rss_mb,
    run_in_loop,
    settle,
    started,
)
from saleor_coinpayments.store.db import Database
from saleor_coinpayments.urls import coinpayments_notification_path

KEEP_THRESHOLD_PCT = 5.0


@dataclass(frozen=True)
class Figure:
    label: str
    unit: str
    higher_is_better: bool
    run: str  # the key of RUNS that measures it


FIGURES: dict[str, Figure] = {
    "gc_pause_ms": Figure("longest GC pause with requests in flight", "ms", False, "load"),
    "full_gc_ms": Figure("a full collection after the load (one falls due at least every minute)", "ms", False, "load"),
    "process_p99_ms": Figure("transactionProcess p99, c in flight", "ms", False, "load"),
    "process_cpu_ms": Figure("transactionProcess, the app's CPU per request, c in flight", "ms", False, "load"),
    "rss_mb": Figure("app RSS after the load", "MB", False, "load"),
    "notify_handled_rps": Figure("notifications fully handled", "/s", True, "load"),
    "initialize_rps": Figure("transactionInitialize", "req/s", True, "load"),
}

# (setting, its value when off, the figure of its own path). Rows that share a (setting, value)
# share one configuration's runs.
ROWS: list[tuple[str, str, str]] = [
    ("RUNTIME_QUIET_GC", "false", "gc_pause_ms"),
    ("RUNTIME_QUIET_GC", "false", "process_p99_ms"),
    # The runs are too short for a full collection to fall due (the quiet collector forces one a
    # minute at the latest): the freeze's figure is one made at the end.
    ("RUNTIME_GC_FREEZE", "false", "full_gc_ms"),
    ("NOTIFICATION_COALESCING", "false", "notify_handled_rps"),
    ("OUTGOING_HTTP_POOLS", "1", "initialize_rps"),
    ("OUTGOING_HTTP_POOLS", "1", "notify_handled_rps"),
    ("STORE_FAST_PATH", "false", "notify_handled_rps"),
    ("STORE_FAST_PATH", "false", "initialize_rps"),
    ("STORE_FAST_PATH", "false", "process_p99_ms"),
    # PostgreSQL only (on SQLite the fast path's reads take no pooled connection).
    ("STORE_FAST_READ_CONNECTIONS", "0", "process_cpu_ms"),
    # PostgreSQL only: a pool checkout and checkin per fast-path read or unit instead of a kept connection.
    ("STORE_FAST_KEPT_CONNECTIONS", "0", "process_cpu_ms"),
    # SQLite only (on PostgreSQL these change nothing, and the rows show it).
    ("STORE_SQLITE_IN_LOOP", "false", "notify_handled_rps"),
    ("STORE_SQLITE_GROUP_COMMIT", "false", "notify_handled_rps"),
]

Figures = dict[str, float]


# ------------------------------------------------------------------------------------------ runs


async def _load_run(bench: Bench, payments: list[tuple[str, str, str]]) -> Figures:
    """process, notifications and initialize at --concurrency with CoinPayments answering at once."""
    n = bench.args.requests
    await bench.gc("DELETE")
    process = await bench.load("process", bench.process_requests(payments, n), _action_required)
    await settle(bench.db)
    began = time.perf_counter()
    await bench.load("notify", bench.notification_requests(payments, n), _received)
    await settle(bench.db)
    handled_rps = n / (time.perf_counter() - began)
    initialize = await bench.load("initialize", bench.initialize_requests(n), _action_required)
    await settle(bench.db)
    pauses = await bench.gc("GET")
    full_gc_ms = await bench.full_collection_ms()
    return {
        "full_gc_ms": full_gc_ms,
        "process_p99_ms": process.p99,
        "process_cpu_ms": process.cpu_seconds.get("app", 0.0) * 1000 / process.requests,
        "notify_handled_rps": handled_rps,
        "initialize_rps": initialize.rps,
        "gc_pause_ms": float(max(pauses["longest_ms"])),
        "rss_mb": rss_mb(bench.app.pid)["VmRSS"],
    }


RUNS: dict[str, Callable[[Bench, list[tuple[str, str, str]]], Awaitable[Figures]]] = {
    "load": _load_run,
}


def _measure(args: argparse.Namespace, settings: dict[str, str], runs: list[str]) -> Figures:
    """Start everything with `settings`, set up and warm up, then make `runs` (in RUNS' order)."""
    with started(args, settings) as s:
        return dict(run_in_loop(lambda: _drive(s, runs)))


async def _drive(s: Started, runs: list[str]) -> Figures:
    db = Database(s.database_url)
    try:
        notification_url = s.app_url + coinpayments_notification_path(s.installed.configuration_id)
        bench = Bench(
            s.args, s.app, s.sim, db, s.key, s.installed, s.client_id, s.client_secret, notification_url, s.restart_app
        )
        args = s.args
        await bench.load("setup", bench.initialize_requests(args.payments), _action_required, 8)
        payments = await open_payments(db)
        await settle(db)
        warm = args.warmup
        await bench.load("warmup echo", bench.echo_requests(warm), _ok)
        await bench.load("warmup process", bench.process_requests(payments, warm), _action_required)
        await bench.load("warmup notify", bench.notification_requests(payments, warm), _received)
        await bench.load("warmup initialize", bench.initialize_requests(warm), _action_required)
        await settle(db)
        figures: Figures = {}
        for name in RUNS:
            if name in runs:
                figures.update(await RUNS[name](bench, payments))
        return figures
    finally:
        await db.dispose()


# ---------------------------------------------------------------------------------------- table


def gain_pct(figure: Figure, on: float, off: float) -> float:
    """How much better all on is than off, relative to off (positive: the mechanism helps)."""
    if off == 0:
        return 0.0
    return 100 * ((on - off) if figure.higher_is_better else (off - on)) / abs(off)


def table(
    rows: list[tuple[str, str, str]], on: Figures, on_spread: Figures, offs: dict[tuple[str, str], Figures]
) -> str:
    lines = [
        "| mechanism (setting = value when off) | path | all on | off | gain % |",
        "|---|---|---:|---:|---:|",
    ]
    for setting, off_value, key in rows:
        figure = FIGURES[key]
        off = offs[(setting, off_value)][key]
        unit = f" {figure.unit}" if figure.unit else ""
        lines.append(
            f"| `{setting}={off_value}` | {figure.label} | {on[key]:.2f}{unit} (±{on_spread[key]:.0f} %) "
            f"| {off:.2f}{unit} | {gain_pct(figure, on[key], off):+.1f} |"
        )
    return "\n".join(lines)


def run_ablation(args: argparse.Namespace) -> int:
    rows = [row for row in ROWS if not args.only or row[0] in args.only]
    all_runs = sorted({FIGURES[key].run for _, _, key in rows})
    configurations: dict[tuple[str, str], list[str]] = {}
    for setting, off_value, key in rows:
        runs = configurations.setdefault((setting, off_value), [])
        if FIGURES[key].run not in runs:
            runs.append(FIGURES[key].run)

    print(f"ablation: all on, then {len(configurations)} configurations with one mechanism off, then all on again")
    first = _measure(args, {}, all_runs)
    offs: dict[tuple[str, str], Figures] = {}
    for (setting, off_value), runs in configurations.items():
        print(f"\n{setting}={off_value}: {', '.join(runs)}")
        offs[(setting, off_value)] = _measure(args, {setting: off_value}, runs)
    print("\nall on again")
    again = _measure(args, {}, all_runs)

    on = {key: (first[key] + again[key]) / 2 for key in first}
    spread = {key: 100 * abs(first[key] - again[key]) / on[key] if on[key] else 0.0 for key in first}
    rendered = table(rows, on, spread, offs)
    print(
        f"\nablation — {args.database_kind}, {args.requests} requests per run at {args.concurrency} in flight, "
        f"{args.payments} payments; all on = mean of two runs (± their spread)\n"
    )
    print(rendered)
    weak = sorted(
        {
            setting
            for setting, off_value, key in rows
            if max(
                gain_pct(FIGURES[k], on[k], offs[(setting, off_value)][k])
                for s, v, k in rows
                if (s, v) == (setting, off_value)
            )
            < KEEP_THRESHOLD_PCT
        }
    )
    if weak:
        print(f"\nunder {KEEP_THRESHOLD_PCT:.0f} % on every path of their own: {', '.join(weak)}")
    output = args.output.with_name("ablation.json") if args.output.name == "latest.json" else args.output
    output.parent.mkdir(parents=True, exist_ok=True)
    payload: dict[str, Any] = {
        "all_on_runs": [first, again],
        "off": {f"{setting}={value}": figures for (setting, value), figures in offs.items()},
        "table": rendered,
    }
    output.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"\nwritten to {output}")
    return 0
