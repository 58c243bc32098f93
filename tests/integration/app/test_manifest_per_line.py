"""Issue #27: each Saleor line installs the app from the manifest it asked for by its header."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from saleor_coinpayments.saleor.manifest import build_manifest
from tests.fakes.saleor import SALEOR_3_20, SALEOR_VERSION, FakeSaleor
from tests.helpers.app_server import RunningApp, app_in_thread
from tests.integration.app.test_install_and_verify import REFUND, REFUND_PATH, installations, refund_body


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[RunningApp]:
    with app_in_thread(database_url, tmp_path, run_workers=False) as running:
        yield running


@pytest.mark.parametrize("version", [SALEOR_3_20, SALEOR_VERSION])
def test_install_succeeds_on_each_line_with_that_lines_manifest(app: RunningApp, version: str) -> None:
    with FakeSaleor.serve(version=version) as saleor:
        installed = saleor.install_app(app.manifest_url)
        line = ".".join(version.split(".")[:2])
        assert installed.manifest == build_manifest(app.settings, line)
        identifiers = [hook.get("identifier") for hook in installed.manifest["webhooks"]]
        extensions = {(e["mount"], e["target"], e["label"]) for e in installed.manifest["extensions"]}
        popups = {
            ("ORDER_DETAILS_MORE_ACTIONS", "POPUP", "Send a crypto invoice"),
            ("ORDER_DETAILS_MORE_ACTIONS", "POPUP", "Crypto refunds of this order"),
        }
        if version == SALEOR_3_20:
            assert identifiers == [None] * len(identifiers)
            assert extensions == popups  # no widget: 3.20 would refuse the whole install
        else:
            assert all(identifiers)
            assert extensions == {*popups, ("ORDER_DETAILS_WIDGETS", "WIDGET", "Crypto payment")}
        # Every extension's page is served, framable by that Saleor's Dashboard only.
        for extension in installed.manifest["extensions"]:
            page = httpx.get(extension["url"], params={"saleorApiUrl": saleor.api_url, "orderId": "T3JkZXI6MQ=="})
            assert page.status_code == 200
            assert 'id="order"' in page.text
            assert page.headers["content-security-policy"].endswith(f"frame-ancestors {saleor.base_url}")


def test_without_the_header_the_newest_lines_manifest_is_served(app: RunningApp) -> None:
    plain = httpx.get(app.manifest_url)
    assert plain.json() == build_manifest(app.settings)
    assert "Saleor-Schema-Version" in plain.headers["vary"]
    old = httpx.get(app.manifest_url, headers={"Saleor-Schema-Version": "3.20"}).json()
    assert old != plain.json()
    assert old == build_manifest(app.settings, "3.20")


def _body(app_id: str, version: str) -> bytes:
    """A refund request as a Saleor of `version` sends it (after an in-place upgrade)."""
    return json.dumps({**json.loads(refund_body(app_id)), "version": version}).encode()


def test_the_installation_follows_its_saleor_line(app: RunningApp) -> None:
    """Registration's header gives the line; a webhook's `version` moves it when Saleor is upgraded."""
    with FakeSaleor.serve(version=SALEOR_3_20) as saleor:
        installed = saleor.install_app(app.manifest_url)
        assert [i.schema_version for i in installations(app.settings.database_url)] == ["3.20"]
        delivery = saleor.send_webhook(REFUND, _body(installed.id, "3.23.28"), url=app.base_url + REFUND_PATH)
        assert delivery.status == 200
    assert [i.schema_version for i in installations(app.settings.database_url)] == ["3.23"]


def test_an_unsigned_or_foreign_webhook_moves_no_line(app: RunningApp) -> None:
    with FakeSaleor.serve(version=SALEOR_3_20) as saleor:
        installed = saleor.install_app(app.manifest_url)
        forged = saleor.send_webhook(
            REFUND, _body(installed.id, "3.23.28"), url=app.base_url + REFUND_PATH, signature="e30..AAAA"
        )
        assert forged.status == 401
    assert [i.schema_version for i in installations(app.settings.database_url)] == ["3.20"]
