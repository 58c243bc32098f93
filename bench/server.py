"""The ASGI apps the benchmark runs, each in its own process under uvicorn (`--factory`).

`app()` is exactly `create_app(settings)` with settings from the environment, plus one bare route,
`POST /bench/echo`, that parses the JSON body and returns it: the baseline the app's routes are
compared with (same process, same server, same middleware stack, same run); and `GET|DELETE
/bench/gc`, the garbage-collector pauses seen since the last reset (bench/gc_pauses.py).

`simulator()` is the CoinPayments simulator for the clients in `BENCH_SIM_CLIENTS` (`id:secret,…`).
"""

from __future__ import annotations

import json
import os

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bench.gc_pauses import GcPauses
from saleor_coinpayments.app import create_app
from saleor_coinpayments.settings import load_settings
from saleor_coinpayments.simulator.app import create_simulator_app

ECHO_PATH = "/bench/echo"
GC_PATH = "/bench/gc"


def app() -> FastAPI:
    application = create_app(load_settings())

    @application.post(ECHO_PATH)
    async def echo(request: Request) -> JSONResponse:
        return JSONResponse(json.loads(await request.body()))

    pauses = GcPauses()
    pauses.install()

    @application.get(GC_PATH)
    async def gc_pauses() -> JSONResponse:
        return JSONResponse(pauses.to_json())

    @application.delete(GC_PATH)
    async def gc_reset() -> JSONResponse:
        pauses.reset()
        return JSONResponse(pauses.to_json())

    return application


def simulator() -> FastAPI:
    clients = dict(pair.split(":", 1) for pair in os.environ["BENCH_SIM_CLIENTS"].split(",") if pair)
    return create_simulator_app(clients, public_url=os.environ.get("BENCH_SIM_PUBLIC_URL") or None)
