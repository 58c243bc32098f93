"""The app's public pages: `/`, `/support`, `/privacy`, which the manifest names and the Saleor
Dashboard shows as the app's Homepage, Support and privacy links; and the default public URL."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx

from saleor_coinpayments.store.tables import Base
from tests.helpers.app_server import app_in_thread, app_settings, settings_env, wait_ready
from tests.helpers.servers import free_port

ASSET_ATTRIBUTES = re.compile(r"<(?:link|script|img|iframe|source)\b[^>]*?\b(?:href|src)=\"([^\"]*)\"", re.I)


def _assets(html: str) -> list[str]:
    return ASSET_ATTRIBUTES.findall(html)


def test_the_landing_page_says_what_the_app_is_where_its_manifest_is_and_that_it_is_healthy(
    database_url: str, tmp_path: Path
) -> None:
    with app_in_thread(database_url, tmp_path, run_workers=False) as app:
        response = httpx.get(f"{app.base_url}/")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        page = response.text
        assert "Saleor payment app" in page
        assert f'<code class="value" id="manifest-url">{app.base_url}/api/manifest</code>' in page
        assert "Running; its database answers." in page
        assert 'href="/health/ready"' in page
        assert "DOCS_URL" in page  # no published docs configured: the page says where they are


def test_the_landing_page_says_when_the_database_does_not_answer(tmp_path: Path) -> None:
    unreachable = "postgresql+asyncpg://nobody@127.0.0.1:9/none"
    with app_in_thread(unreachable, tmp_path, run_workers=False) as app:
        response = httpx.get(f"{app.base_url}/", timeout=30)
        assert response.status_code == 200
        assert "its database does not answer" in response.text
        assert "its database answers." not in response.text


def test_the_pages_link_the_documentation_named_by_docs_url(database_url: str, tmp_path: Path) -> None:
    docs = "https://docs.example.com/saleor-coinpayments/"
    with app_in_thread(database_url, tmp_path, run_workers=False, docs_url=docs) as app:
        for path in ("/", "/support", "/privacy"):
            assert f'href="{docs}"' in httpx.get(f"{app.base_url}{path}").text, path


def test_support_and_privacy_pages_answer_with_their_content(database_url: str, tmp_path: Path) -> None:
    with app_in_thread(database_url, tmp_path, run_workers=False, outbox_retry_hours=48) as app:
        support = httpx.get(f"{app.base_url}/support")
        assert support.status_code == 200
        assert "Test connection" in support.text
        assert "Never send the\n      CoinPayments client secret" in support.text
        privacy = httpx.get(f"{app.base_url}/privacy")
        assert privacy.status_code == 200
        for fact in ("About buyers", "About shops", "For how long", "e-mail address", "IP addresses are not kept"):
            assert fact in privacy.text, fact
        assert "retried for\n      48 hours" in privacy.text  # the retention of a failing report follows the setting


# What the privacy page says about each table; a new table fails the test below until the page
# says what it keeps (or, like the rate-limit slots, that it holds nothing about anyone).
PRIVACY_PAGE_COVERS = {
    "installations": "Each Saleor that installed the app",
    "configurations": "Each CoinPayments configuration",
    "channel_configurations": "the channels it serves",
    "payments": "For each payment",
    "refunds": "For a refund",
    "invoice_payments": "For each coin payment of an invoice, as CoinPayments reports it",
    "invoice_reminders": "its payment reminders",
    "notifications": "For each notification from CoinPayments",
    "outbox": "Reports waiting to be sent to Saleor",
    "rate_limit_slots": None,  # the next free CoinPayments request slot per client id: nobody's data
    "leases": None,  # which replica does a job (the invoice-list sweep) until when: nobody's data
}


def test_the_privacy_page_speaks_of_every_table(database_url: str, tmp_path: Path) -> None:
    assert sorted(PRIVACY_PAGE_COVERS) == sorted(Base.metadata.tables)
    with app_in_thread(database_url, tmp_path, run_workers=False) as app:
        page = " ".join(httpx.get(f"{app.base_url}/privacy").text.split())
    for table, words in PRIVACY_PAGE_COVERS.items():
        if words is not None:
            assert words in page, table


def test_the_manifest_urls_lead_to_the_apps_own_pages(database_url: str, tmp_path: Path) -> None:
    with app_in_thread(database_url, tmp_path, run_workers=False) as app:
        manifest = httpx.get(app.manifest_url).json()
        titles = {"homepageUrl": "About", "supportUrl": "Support", "dataPrivacyUrl": "Privacy"}
        for key, title in titles.items():
            assert manifest[key].startswith(app.base_url), key
            response = httpx.get(manifest[key])
            assert response.status_code == 200, key
            assert f"<title>{title} — CoinPayments for Saleor</title>" in response.text, key
        assert len({manifest[key] for key in titles}) == 3


def test_the_pages_load_nothing_from_another_origin_and_cannot_be_framed(database_url: str, tmp_path: Path) -> None:
    with app_in_thread(database_url, tmp_path, run_workers=False) as app:
        for path in ("/", "/support", "/privacy"):
            response = httpx.get(f"{app.base_url}{path}")
            assets = _assets(response.text)
            assert assets, path  # the stylesheet and icon at least
            for asset in assets:
                assert asset.startswith("/"), (path, asset)
                assert not asset.startswith("//"), (path, asset)
                assert httpx.get(f"{app.base_url}{asset}").status_code == 200, asset
            policy = response.headers["content-security-policy"]
            assert "default-src 'none'" in policy
            assert "frame-ancestors 'none'" in policy


def test_the_asset_check_sees_a_foreign_asset() -> None:
    html = '<link rel="stylesheet" href="https://cdn.example.com/x.css"><img alt="" src="//cdn.example.com/a.png">'
    assert _assets(html) == ["https://cdn.example.com/x.css", "//cdn.example.com/a.png"]


def test_without_app_public_url_the_manifest_names_the_port_the_app_serves_on(
    database_url: str, tmp_path: Path
) -> None:
    """`PORT=8090 make run`: the manifest Saleor reads names the port the app listens on."""
    port = free_port()
    env = settings_env(app_settings(database_url, tmp_path, 8000))
    del env["APP_PUBLIC_URL"]
    env["PORT"] = str(port)
    command = [str(Path(sys.executable).with_name("saleor-coinpayments")), "serve"]
    process = subprocess.Popen(command, env=env, cwd=tmp_path)
    try:
        wait_ready(f"http://127.0.0.1:{port}", process)
        manifest = httpx.get(f"http://127.0.0.1:{port}/api/manifest").json()
        assert manifest["homepageUrl"] == f"http://localhost:{port}/"
        assert manifest["tokenTargetUrl"] == f"http://localhost:{port}/api/register"
        assert f"http://localhost:{port}/api/manifest" in httpx.get(f"http://127.0.0.1:{port}/").text
    finally:
        process.terminate()
        process.wait(timeout=30)
