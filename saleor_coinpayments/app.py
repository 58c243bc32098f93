"""create_app(): the FastAPI application, its routers and its lifespan (engine, HTTP clients, workers)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

import saleor_coinpayments.payments.flows  # noqa: F401  (registers every flow's outbox deliveries)
from saleor_coinpayments import __version__
from saleor_coinpayments.context import app_context
from saleor_coinpayments.logs import configure_logging
from saleor_coinpayments.payments.delivery.workers import run_background_workers
from saleor_coinpayments.runtime.process_tuning import ProcessTuning
from saleor_coinpayments.runtime.quiet_gc import CountRequestsInFlight
from saleor_coinpayments.settings import Settings, get_settings
from saleor_coinpayments.web import (
    coinpayments_webhooks,
    dashboard,
    dashboard_books,
    dashboard_refunds,
    health,
    install,
    invoices,
    order_extensions,
    pay_page,
    public_pages,
    saleor_webhooks,
)
from saleor_coinpayments.web.answers import install_openapi
from saleor_coinpayments.web.deps import HttpError, error_response
from saleor_coinpayments.web.timing import WebhookTimer

log = structlog.get_logger(__name__)

ROUTERS = (
    install.router,
    health.router,
    saleor_webhooks.router,
    coinpayments_webhooks.router,
    dashboard.router,
    dashboard_refunds.router,
    dashboard_books.router,
    order_extensions.router,
    invoices.router,
    pay_page.router,
    public_pages.router,
)


def create_app(
    settings: Settings | None = None, *, run_workers: bool | None = None, tuning: ProcessTuning | None = None
) -> FastAPI:
    """The app. With `tuning` (what `serve` passes, having applied its process-wide part) the
    collector's part runs in the lifespan; without it, the process is left as it was."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)
    workers_enabled = settings.run_workers if run_workers is None else run_workers

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with app_context(settings) as ctx:
            app.state.ctx = ctx
            async with contextlib.AsyncExitStack() as stack:
                if workers_enabled:
                    stopping = asyncio.Event()
                    loop = asyncio.get_running_loop()
                    # `serve` calls this on SIGTERM, so claiming stops while open requests drain.
                    app.state.stop_background_work = lambda: loop.call_soon_threadsafe(stopping.set)
                    await stack.enter_async_context(run_background_workers(ctx, stopping))
                if tuning is not None:
                    await stack.enter_async_context(tuning.running())
                log.info("app_started", public_url=settings.app_public_url, workers=workers_enabled)
                yield

    app = FastAPI(
        title="saleor-coinpayments",
        version=__version__,
        lifespan=lifespan,
        redirect_slashes=False,
        docs_url=None,
        redoc_url=None,
    )

    @app.exception_handler(HttpError)
    async def _http_error(_request: Request, exc: HttpError) -> JSONResponse:
        log.info("request_refused", status=exc.status, code=exc.code, reason=exc.message)
        return error_response(exc.status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, "INVALID_REQUEST", str(exc.errors())[:500])

    @app.exception_handler(StarletteHTTPException)
    async def _framework_refusal(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        """Unknown paths and methods. A 405's `Allow` lists every method of the path, not only
        those of the first route that matched it (GET and POST of one path are two routes)."""
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(sorted(methods_of_path(request.url.path)))
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)

    for router in ROUTERS:
        app.include_router(router)
    install_openapi(app)
    app.add_middleware(WebhookTimer)
    if tuning is not None and tuning.quiet_gc:
        # outermost: the whole request, background tasks included
        app.add_middleware(CountRequestsInFlight, collector=tuning.collector)
    return app


def methods_of_path(path: str) -> set[str]:
    """Every method some route of the app takes at this path (for a 405's `Allow`)."""
    return {
        method
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute) and route.path_regex.match(path)
        for method in route.methods or ()
    }
