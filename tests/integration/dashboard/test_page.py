"""The page at the manifest's appUrl: framable by that Saleor's Dashboard only, and its static files."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.integration.dashboard.conftest import Dashboard

KINDS = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


def test_page_is_framable_by_the_installations_origin_only(dashboard: Dashboard) -> None:
    saleor_origin = dashboard.saleor.base_url
    response = httpx.get(f"{dashboard.app.base_url}/dashboard", params={"saleorApiUrl": dashboard.saleor.api_url})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["frame-ancestors"] == saleor_origin
    assert directives["script-src"] == "'self'"
    assert "x-frame-options" not in response.headers
    assert f'data-dashboard-origin="{saleor_origin}"' in response.text
    assert 'src="/static/dashboard.js' in response.text


def test_manifest_points_at_the_page_and_the_logo(dashboard: Dashboard) -> None:
    manifest = httpx.get(dashboard.app.manifest_url).json()
    page = httpx.get(manifest["appUrl"], params={"saleorApiUrl": dashboard.saleor.api_url})
    assert page.status_code == 200
    logo = httpx.get(manifest["brand"]["logo"]["default"])
    assert logo.status_code == 200
    assert logo.headers["content-type"] == "image/png"
    assert logo.content.startswith(b"\x89PNG\r\n\x1a\n")
    # Every file the page links, the shared ones (framed.*) and its own, is served with its type.
    linked = set(re.findall(r'(?:src|href)="/static/([^"?]+)', page.text))
    assert {"framed.css", "framed.js", "dashboard.css", "dashboard.js", "logo.png"} <= linked
    for name in linked:
        static = httpx.get(f"{dashboard.app.base_url}/static/{name}")
        assert static.status_code == 200, name
        assert static.headers["content-type"].startswith(KINDS[Path(name).suffix]), name
    assert httpx.get(f"{dashboard.app.base_url}/static/..%2Fdashboard.py").status_code == 404
    assert httpx.get(f"{dashboard.app.base_url}/static/secret_key").status_code == 404


def test_unknown_saleor_gets_an_explanation_and_no_script(dashboard: Dashboard) -> None:
    hostile = 'http://evil.example/graphql/"><script>alert(1)</script>'
    response = httpx.get(f"{dashboard.app.base_url}/dashboard", params={"saleorApiUrl": hostile})
    assert response.status_code == 200
    assert "not installed" in response.text
    assert "<script>alert(1)</script>" not in response.text
    assert "dashboard.js" not in response.text
    assert "framed.js" not in response.text
    # Only that Saleor's origin could frame the explanation; a header cannot be injected through it.
    assert response.headers["content-security-policy"].endswith("frame-ancestors http://evil.example")
    injected = httpx.get(
        f"{dashboard.app.base_url}/dashboard", params={"saleorApiUrl": "http://a;script-src *;/graphql/"}
    )
    assert injected.headers["content-security-policy"].endswith("frame-ancestors 'none'")
    missing = httpx.get(f"{dashboard.app.base_url}/dashboard")
    assert "frame-ancestors 'none'" in missing.headers["content-security-policy"]
    assert "Open this page from the Saleor Dashboard" in missing.text


def test_a_self_hosted_dashboard_origin_may_frame_the_page(database_url: str, tmp_path: Path) -> None:
    """DASHBOARD_ORIGINS: a Dashboard served from another origin than the API (self-hosted)."""
    from tests.fakes.saleor import FakeSaleor
    from tests.helpers.app_server import app_in_thread

    with (
        FakeSaleor.serve() as saleor,
        app_in_thread(database_url, tmp_path, run_workers=False, dashboard_origins="http://dash.example:9000") as app,
    ):
        saleor.install_app(app.manifest_url)
        params = {"saleorApiUrl": saleor.api_url}
        from_dashboard = httpx.get(
            f"{app.base_url}/dashboard", params=params, headers={"Referer": "http://dash.example:9000/apps/x"}
        )
        ancestors = from_dashboard.headers["content-security-policy"].split("frame-ancestors ", 1)[1]
        assert sorted(ancestors.split()) == sorted([saleor.base_url, "http://dash.example:9000"])
        assert 'data-dashboard-origin="http://dash.example:9000"' in from_dashboard.text
        from_elsewhere = httpx.get(
            f"{app.base_url}/dashboard", params=params, headers={"Referer": "http://evil.example/x"}
        )
        assert f'data-dashboard-origin="{saleor.base_url}"' in from_elsewhere.text
