"""Debian's Chromium under Playwright for the buyer-side browser tests, and where screenshots go.

Screenshots are kept in `artifacts/screenshots/` at the repository root (git-ignored), or in
`BROWSER_SCREENSHOT_DIR`, so a person can look at what the buyer saw.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.browser.test_dashboard_page import CHROMIUM, CHROMIUM_ARGS, _chromium_or_skip

SCREENSHOT_DIR = Path(
    os.environ.get("BROWSER_SCREENSHOT_DIR") or Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
)


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def script_errors(page: Any) -> list[str]:
    """Uncaught errors and console errors of the page (a CSP violation shows up here)."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    return errors
