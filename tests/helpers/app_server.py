"""The app itself on a loopback port, in-process (uvicorn thread) or by its own command."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from saleor_coinpayments.app import create_app
from saleor_coinpayments.settings import Settings, load_settings
from tests.helpers.commands import CommandProcess, start_command
from tests.helpers.http import tls_context
from tests.helpers.servers import free_port, serve_asgi

TEST_SECRET_KEY = "test-secret-key-for-the-suite"


@dataclass(frozen=True)
class RunningApp:
    base_url: str
    settings: Settings
    process: CommandProcess | None = None

    @property
    def manifest_url(self) -> str:
        return f"{self.base_url}/api/manifest"


def app_settings(database_url: str, data_dir: Path, port: int, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "app_public_url": f"http://127.0.0.1:{port}",
        "port": port,
        "database_url": database_url,
        "data_dir": data_dir,
        "secret_key": TEST_SECRET_KEY,
        "jwks_refresh_min_interval_seconds": 0,
        "outbox_interval_seconds": 0.1,
        "reconcile_interval_seconds": 0.3,
        # Every invoice is re-read each 0.3 s here: the invoice-list sweeps only add requests that
        # tests counting CoinPayments calls would have to allow for (tests of the sweep run it themselves).
        "sweep_recent_seconds": 3600,
        "sweep_all_seconds": 3600,
    }
    values.update(overrides)
    return load_settings(**values)


@contextlib.contextmanager
def app_in_thread(database_url: str, data_dir: Path, **overrides: Any) -> Iterator[RunningApp]:
    port = free_port()
    settings = app_settings(database_url, data_dir, port, **overrides)
    with serve_asgi(create_app(settings), port=port) as base_url:
        yield RunningApp(base_url, settings)


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes `saleor-coinpayments` read exactly these settings."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(tuple(_SETTING_PREFIXES))}
    for name, value in settings.model_dump().items():
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        if isinstance(value, list):
            value = ",".join(value)
        env[name.upper()] = str(value)
    return env


_SETTING_PREFIXES = [name.upper() for name in Settings.model_fields]


@contextlib.contextmanager
def app_process(
    database_url: str, data_dir: Path, output: Path | None = None, **overrides: Any
) -> Iterator[RunningApp]:
    """`saleor-coinpayments serve` as its own process (its output to `output` if given); killed
    (SIGKILL) at the end of the block."""
    port = free_port()
    settings = app_settings(database_url, data_dir, port, **overrides)
    process = start_app_process(settings, output=output)
    try:
        yield RunningApp(f"http://127.0.0.1:{port}", settings, process)
    finally:
        process.kill()
        process.wait(timeout=10)


def start_app_process(settings: Settings, cwd: Path | None = None, output: Path | None = None) -> CommandProcess:
    """`saleor-coinpayments serve` on these settings, ready (tests/helpers/commands.py: how)."""
    process = start_command(["serve"], settings_env(settings), cwd or settings.data_dir, output)
    try:
        wait_ready(f"http://127.0.0.1:{settings.port}", process)
    except BaseException:
        process.kill()
        raise
    return process


def wait_ready(
    base_url: str, process: subprocess.Popen[bytes] | CommandProcess | None = None, timeout: float = 90
) -> None:
    deadline = time.monotonic() + timeout
    # One client for the whole poll, no keep-alive: each try is a new connection, as before.
    limits = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(timeout=1, verify=tls_context(), limits=limits) as client:
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"app exited with {process.returncode}")
            try:
                if client.get(f"{base_url}/health/ready").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    raise RuntimeError(f"app at {base_url} not ready in {timeout} s")
