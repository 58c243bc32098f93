"""Real servers on loopback for end-to-end tests: the fake Saleor, the simulator, and the app
started by its own command, configured for one channel."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from saleor_coinpayments.coinpayments.client import CoinPaymentsClient
from saleor_coinpayments.coinpayments.ratelimit import TokenBucket
from saleor_coinpayments.simulator.app import create_simulator_app
from saleor_coinpayments.store.configurations import ConfigurationRepository
from saleor_coinpayments.store.crypto import SecretBox
from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.installations import InstallationRepository
from saleor_coinpayments.store.tables import Notification, OutboxMessage, OutboxStatus
from tests.fakes.saleor import FakeSaleor
from tests.fakes.saleor_model import App, TransactionEvent, TransactionItem
from tests.helpers.app_server import TEST_SECRET_KEY, RunningApp, app_process, settings_env
from tests.helpers.commands import run_command
from tests.helpers.servers import free_port, serve_asgi
from tests.helpers.waiting import eventually, settled

GATEWAY = "saleor.coinpayments"
__all__ = ["GATEWAY", "Simulator", "World", "configure", "eventually", "running_world"]


@dataclass
class Simulator:
    base_url: str
    client_id: str
    client_secret: str
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10))

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.http.request(method, f"{self.base_url}/__sim{path}", json=body)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def pay(self, invoice_id: str, amount: str = "full", confirmations: int = 0, currency: str | None = None) -> Any:
        body: dict[str, Any] = {"amount": amount, "confirmations": confirmations}
        if currency:
            body["currency"] = currency
        return self.control("POST", f"/invoices/{invoice_id}/pay", body)

    def confirm(self, invoice_id: str, blocks: int = 1) -> Any:
        return self.control("POST", f"/invoices/{invoice_id}/confirm", {"blocks": blocks})

    def invoice(self, invoice_id: str) -> Any:
        return self.control("GET", f"/invoices/{invoice_id}")

    def advance(self, seconds: int) -> Any:
        return self.control("POST", "/clock/advance", {"seconds": seconds})

    def faults(self, **faults: Any) -> Any:
        return self.control("POST", "/faults", faults)

    def list_invoices(self) -> list[str]:
        """Invoice ids as the real list API returns them to this client."""

        async def run() -> list[str]:
            async with CoinPaymentsClient(
                client_id=self.client_id,
                client_secret=self.client_secret,
                base_url=self.base_url,
                timeout_seconds=5,
                rate_limiter=TokenBucket(100),
            ) as client:
                listed = await client.list_invoices(limit=100)
                return [item.id for item in listed.items]

        return asyncio.run(run())

    def wait_deliveries(self) -> None:
        self.control("POST", "/deliveries/wait", {"timeoutSeconds": 10})


@dataclass
class World:
    saleor: FakeSaleor
    sim: Simulator
    app: RunningApp
    saleor_app: App
    configuration_id: str

    def notifications(self, invoice_id: str) -> list[Notification]:
        """The app's record of CoinPayments notifications for one invoice."""

        async def read() -> list[Notification]:
            db = Database(self.app.settings.database_url)
            try:
                async with db.session() as session:
                    query = select(Notification).where(Notification.invoice_id == invoice_id)
                    return list((await session.execute(query)).scalars())
            finally:
                await db.dispose()

        return asyncio.run(read())

    def settled(self) -> None:
        """Return once everything caused so far has reached Saleor: the way to prove that nothing
        more happens (no duplicate), without sleeping (tests/helpers/waiting.py)."""
        settled(self.app.settings.database_url, before=self.sim.wait_deliveries)

    def outbox(self) -> list[OutboxMessage]:
        """The app's reports to Saleor (every kind), oldest first."""

        async def read() -> list[OutboxMessage]:
            db = Database(self.app.settings.database_url)
            try:
                async with db.session() as session:
                    query = select(OutboxMessage).order_by(OutboxMessage.created_at, OutboxMessage.id)
                    return list((await session.execute(query)).scalars())
            finally:
                await db.dispose()

        return asyncio.run(read())

    def refused_by_saleor(self, kind: str | None = None) -> list[OutboxMessage]:
        """Reports (of `kind`, e.g. `invoice_cancel_report`) the app tried to deliver, whose try has
        ended without Saleor taking them (to be tried again): the observable sign that the app met
        an outage or a lost answer."""
        return [
            row
            for row in self.outbox()
            if row.status == OutboxStatus.PENDING.value
            and row.attempts >= 1
            and row.claim_token is None
            and (kind is None or row.kind == kind)
        ]

    def queued(self, type_: str, transaction_id: str) -> list[OutboxMessage]:
        """The app's event reports of `type_` for a transaction, delivered or not."""
        return [r for r in self.outbox() if r.ordering_key == transaction_id and r.payload.get("type") == type_]

    def app_process_kill(self) -> None:
        """SIGKILL the app: no shutdown, no flushing (a crash)."""
        assert self.app.process is not None
        self.app.process.kill()
        self.app.process.wait(timeout=10)

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """`saleor-coinpayments …` as its own process on the app's database and settings."""
        return run_command(args, settings_env(self.app.settings), self.app.settings.data_dir, timeout)

    def transaction(self, transaction_id: str) -> TransactionItem:
        return self.saleor.transaction(transaction_id)

    def events(self, transaction_id: str, type_: str | None = None) -> list[TransactionEvent]:
        with self.saleor.lock:
            events = list(self.transaction(transaction_id).events)
        return [e for e in events if type_ is None or e.type == type_]

    def app_events(self, transaction_id: str, type_: str) -> list[TransactionEvent]:
        """Events reported by the app itself (transactionEventReport), not made by Saleor."""
        return [e for e in self.events(transaction_id, type_) if e.app is not None]

    def checkout(self, total: str = "20.00", **options: Any) -> Any:
        from tests.fakes.saleor_model import Line

        return self.saleor.create_checkout([Line("T-shirt", "L", "TSHIRT-L", 1, Decimal(total))], **options)

    def initialize(self, source_id: str, data: Any = None, **options: Any) -> Any:
        return self.saleor.transaction_initialize(source_id, gateway=GATEWAY, data=data, **options)


def configure(
    database_url: str,
    saleor_api_url: str,
    sim: Simulator,
    channel: str = "default-channel",
    checkout_page: str | None = None,
) -> str:
    async def run() -> str:
        db = Database(database_url)
        box = SecretBox(TEST_SECRET_KEY)
        try:
            async with db.session() as session:
                installation = await InstallationRepository(session, box).get(saleor_api_url)
                assert installation is not None
                repo = ConfigurationRepository(session, box)
                config = await repo.upsert(
                    installation.id,
                    channel,
                    client_id=sim.client_id,
                    client_secret=sim.client_secret,
                    api_url=sim.base_url,
                    checkout_page=checkout_page,
                    name_chosen=False,  # as `config set` without --name: the channel slug is only a label
                )
                await repo.map_channel(installation.id, channel, config.id)
                return config.id
        finally:
            await db.dispose()

    return asyncio.run(run())


@contextlib.contextmanager
def running_world(
    database_url: str,
    tmp_path: Path,
    *,
    saleor_version: str | None = None,
    app_output: Path | None = None,
    **app_settings: Any,
) -> Iterator[World]:
    """Everything running; `saleor_version` makes the fake Saleor behave like that line (e.g. 3.20);
    the app's output goes to `app_output` if given."""
    port = free_port()
    sim_url = f"http://127.0.0.1:{port}"
    client_id, secret = secrets.token_hex(16), secrets.token_urlsafe(32)
    simulator_app = create_simulator_app(
        {client_id: secret}, public_url=sim_url, webhook_retry_delay=0.2, webhook_timeout=5.0, tick_interval=0.2
    )
    with (
        serve_asgi(simulator_app, port=port),
        FakeSaleor.serve(version=saleor_version) as saleor,
        app_process(database_url, tmp_path, app_output, coinpayments_api_url=sim_url, **app_settings) as app,
    ):
        saleor_app = saleor.install_app(app.manifest_url)
        sim = Simulator(sim_url, client_id, secret)
        configuration_id = configure(database_url, saleor.api_url, sim)
        yield World(saleor, sim, app, saleor_app, configuration_id)
