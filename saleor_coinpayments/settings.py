"""All configuration, read once from the environment (and `.env`). Nothing else reads os.environ.

Every value has a default that runs locally; a bad value stops the start with a clear message.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATA_DIR = Path("data")


class SettingsError(RuntimeError):
    """Settings that cannot be used; the message says which and why."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    app_public_url: str = Field(
        "http://localhost:8000",
        description="Base URL that Saleor and CoinPayments use to reach the app. Default: localhost on PORT.",
    )
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str = Field("", description="Default: SQLite file under DATA_DIR.")
    secret_key: SecretStr = Field(SecretStr(""), description="Encrypts stored secrets. Generated if unset.")
    allowed_saleor_api_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    dashboard_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Origins of self-hosted Dashboards that differ from the Saleor API's."
    )
    coinpayments_api_url: str = "https://a-api.coinpayments.net"
    coinpayments_timeout_seconds: float = Field(8.0, gt=0, le=15)
    coinpayments_rate_limit_per_second: float = Field(70.0, gt=0)
    coinpayments_webhook_window_seconds: int = Field(300, ge=10)
    saleor_timeout_seconds: float = Field(5.0, gt=0, le=15)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "console"
    reconcile_interval_seconds: float = Field(
        3600.0,
        gt=0,
        description=(
            "The longest gap between two re-reads of an open invoice: an upper bound on every gap of "
            "the read schedule (SCHEDULE_*); also how often the reconciler looks for due invoices, at most."
        ),
    )
    schedule_watching_seconds: float = Field(
        3.0, gt=0, description="Gap between re-reads while the buyer watches a fresh invoice (pay page, polls)."
    )
    schedule_watching_for_seconds: float = Field(
        20.0, gt=0, description="A pay page or transactionProcess poll counts as the buyer watching for this long."
    )
    schedule_fresh_seconds: float = Field(
        15.0, gt=0, description="Gap between re-reads while an invoice is fresh, or money is seen unconfirmed."
    )
    schedule_fresh_for_seconds: float = Field(
        900.0, ge=0, description="An invoice is fresh this long after it was made or CoinPayments last changed it."
    )
    schedule_money_for_seconds: float = Field(
        7200.0, ge=0, description="Money seen and waiting for confirmations keeps the fresh gap this long."
    )
    schedule_backoff_fraction: float = Field(
        0.05, gt=0, le=1, description="Once not fresh, the gap is this fraction of the time since the last change."
    )
    schedule_expiry_margin_seconds: float = Field(
        30.0, ge=0, description="An open invoice is read once this long after its expiry, whatever the gap."
    )
    schedule_settled_slack_seconds: float = Field(
        600.0,
        ge=0,
        description=(
            "A due read of a payment whose outcome Saleor already has (paid, ended) may wait this much "
            "longer when reads are short: unpaid and pending invoices go first."
        ),
    )
    reconcile_poll_seconds: float = Field(
        1.0, gt=0, description="How often an idle reconciler looks for due invoices (one indexed query)."
    )
    sweep_recent_seconds: float = Field(
        15.0, gt=0, description="How often CoinPayments' invoice list is swept for changes to recent invoices."
    )
    sweep_recent_window_seconds: float = Field(
        7200.0, gt=0, description="Recent: made within this long; the frequent sweep lists only these."
    )
    sweep_all_seconds: float = Field(
        300.0, gt=0, description="How often the invoice list is swept for changes to every open invoice."
    )
    reconcile_concurrency: int = Field(
        # At least the rate limit × one read (~0.3 s at CoinPayments plus the app's own work) in
        # flight, or the limit is never reached; the rest wait for their rate-limit slot.
        64,
        ge=1,
        le=512,
        description="Invoice reads in flight per process (each still waits for its rate-limit slot).",
    )
    notification_reread_concurrency: int = Field(
        # As for the reconciler: the rate limit × one read, with room for a busy machine. Beyond it a
        # burst (redeliveries after an outage) waits here, where an invoice's later notifications
        # still join its pending re-read, instead of as tasks queued at the rate limiter.
        32,
        ge=1,
        le=512,
        description="Invoice re-reads for CoinPayments notifications in flight per process.",
    )
    reconcile_lease_seconds: float = Field(
        15.0, ge=1, description="A claim on a payment to re-read; renewed while it is read, lapses if the process dies."
    )
    process_refresh_min_seconds: float = Field(
        10.0, ge=0, description="The chosen coin's status is re-read for a watching buyer only if older than this."
    )
    checkout_complete_after_seconds: int = Field(
        900, ge=0, description="Complete a paid checkout whose buyer never came back after this long; 0: never."
    )
    outbox_interval_seconds: float = Field(1.0, gt=0)
    outbox_retry_hours: float = Field(
        72.0, gt=0, description="A report Saleor keeps failing transiently is retried this long, then expired."
    )
    outbox_max_backoff_seconds: float = Field(600.0, gt=0, le=600, description="Longest wait between retries.")
    outbox_concurrency: int = Field(16, ge=1, le=256, description="Reports in flight per process.")
    outbox_lease_seconds: float = Field(
        60.0, ge=1, description="A claim on a report; renewed while it is worked, lapses if the process dies."
    )
    shutdown_grace_seconds: float = Field(
        20.0, ge=0, le=300, description="On SIGTERM, how long work in flight may finish before it is released."
    )
    max_body_bytes: int = Field(1_000_000, ge=1024)
    jwks_refresh_min_interval_seconds: float = Field(10.0, ge=0)
    operator_token: SecretStr = Field(SecretStr(""), description="Bearer token for operator HTTP endpoints.")
    run_workers: bool = Field(True, description="Run the outbox and reconciler inside `serve`.")
    pay_page_requests_per_second: float = Field(
        2.0, gt=0, description="Requests per second one pay page link may make (bursts of 10x), per process."
    )
    pay_page_wait_seconds: float = Field(
        25.0, gt=0, le=120, description="A pay page's wait for a change is answered at the latest after this."
    )
    pay_page_wait_check_seconds: float = Field(
        1.0, gt=0, le=30, description="How often a process checks, in one statement, the payments its pages wait on."
    )
    docs_url: str = Field(
        "", description="Where the app's documentation is published; the public pages link to it. Empty: none."
    )
    # The speed machinery (saleor_coinpayments/runtime): each part can be switched off. The process-wide
    # ones (RUNTIME_*) apply only under `serve`.
    runtime_quiet_gc: bool = Field(
        True, description="`serve`: collect the older GC generations at quiet moments, not mid-request."
    )
    runtime_gc_freeze: bool = Field(
        True, description="`serve`: freeze start-up objects (and the first warm caches) out of the collector's sight."
    )
    outgoing_http_pools: int = Field(
        8,
        ge=1,
        le=32,
        description="Outgoing calls spread over this many small connection pools (1: one httpx pool); "
        "one while a proxy is set in the environment.",
    )
    notification_coalescing: bool = Field(
        True, description="Notifications of one invoice that arrive before its re-read starts share that re-read."
    )

    # The store's speed mechanisms (store/fast_path.py, store/sqlite_in_loop.py). Each is on by default
    # and can be switched off, e.g. to measure what it buys (bench) or to rule it out.
    store_fast_path: bool = Field(
        True, description="Run the hot statements on the driver; false: through the ORM session like the rest."
    )
    store_sqlite_in_loop: bool = Field(
        True, description="SQLite: run the fast path on the process's own connections in the event loop's thread."
    )
    store_sqlite_group_commit: bool = Field(
        True, description="SQLite in-loop writer: one fsync, in a thread, for the commits made meanwhile."
    )
    store_fast_read_connections: int = Field(
        16,
        ge=0,
        description="PostgreSQL: the fast path's reads hold at most this many pooled connections at once; "
        "more wait their turn instead of overflowing the pool. 0: no limit.",
    )
    store_fast_kept_connections: int = Field(
        16,
        ge=0,
        description="PostgreSQL: the fast path keeps up to this many connections checked out for a moment "
        "between its reads and units, instead of a pool checkout and checkin each time. 0: none.",
    )

    @model_validator(mode="before")
    @classmethod
    def _public_url_follows_the_port(cls, data: object) -> object:
        """Without APP_PUBLIC_URL the app is reached on localhost at the port it listens on, so
        `PORT=8090` also moves the manifest's URLs (they would otherwise name a port nobody serves)."""
        if isinstance(data, dict) and not str(data.get("app_public_url") or "").strip():
            port = str(data.get("port", 8000)).strip()
            if port.isdigit():
                return {**data, "app_public_url": f"http://localhost:{int(port)}"}
        return data

    @field_validator("app_public_url", "coinpayments_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not re.match(r"^https?://[^/\s]+(/\S*)?$", value):
            raise ValueError(f"must be an http(s) URL, got {value!r}")
        return value

    @field_validator("allowed_saleor_api_urls", "dashboard_origins", mode="before")
    @classmethod
    def _split_patterns(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("allowed_saleor_api_urls")
    @classmethod
    def _compile_patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {pattern!r} ({exc})") from exc
        return value

    @field_validator("dashboard_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        origins = []
        for origin in value:
            cleaned = origin.rstrip("/").lower()
            if not re.fullmatch(r"https?://[a-z0-9.-]+(:\d{1,5})?", cleaned):
                raise ValueError(f"not an origin (scheme://host[:port]): {origin!r}")
            origins.append(cleaned)
        return origins

    @field_validator("docs_url")
    @classmethod
    def _docs_url(cls, value: str) -> str:
        value = value.strip()
        if value and not re.match(r"^https?://[^/\s]+(/\S*)?$", value):
            raise ValueError(f"must be an http(s) URL or empty, got {value!r}")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        value = value.strip()
        if value.startswith("postgres://") or value.startswith("postgresql://"):
            value = "postgresql+asyncpg://" + value.split("://", 1)[1]
        if value and not (value.startswith("sqlite+aiosqlite://") or value.startswith("postgresql+asyncpg://")):
            raise ValueError("must be sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db")
        return value

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{(self.data_dir / 'app.db').resolve()}"

    def saleor_api_url_allowed(self, url: str) -> bool:
        """Empty list allows any Saleor; otherwise one pattern must match the whole URL."""
        if not self.allowed_saleor_api_urls:
            return True
        return any(re.fullmatch(pattern, url) for pattern in self.allowed_saleor_api_urls)

    def public_url(self, path: str) -> str:
        return f"{self.app_public_url}{path}"


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, or a `SettingsError` naming every bad value."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']).upper() or 'settings'}: {err['msg']}" for err in exc.errors()
        )
        raise SettingsError(f"invalid settings: {problems}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
