"""Everything a request or a job needs, built once per process (no import-time globals)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from saleor_coinpayments.coinpayments.ratelimit import SharedRateLimiter
from saleor_coinpayments.runtime import Coalescer, outgoing_client
from saleor_coinpayments.saleor.client import SaleorClient
from saleor_coinpayments.saleor.jwks import RefetchLimiter
from saleor_coinpayments.settings import Settings
from saleor_coinpayments.store.configurations import ConfigurationCache
from saleor_coinpayments.store.crypto import SecretBox, resolve_secret_key
from saleor_coinpayments.store.db import Database, StoreOptions
from saleor_coinpayments.store.installations import InstallationCache
from saleor_coinpayments.store.page_waiters import PageWaiters
from saleor_coinpayments.store.rate_limits import RateLimitRepository


@dataclass
class AppContext:
    settings: Settings
    db: Database
    box: SecretBox
    http: httpx.AsyncClient
    saleor: SaleorClient
    jwks_refetch: RefetchLimiter = field(init=False)
    installations: InstallationCache = field(default_factory=InstallationCache)
    # Notifications of one payment that arrive before its re-read starts share that re-read. Its
    # items are the notification use case's `Accepted` (payments/delivery/notifications.py types
    # them where it uses them): the context sits below the use cases and names none of them.
    notification_rereads: Coalescer[Any] = field(init=False)
    configurations: ConfigurationCache = field(default_factory=ConfigurationCache)
    # CoinPayments' limit per client id, shared with every replica through the database.
    rate_limits: SharedRateLimiter = field(init=False)
    # Pay pages waiting for their payment to change, checked together.
    page_waiters: PageWaiters = field(init=False)
    # Set when this process queues reports to Saleor: its outbox worker claims them at once instead
    # of at its next OUTBOX_INTERVAL_SECONDS poll (a notified payment reaches Saleor within 2 s).
    outbox_nudge: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.jwks_refetch = RefetchLimiter(self.settings.jwks_refresh_min_interval_seconds)
        self.notification_rereads = Coalescer(
            slots=self.settings.notification_reread_concurrency, coalesce=self.settings.notification_coalescing
        )
        self.page_waiters = PageWaiters(self.db, self.settings.pay_page_wait_check_seconds)
        slot_book = RateLimitRepository(self.db)
        self.rate_limits = SharedRateLimiter(
            slot_book.book, self.settings.coinpayments_rate_limit_per_second, read_now=slot_book.database_now
        )


@contextlib.asynccontextmanager
async def app_context(settings: Settings) -> AsyncIterator[AppContext]:
    db = Database(settings.resolved_database_url, options=StoreOptions.of(settings))
    box = SecretBox(resolve_secret_key(settings.secret_key.get_secret_value(), settings.data_dir))
    async with outgoing_client(pools=settings.outgoing_http_pools) as http:
        ctx = AppContext(
            settings=settings,
            db=db,
            box=box,
            http=http,
            saleor=SaleorClient(http, settings.saleor_timeout_seconds),
        )
        try:
            yield ctx
        finally:
            await ctx.page_waiters.aclose()
            await db.dispose()
