"""Operator-facing behaviour: health, metrics, body limits, the reconcile command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.helpers.app_server import app_in_thread, settings_env


def test_health_and_metrics(database_url: str, tmp_path: Path) -> None:
    with app_in_thread(database_url, tmp_path, run_workers=False) as app:
        assert httpx.get(f"{app.base_url}/health/live").json() == {"status": "ok"}
        assert httpx.get(f"{app.base_url}/health/ready").json()["database"] == "ok"
        metrics = httpx.get(f"{app.base_url}/metrics")
        assert metrics.status_code == 200
        assert "saleor_reports_total" in metrics.text


def test_ready_is_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    unreachable = "postgresql+asyncpg://nobody@127.0.0.1:9/none"
    with app_in_thread(unreachable, tmp_path, run_workers=False) as app:
        assert httpx.get(f"{app.base_url}/health/live").status_code == 200
        response = httpx.get(f"{app.base_url}/health/ready", timeout=30)
        assert response.status_code == 503
        assert response.json()["status"] == "unavailable"


def test_oversized_webhook_bodies_are_refused_before_reading(database_url: str, tmp_path: Path) -> None:
    with app_in_thread(database_url, tmp_path, run_workers=False, max_body_bytes=2048) as app:
        body = b"{" + b" " * 5000 + b"}"
        response = httpx.post(
            f"{app.base_url}/api/webhooks/saleor/transaction-process-session",
            content=body,
            headers={"Saleor-Api-Url": "https://x.test/graphql/", "Saleor-Signature": "a..b"},
        )
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "BODY_TOO_LARGE"


def test_reconcile_once_runs_against_the_database(database_url: str, tmp_path: Path) -> None:
    from tests.helpers.app_server import app_settings

    settings = app_settings(database_url, tmp_path, 8000)
    command = [str(Path(sys.executable).with_name("saleor-coinpayments")), "reconcile", "--once"]
    result = subprocess.run(
        command, env=settings_env(settings), cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "re-read 0 payment(s)" in result.stdout
    assert os.path.exists(tmp_path)
