"""Issue #29 "Done when": the Books section of the Dashboard page in headless Chromium. The admin
picks a period, sees its totals, and downloads a CSV equal to what `saleor-coinpayments report
ledger` writes for the same period."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from saleor_coinpayments.store.db import Database
from tests.browser.test_dashboard_page import (  # noqa: F401 - fixtures
    DashboardHost,
    app,
    browser,
    host,
    simulator,
)
from tests.helpers.app_server import TEST_SECRET_KEY, RunningApp, settings_env
from tests.integration.books import seed
from tests.integration.books.seed import MONTH_START

pytestmark = pytest.mark.browser


def seed_november(database_url: str, api_url: str) -> None:
    """Two paid and paid-out payments in two channels, a staff refund, and one payment in October."""

    async def run() -> None:
        db = Database(database_url)
        try:
            shop = await seed.installed_shop(db, api_url, TEST_SECRET_KEY)
            web = seed.payment_row(shop, 1)
            pos = seed.payment_row(shop, 2, channel="pos", amount=Decimal("12.34"), credited_amount=Decimal("12.34"))
            october = seed.payment_row(shop, 3)
            coins = [
                seed.coin_row(web, MONTH_START + timedelta(days=2)),
                seed.coin_row(
                    pos,
                    MONTH_START + timedelta(days=20),
                    actual_amount=Decimal("0.15425000"),
                    native_actual_amount=Decimal("12.34"),
                    native_payout_amount=Decimal("12.28"),
                    payout_amount=Decimal("0.15346875"),
                ),
                seed.coin_row(october, MONTH_START - timedelta(days=2), payout_completed_at=None),
            ]
            refund = seed.refund_row(web, MONTH_START + timedelta(days=5), note='=HYPERLINK("x")')
            await seed.write(db, [web, pos, october], coins, [refund])
        finally:
            await db.dispose()

    # Playwright's sync API holds a loop in this thread: the database work runs in another.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


def cli_ledger(running: RunningApp, *args: str) -> bytes:
    command = [str(Path(sys.executable).with_name("saleor-coinpayments")), "report", "ledger", *args]
    done = subprocess.run(
        command,
        env=settings_env(running.settings),
        cwd=running.settings.data_dir,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


def test_admin_picks_a_period_sees_the_totals_and_downloads_the_cli_csv(
    browser: Any,  # noqa: F811
    host: DashboardHost,  # noqa: F811
    app: RunningApp,  # noqa: F811
    database_url: str,
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    saleor_app = host.saleor.install_app(app.manifest_url)
    seed_november(database_url, host.saleor.api_url)
    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(host.url_for(saleor_app, host.saleor.issue_dashboard_token(saleor_app, email="admin@shop.example")))
    frame = page.frame_locator("#app")
    books = frame.locator("#books")
    expect(frame.locator("#whoami")).to_have_text("Signed in as admin@shop.example")

    # A period that ends before it starts is refused next to the form.
    books.locator('input[name="from"]').fill("2026-11-30")
    books.locator('input[name="to"]').fill("2026-11-01")
    books.get_by_role("button", name="Show totals").click()
    expect(books.locator('[data-error-for="_"]')).to_contain_text("'from' must not be after 'to'.")

    # November: the totals of both channels.
    books.locator('input[name="from"]').fill("2026-11-01")
    books.locator('input[name="to"]').fill("2026-11-30")
    books.get_by_role("button", name="Show totals").click()
    totals = books.locator("#books-totals")
    expect(totals.locator('tr[data-kind="paid"][data-unit="USD"]')).to_contain_text("32.34")
    expect(totals.locator('tr[data-kind="payout"][data-unit="USD"]')).to_contain_text("32.18")
    expect(totals.locator('tr[data-kind="refund"][data-unit="USD"]')).to_contain_text("8.00")
    expect(totals.locator('tr[data-kind="net"][data-unit="USD"]')).to_contain_text("24.34")
    expect(totals.locator('tr[data-kind="paid"][data-unit="LTCT"]')).to_contain_text("0.40425000")
    expect(books.locator('[data-error-for="_"]')).to_be_hidden()
    page.screenshot(path=str(tmp_path / "books.png"), full_page=True)

    with page.expect_download() as started:
        books.get_by_role("button", name="Download CSV").click()
    download = started.value
    assert download.suggested_filename == "ledger-2026-11-01-2026-11-30.csv"
    downloaded = Path(download.path()).read_bytes()
    expected = cli_ledger(app, "--from", "2026-11-01", "--to", "2026-11-30")
    assert downloaded == expected
    assert downloaded.count(b"\r\n") == 1 + 5 + 2 * 4  # header, 5 movements, 4 totals per USD and LTCT
    assert b"'=HYPERLINK" in downloaded
    assert errors == []
