"""Issue #29: a large ledger download from the app's own process (`saleor-coinpayments serve`)
streams. While a client holds a 100,000-row download open, half read, the app answers other
requests, and its resident memory (RSS from /proc, sampled as the download is read) stays within
50 MB of what it was before the download."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from saleor_coinpayments.store.db import Database
from tests.fakes.saleor import FakeSaleor
from tests.helpers.app_server import TEST_SECRET_KEY, app_process
from tests.integration.books import seed

ROWS = 100_000
MAX_GROWTH = 50 * 1024 * 1024


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def seed_rows(database_url: str, api_url: str) -> None:
    async def run() -> None:
        db = Database(database_url)
        try:
            shop = await seed.installed_shop(db, api_url, TEST_SECRET_KEY)
            await seed.many_paid(db, shop, ROWS // 2)
        finally:
            await db.dispose()

    asyncio.run(run())


def test_a_large_download_streams_without_holding_up_the_app(database_url: str, tmp_path: Path) -> None:
    with FakeSaleor.serve() as saleor, app_process(database_url, tmp_path) as app:
        saleor_app = saleor.install_app(app.manifest_url)
        seed_rows(database_url, saleor.api_url)
        assert app.process is not None
        token = saleor.issue_dashboard_token(saleor_app, email="admin@shop.example")
        headers = {"authorization-bearer": token, "saleor-api-url": saleor.api_url}
        with httpx.Client(base_url=app.base_url, timeout=120) as client:
            assert client.get("/health/live").status_code == 200
            idle = rss(app.process.pid)
            peak = idle
            params = {"from": "2026-11-01", "to": "2026-11-30"}
            with client.stream("GET", "/api/dashboard/ledger", params=params, headers=headers) as download:
                assert download.status_code == 200
                lines = 0
                chunks = download.iter_bytes()
                for _ in range(20):
                    lines += next(chunks).count(b"\r\n")
                assert lines < ROWS  # half read: the app is in the middle of the export
                with httpx.Client(base_url=app.base_url, timeout=10) as other:
                    assert other.get("/health/live").status_code == 200
                for chunk in chunks:
                    lines += chunk.count(b"\r\n")
                    peak = max(peak, rss(app.process.pid))
        assert lines == 1 + ROWS + 2 * 3
        growth = peak - idle
        print(f"ledger download of {ROWS} rows: app RSS {idle / 2**20:.0f} MB idle, grew {growth / 2**20:.1f} MB")
        assert growth < MAX_GROWTH, f"the app grew by {growth / 2**20:.1f} MB"
