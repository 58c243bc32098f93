"""The ASGI apps the benchmark runs, each in its own process under uvicorn (`--factory`).

`app()` is the app as `saleor-coinpayments serve` makes it (its process tuning applied, each part as
the settings in the environment say), plus one bare route,
`POST /bench/echo`, that parses the JSON body and returns it: the baseline the app's routes are
compared with (same process, same server, same middleware stack, same run); `GET|DELETE
/bench/gc`, the garbage-collector pauses seen since the last reset (bench/gc_pauses.py); and
`POST /bench/gc/full`, one full collection made and timed.

`simulator()` is the CoinPayments simulator for the clients in `BENCH_SIM_CLIENTS` (`id:secret,…`).
"""

from __future__ import annotations

import gc
import json
import os
import time

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bench.gc_pauses import GcPauses
from saleor_coinpayments.app import create_app
from saleor_coinpayments.runtime import ProcessTuning
from saleor_coinpayments.runtime.quiet_gc import CountRequestsInFlight, RequestCounter
from saleor_coinpayments.settings import load_settings
from saleor_coinpayments.simulator.app import create_simulator_app

ECHO_PATH = "/bench/echo"
GC_PATH = "/bench/gc"
FULL_GC_PATH = "/bench/gc/full"


def app() -> FastAPI:
    settings = load_settings()
    tuning = ProcessTuning.from_settings(settings)
    application = create_app(settings, tuning=tuning)

    @application.post(ECHO_PATH)
    async def echo(request: Request) -> JSONResponse:
        return JSONResponse(json.loads(await request.body()))

    in_flight = RequestCounter()  # the bench's own count: the quiet collector may be switched off
    pauses = GcPauses(in_flight)
    pauses.install()

    @application.get(GC_PATH)
    async def gc_pauses() -> JSONResponse:
        return JSONResponse(pauses.to_json())

    @application.delete(GC_PATH)
    async def gc_reset() -> JSONResponse:
        pauses.reset()
        return JSONResponse(pauses.to_json())

    @application.post(FULL_GC_PATH)
    async def full_collection() -> JSONResponse:
        """One full collection now, timed: what a request would wait for when one falls due
        (RUNTIME_GC_FREEZE keeps start-up's objects out of it)."""
        began = time.perf_counter()
        gc.collect()
        return JSONResponse({"ms": (time.perf_counter() - began) * 1000, "tracked": len(gc.get_objects())})

    application.add_middleware(CountRequestsInFlight, collector=in_flight)
    return application


def simulator() -> FastAPI:
    clients = dict(pair.split(":", 1) for pair in os.environ["BENCH_SIM_CLIENTS"].split(",") if pair)
    return create_simulator_app(clients, public_url=os.environ.get("BENCH_SIM_PUBLIC_URL") or None)
