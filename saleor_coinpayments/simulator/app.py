"""`create_simulator_app()`: one self-contained CoinPayments simulator (state lives in the app).

Several instances can run side by side (one per test), each with its own clients, clock,
invoices and delivery log.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from saleor_coinpayments.simulator.api_routes import build_api_router
from saleor_coinpayments.simulator.auth import Authenticator, AuthLog
from saleor_coinpayments.simulator.clock import SimClock, WallClock
from saleor_coinpayments.simulator.control_routes import build_control_router
from saleor_coinpayments.simulator.currencies import Currency, CurrencyBook
from saleor_coinpayments.simulator.delivery import Dispatcher, RetryPolicy
from saleor_coinpayments.simulator.engine import Engine, SimSettings
from saleor_coinpayments.simulator.faults import FaultMiddleware, Faults
from saleor_coinpayments.simulator.latency import LatencyMiddleware, ResponseLatency
from saleor_coinpayments.simulator.loop_lag import LoopLag
from saleor_coinpayments.simulator.pages import build_pages_router
from saleor_coinpayments.simulator.problems import EmptyStatus, Problem, handle_empty, handle_problem
from saleor_coinpayments.simulator.rate_meter import RateMeter, RateMeterMiddleware, build_rate_router
from saleor_coinpayments.simulator.state import SimState
from saleor_coinpayments.simulator.webhook_payload import AmountEncoding, Casing, PayloadStyle


def create_simulator_app(
    clients: Mapping[str, str] | None = None,
    public_url: str | None = None,
    *,
    clock: WallClock | None = None,
    rates: Mapping[str, object] | None = None,
    currencies: list[Currency] | None = None,
    payment_window: timedelta = timedelta(minutes=60),
    completion_delay: timedelta = timedelta(minutes=10),
    invoice_lifetime: timedelta = timedelta(days=365),
    webhook_max_attempts: int = 5,
    webhook_timeout: float = 5.0,
    webhook_retry_delay: float = 1.0,
    webhook_casing: Casing = "pascal",
    webhook_amounts: AmountEncoding = "units",
    tick_interval: float | None = 1.0,
    response_latency_ms: int = 0,
) -> FastAPI:
    """A FastAPI app that behaves like CoinPayments v2 for the clients given (`{client_id: secret}`).

    `public_url` is the base URL clients sign and links point at, when it is not the address
    they connect to. `clock` is the wall clock (aware UTC datetimes) used for signatures;
    simulated time is that plus whatever `/__sim/clock/advance` added. `rates` are USD prices
    per currency id. `tick_interval` is how often expiry is checked in the background (None:
    only when a request arrives). `response_latency_ms` holds every API answer that long
    (changeable later through `PUT /__sim/settings {"responseLatencyMs"}`).
    """
    sim_clock = SimClock(clock)
    book = CurrencyBook.create(currencies, rates)
    settings = SimSettings(
        payment_window=payment_window,
        invoice_lifetime=invoice_lifetime,
        completion_delay=completion_delay,
        payload_style=PayloadStyle(webhook_casing, webhook_amounts),
    )
    engine = Engine(book, sim_clock, settings)
    initial = list((clients or {}).items())
    for client_id, secret in initial:
        engine.add_client(client_id, secret)
    faults = Faults()
    latency = ResponseLatency(response_latency_ms)
    dispatcher = Dispatcher(sim_clock, faults, RetryPolicy(webhook_max_attempts, webhook_timeout, webhook_retry_delay))
    auth_log = AuthLog()
    base = public_url.rstrip("/") if public_url else None
    sim = SimState(
        engine=engine,
        book=book,
        clock=sim_clock,
        faults=faults,
        latency=latency,
        dispatcher=dispatcher,
        auth=Authenticator(engine, sim_clock, base, auth_log),
        auth_log=auth_log,
        public_url=base,
        initial_clients=initial,
        initial_settings=dataclasses.replace(settings),
        initial_prices=dict(book.usd_prices),
    )

    async def ticker() -> None:
        assert tick_interval is not None
        while True:
            await asyncio.sleep(tick_interval)
            engine.tick()
            sim.flush()

    lag = LoopLag()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(lag.watch())]
        if tick_interval:
            tasks.append(asyncio.create_task(ticker()))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await dispatcher.aclose()

    app = FastAPI(
        title="CoinPayments v2 simulator",
        description="A strict fake of a-api.coinpayments.net for tests; control endpoints under /__sim.",
        lifespan=lifespan,
        docs_url="/__sim/docs",
        openapi_url="/__sim/openapi.json",
        redoc_url=None,
    )
    app.state.sim = sim
    app.state.loop_lag = lag
    app.add_exception_handler(Problem, handle_problem)
    app.add_exception_handler(EmptyStatus, handle_empty)
    app.include_router(build_api_router(sim))
    app.include_router(build_control_router(sim))
    app.include_router(build_pages_router(sim))
    app.add_middleware(FaultMiddleware, faults=faults)
    app.add_middleware(LatencyMiddleware, latency=latency)
    app.add_middleware(_FlushMiddleware, sim=sim)
    meter = RateMeter()
    app.include_router(build_rate_router(meter, lag))
    app.add_middleware(RateMeterMiddleware, meter=meter)
    return app


class _FlushMiddleware:
    """After any request, send what it caused (a read can pass an expiry deadline too)."""

    def __init__(self, app: ASGIApp, sim: SimState) -> None:
        self.app = app
        self.sim = sim

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            if scope["type"] == "http":
                self.sim.flush()
