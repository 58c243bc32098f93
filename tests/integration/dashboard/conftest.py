"""Real servers on loopback for the Dashboard tests: the simulator, the fake Saleor and the app."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from saleor_coinpayments.coinpayments.client import CoinPaymentsClient
from saleor_coinpayments.coinpayments.models import ClientWebhook
from saleor_coinpayments.coinpayments.ratelimit import limiter_for
from saleor_coinpayments.simulator import create_simulator_app
from saleor_coinpayments.store.crypto import SecretBox
from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.tables import OutboxMessage, Payment
from tests.fakes.saleor import FakeSaleor
from tests.fakes.saleor_model import App
from tests.helpers.app_server import TEST_SECRET_KEY, RunningApp, app_in_thread
from tests.helpers.http import tls_context
from tests.helpers.servers import serve_asgi

CLIENT_ID = "dc6a16e545c34187ba21a9edbbe484a5"
CLIENT_ID_DASHED = "dc6a16e5-45c3-4187-ba21-a9edbbe484a5"
SECRET = "9ZFHcnGMxawADeXRfDtNkQDCjFUK5998oOMhl51QvzM="
OTHER_CLIENT_ID = "0123456789abcdef0123456789abcdef"
OTHER_SECRET = "c2Vjb25kLXNlY3JldC1mb3ItdGhlLXN1aXRlLTEyMzQ="

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to the end from sync code, even where a loop runs already (Playwright's sync API)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


@dataclass
class Simulator:
    base_url: str

    def patch_client(self, client_id: str, **changes: Any) -> None:
        response = httpx.patch(f"{self.base_url}/__sim/clients/{client_id}", json=changes, timeout=10)
        response.raise_for_status()

    async def webhooks_async(self, client_id: str = CLIENT_ID, secret: str = SECRET) -> list[ClientWebhook]:
        """The integration's webhook subscriptions, read through the signed API."""
        async with CoinPaymentsClient(
            client_id=client_id,
            client_secret=secret,
            base_url=self.base_url,
            timeout_seconds=5,
            rate_limiter=limiter_for(client_id),
        ) as client:
            return await client.list_client_webhooks()

    def webhooks(self, client_id: str = CLIENT_ID, secret: str = SECRET) -> list[ClientWebhook]:
        return run(self.webhooks_async(client_id, secret))


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    app = create_simulator_app({CLIENT_ID: SECRET, OTHER_CLIENT_ID: OTHER_SECRET}, tick_interval=None)
    with serve_asgi(app) as base_url:
        yield Simulator(base_url)


@pytest.fixture
def saleor() -> Iterator[FakeSaleor]:
    with FakeSaleor.serve() as fake:
        for slug, currency in (("web", "USD"), ("pos", "USD"), ("eu", "EUR")):
            fake.model.add_channel(slug, currency)
        yield fake


@pytest.fixture
def app(database_url: str, tmp_path: Path, simulator: Simulator) -> Iterator[RunningApp]:
    with app_in_thread(database_url, tmp_path, run_workers=False, coinpayments_api_url=simulator.base_url) as running:
        yield running


@dataclass
class Dashboard:
    """The page's API as the page calls it: token and Saleor API URL in headers."""

    app: RunningApp
    saleor: FakeSaleor
    saleor_app: App

    def token(self, **options: Any) -> str:
        return self.saleor.issue_dashboard_token(self.saleor_app, **options)

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        token: str | None = None,
        api_url: str | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        headers = {
            "authorization-bearer": token if token is not None else self.token(),
            "saleor-api-url": api_url if api_url is not None else self.saleor.api_url,
        }
        with httpx.Client(timeout=30, verify=tls_context()) as client:
            return client.request(
                method, f"{self.app.base_url}/api/dashboard{path}", headers=headers, json=json, params=params
            )

    def create(self, **fields: Any) -> dict[str, Any]:
        body = {"name": "Main shop", "client_id": CLIENT_ID, "client_secret": SECRET, **fields}
        response = self.call("POST", "/configurations", json=body)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    def configurations(self) -> list[dict[str, Any]]:
        response = self.call("GET", "/configurations")
        assert response.status_code == 200, response.text
        result: list[dict[str, Any]] = response.json()["configurations"]
        return result


@pytest.fixture
def dashboard(app: RunningApp, saleor: FakeSaleor) -> Dashboard:
    saleor_app = saleor.install_app(app.manifest_url)
    return Dashboard(app, saleor, saleor_app)


def database(database_url: str) -> Database:
    return Database(database_url)


def box() -> SecretBox:
    return SecretBox(TEST_SECRET_KEY)


async def _with_session(database_url: str, work: Callable[[Any], Coroutine[Any, Any, T]]) -> T:
    db = Database(database_url)
    try:
        async with db.session() as session:
            return await work(session)
    finally:
        await db.dispose()


def with_session(database_url: str, work: Callable[[Any], Coroutine[Any, Any, T]]) -> T:
    return run(_with_session(database_url, work))


def insert_payment(
    database_url: str,
    *,
    installation_id: str,
    configuration_id: str,
    channel: str,
    invoice_id: str | None,
    amount: str = "25.00",
    state: str = "unpaid",
    outbox: tuple[tuple[str, str | None], ...] = (),
) -> str:
    """A payment row as the checkout flow stores it, with outbox rows `(status, last_error)`."""

    async def work(session: Any) -> str:
        payment = Payment(
            installation_id=installation_id,
            configuration_id=configuration_id,
            saleor_transaction_id=f"VHJhbnNhY3Rpb25JdGVtOi{invoice_id or 'x'}",
            source_type="checkout",
            source_id="Q2hlY2tvdXQ6MQ==",
            channel_slug=channel,
            our_invoice_ref=f"ref-{invoice_id or 'none'}-{channel}",
            invoice_id=invoice_id,
            currency="USD",
            amount=Decimal(amount),
            state=state,
        )
        session.add(payment)
        await session.flush()
        for index, (status, error) in enumerate(outbox):
            session.add(
                OutboxMessage(
                    installation_id=installation_id,
                    payment_id=payment.id,
                    kind="transaction_event_report",
                    dedup_key=f"{payment.id}:{index}",
                    payload={},
                    status=status,
                    attempts=1 if error else 0,
                    last_error=error,
                )
            )
        await session.flush()
        return str(payment.id)

    return with_session(database_url, work)
