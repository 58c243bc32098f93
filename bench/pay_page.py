"""Load on the pay page's JSON endpoint (`GET /pay/<token>/status`) beside the bare echo.

    .venv/bin/python -m bench.pay_page [--payments 200] [--requests 2000] [--concurrency 32]

The simulator and the app run in their own uvicorn processes as in bench/run.py (whose helpers this
uses); the channel's configuration has `checkoutPage: app`, and `--payments` transactions are
initialized through signed TRANSACTION_INITIALIZE_SESSION, each getting its own pay page link. Then:

  echo          the bare JSON echo of the same server (the baseline)
  status        GET /pay/<token>/status over all links, at --concurrency in flight, with the real
                per-link rate (PAY_PAGE_REQUESTS_PER_SECOND, default 2/s, bursts of 20); each poll
                marks its buyer as watching, as a buyer's does, and the reconciler's re-reads follow
  status single the same with one request in flight (the latency a buyer's page sees)
  page          GET /pay/<token> (the HTML)
  refused       one link hammered past its rate: the cost of a 429 (the few inside its burst get 200)
  not found     well-formed tokens that match nothing: the cost of a 404

Figures are for this machine and this run only; nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shutil
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/pay_page.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import select

from bench.load import LoadResult, PreparedRequest, run_load
from bench.payloads import CHANNEL, SaleorKey, saleor_headers, session_body, transaction_id
from bench.run import (
    APP_ID,
    HOST,
    INITIALIZE,
    SECRET_KEY,
    Server,
    _clean_env,
    _stop,
    _uvicorn,
    _wait_ready,
    database,
    install,
)
from bench.server import ECHO_PATH
from saleor_coinpayments.store.configurations import ConfigurationRepository
from saleor_coinpayments.store.crypto import SecretBox
from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.migrate import upgrade
from saleor_coinpayments.store.tables import Payment
from tests.helpers.servers import free_port


def _get(host: str, path: str) -> PreparedRequest:
    return PreparedRequest(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\n\r\n".encode())


def _status(wanted: int) -> Any:
    return lambda status, _body: status == wanted


async def _use_pay_page(database_url: str, configuration_id: str) -> None:
    db = Database(database_url)
    try:
        async with db.session() as session:
            repo = ConfigurationRepository(session, SecretBox(SECRET_KEY))
            config = await repo.get(configuration_id)
            assert config is not None
            await repo.upsert(
                config.installation_id,
                config.name,
                client_id=config.client_id,
                client_secret=None,
                api_url=config.api_url,
                configuration_id=config.id,
                checkout_page="app",
            )
    finally:
        await db.dispose()


async def _pay_paths(database_url: str) -> list[str]:
    db = Database(database_url)
    try:
        async with db.session() as session:
            links = await session.execute(select(Payment.checkout_link).where(Payment.pay_token_hash.is_not(None)))
            return ["/" + str(link).split("/", 3)[3] for link in links.scalars()]
    finally:
        await db.dispose()


async def _bench(args: argparse.Namespace, app: Server, sim: Server, key: SaleorKey, saleor_api_url: str) -> None:
    port = int(app.base_url.rsplit(":", 1)[1])
    host = f"{HOST}:{port}"
    watch = {"app": app.pid, "simulator": sim.pid}

    async def load(name: str, requests: list[PreparedRequest], check: Any, concurrency: int) -> LoadResult:
        result = await run_load(name, HOST, port, requests, concurrency=concurrency, check=check, watch=watch)
        app_ms = result.cpu_seconds.get("app", 0.0) * 1000 / max(1, result.requests)
        print(
            f"  {name:<14} {result.requests:6d} req  {result.rps:8.0f} req/s  p50 {result.p50:7.2f} ms  "
            f"p99 {result.p99:7.2f} ms  app CPU {app_ms:5.2f} ms/req  unexpected {result.failures}"
        )
        if result.first_failure:
            print(f"    first unexpected answer: {result.first_failure}")
        return result

    bodies = [session_body("initialize", APP_ID, transaction_id()) for _ in range(args.payments)]
    initialize = [
        PreparedRequest.post(
            host,
            INITIALIZE.path,
            body,
            saleor_headers(INITIALIZE.header_value, saleor_api_url, key.sign_detached(body)),
        )
        for body in bodies
    ]
    await load("setup", initialize, _status(200), 8)
    paths = await _pay_paths(args.database_url)
    if len(paths) < args.payments:
        raise SystemExit(f"only {len(paths)} of {args.payments} payments got a pay page link; see {app.log}")
    echo_body = b'{"state": "waiting", "coins": []}'
    echo = [PreparedRequest.post(host, ECHO_PATH, echo_body, {"Content-Type": "application/json"})]
    n, c = args.requests, args.concurrency
    per_link = max(1, min(n // len(paths), 15))  # inside each link's burst of 20
    status = [_get(host, f"{paths[i % len(paths)]}/status") for i in range(per_link * len(paths))]
    await load("warm-up", status[: len(paths)], _status(200), c)
    print(f"measured ({len(paths)} links, {per_link} requests each where it applies):")
    await load("echo", echo * n, _status(200), c)
    await load("status", status, _status(200), c)
    await load("page", [_get(host, p) for p in paths], _status(200), c)
    # The link's burst and what refills meanwhile are answered; everything past that is refused.
    await load("refused", [_get(host, f"{paths[0]}/status")] * n, lambda status, _body: status in (200, 429), c)
    missing = [_get(host, f"/pay/{secrets.token_urlsafe(32)}/status") for _ in range(n)]
    await load("not found", missing, _status(404), c)
    await load("echo single", echo * args.single_requests, _status(200), 1)
    await load("status single", status[: args.single_requests], _status(200), 1)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench.pay_page", description=__doc__.split("\n\n")[0])
    parser.add_argument("--payments", type=int, default=200, help="transactions, each with its own pay page link")
    parser.add_argument("--requests", type=int, default=2000, help="requests per measured run")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--single-requests", type=int, default=200)
    parser.add_argument("--database", default="sqlite", help="sqlite, or a postgresql:// URL (temporary database)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="saleor-cp-bench-pay-"))
    app_port, sim_port = free_port(), free_port()
    app_url, sim_url = f"http://{HOST}:{app_port}", f"http://{HOST}:{sim_port}"
    client_id, client_secret = uuid.uuid4().hex, secrets.token_urlsafe(32)
    key = SaleorKey()
    servers: list[Server] = []
    try:
        with database(args.database, workdir, keep=False) as database_url:
            args.database_url = database_url
            upgrade(database_url)
            installed = asyncio.run(install(database_url, key, sim_url, client_id, client_secret))
            asyncio.run(_use_pay_page(database_url, installed.configuration_id))
            env = _clean_env()
            sim_env = {**env, "BENCH_SIM_CLIENTS": f"{client_id}:{client_secret}"}
            sim = _uvicorn("bench.server:simulator", sim_port, sim_env, workdir, workdir / "simulator.log", "simulator")
            servers.append(sim)
            _wait_ready(sim, "/__sim")
            httpx.post(f"{sim_url}/__sim/faults", json={"webhookDrop": 10**9}, timeout=5).raise_for_status()
            app_env = {
                **env,
                "APP_PUBLIC_URL": app_url,
                "DATABASE_URL": database_url,
                "DATA_DIR": str(workdir),
                "SECRET_KEY": SECRET_KEY,
                "COINPAYMENTS_API_URL": sim_url,
                "RECONCILE_INTERVAL_SECONDS": "3600",
                "LOG_LEVEL": "WARNING",
            }
            app = _uvicorn("bench.server:app", app_port, app_env, workdir, workdir / "app.log", "app")
            servers.append(app)
            _wait_ready(app, "/health/ready")
            print(f"app pid {app.pid} on {app_url}, simulator pid {sim.pid}, channel {CHANNEL}, work folder {workdir}")
            asyncio.run(_bench(args, app, sim, key, installed.saleor_api_url))
    finally:
        for server in servers:
            _stop(server)
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
