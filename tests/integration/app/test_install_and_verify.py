"""Issue #2 "Done when": install by manifest, register, and only genuine Saleor webhooks get in."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from saleor_coinpayments.store.crypto import SecretBox
from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.installations import InstallationRepository
from saleor_coinpayments.store.tables import Installation, Payment
from tests.fakes.saleor import FakeSaleor, InstallError
from tests.fakes.saleor_keys import SigningKey
from tests.helpers.app_server import TEST_SECRET_KEY, RunningApp, app_in_thread
from tests.helpers.servers import serve_asgi

REFUND = "transaction_refund_requested"
REFUND_PATH = "/api/webhooks/saleor/transaction-refund-requested"
INIT_PATH = "/api/webhooks/saleor/transaction-initialize-session"


@pytest.fixture
def saleor() -> Iterator[FakeSaleor]:
    with FakeSaleor.serve() as fake:
        yield fake


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[RunningApp]:
    with app_in_thread(database_url, tmp_path, run_workers=False) as running:
        yield running


def installations(database_url: str) -> list[Any]:
    async def read() -> list[Any]:
        db = Database(database_url)
        try:
            async with db.session() as session:
                return await InstallationRepository(session, SecretBox(TEST_SECRET_KEY)).list_all()
        finally:
            await db.dispose()

    return asyncio.run(read())


def count(database_url: str, table: Any) -> int:
    async def read() -> int:
        db = Database(database_url)
        try:
            async with db.session() as session:
                return int((await session.execute(select(func.count()).select_from(table))).scalar_one())
        finally:
            await db.dispose()

    return asyncio.run(read())


def refund_body(app_id: str) -> bytes:
    return json.dumps(
        {
            "issuedAt": "2026-11-25T10:00:00+00:00",
            "version": "3.23.28",
            "recipient": {"id": app_id, "identifier": "saleor.coinpayments"},
            "issuingPrincipal": None,
            "action": {"actionType": "REFUND", "amount": 5.0, "currency": "USD"},
            "transaction": {"id": "VHJhbnNhY3Rpb25JdGVtOjE=", "pspReference": "inv-1"},
        }
    ).encode()


def test_fresh_serve_with_no_settings_serves_a_valid_manifest(tmp_path: Path) -> None:
    """`saleor-coinpayments serve` in an empty folder, with no app settings at all."""
    import os
    import subprocess
    import sys

    from tests.helpers.app_server import wait_ready
    from tests.helpers.servers import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    command = [str(Path(sys.executable).with_name("saleor-coinpayments")), "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_ready(f"http://127.0.0.1:{port}", process)
        manifest = httpx.get(f"http://127.0.0.1:{port}/api/manifest").json()
    finally:
        process.kill()
        output = process.communicate(timeout=10)[0].decode()
    from graphql import build_schema

    from saleor_coinpayments.saleor.schema import subset_sdl
    from tests.helpers.manifest_rules import manifest_problems

    assert manifest_problems(manifest, build_schema(subset_sdl())) == []
    # `--port` moves the default public URL with it: the manifest names the port the app serves on.
    assert manifest["tokenTargetUrl"] == f"http://localhost:{port}/api/register"
    assert (tmp_path / "data" / "app.db").exists()
    assert (tmp_path / "data" / "secret_key").exists()
    assert "secret_key_generated" in output


def test_install_from_an_allowed_saleor_stores_the_installation(saleor: FakeSaleor, app: RunningApp) -> None:
    fake_app = saleor.install_app(app.manifest_url)
    [stored] = installations(app.settings.database_url)
    assert stored.saleor_api_url == saleor.api_url
    assert stored.app_id == fake_app.id
    assert stored.app_token == fake_app.token
    assert stored.jwks == saleor.jwks()


def test_install_from_a_disallowed_saleor_is_refused(saleor: FakeSaleor, database_url: str, tmp_path: Path) -> None:
    with app_in_thread(
        database_url, tmp_path, run_workers=False, allowed_saleor_api_urls=r"https://shop\.example\.com/graphql/"
    ) as running:
        with pytest.raises(InstallError, match="does not accept installations"):
            saleor.install_app(running.manifest_url)
    assert installations(database_url) == []


def test_register_with_a_bad_token_is_refused(saleor: FakeSaleor, app: RunningApp) -> None:
    response = httpx.post(
        f"{app.base_url}/api/register",
        json={"auth_token": "not-a-token"},
        headers={"Saleor-Api-Url": saleor.api_url},
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNKNOWN_APP_ID"
    assert response.json()["success"] is False
    assert installations(app.settings.database_url) == []


def test_register_without_reachable_jwks_is_refused(app: RunningApp) -> None:
    """A Saleor whose token check passes but whose key set cannot be fetched."""
    fake = FastAPI()

    @fake.post("/graphql/")
    async def graphql() -> dict[str, Any]:
        return {"data": {"app": {"id": "QXBwOjk5"}}}

    with serve_asgi(fake) as base:
        response = httpx.post(
            f"{app.base_url}/api/register", json={"auth_token": "t"}, headers={"Saleor-Api-Url": f"{base}/graphql/"}
        )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "JWKS_NOT_AVAILABLE"
    assert installations(app.settings.database_url) == []


@pytest.mark.parametrize("body", [b"", b"{not json"])
def test_register_with_missing_token_is_a_400(app: RunningApp, body: bytes) -> None:
    response = httpx.post(
        f"{app.base_url}/api/register", content=body, headers={"Saleor-Api-Url": "https://x.test/graphql/"}
    )
    assert response.status_code == 400
    assert installations(app.settings.database_url) == []


@pytest.fixture
def installed(saleor: FakeSaleor, app: RunningApp) -> tuple[FakeSaleor, RunningApp, str]:
    fake_app = saleor.install_app(app.manifest_url)
    return saleor, app, fake_app.id


def test_a_signed_webhook_passes(installed: tuple[FakeSaleor, RunningApp, str]) -> None:
    saleor, app, app_id = installed
    delivery = saleor.send_webhook(REFUND, refund_body(app_id), url=app.base_url + REFUND_PATH)
    assert delivery.status == 200
    assert json.loads(delivery.response_body)["result"] == "REFUND_FAILURE"


def _post(app: RunningApp, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(app.base_url + path, content=body, headers=headers)


def test_rejections_write_nothing(installed: tuple[FakeSaleor, RunningApp, str]) -> None:
    saleor, app, app_id = installed
    body = refund_body(app_id)
    good = saleor.webhook_headers(REFUND, saleor.sign(body))

    wrong_key = saleor.webhook_headers(REFUND, SigningKey().sign_detached(body))
    assert _post(app, REFUND_PATH, body, wrong_key).status_code == 401

    tampered = body.replace(b"5.0", b"500.0")
    assert _post(app, REFUND_PATH, tampered, good).status_code == 401

    missing = {k: v for k, v in good.items() if k.lower() not in ("saleor-signature", "x-saleor-signature")}
    assert _post(app, REFUND_PATH, body, missing).status_code == 401

    unknown = {**good, "Saleor-Api-Url": "https://unknown.example.com/graphql/"}
    response = _post(app, REFUND_PATH, body, unknown)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "NOT_REGISTERED"

    other_app = refund_body("QXBwOjEyMzQ=")
    response = _post(app, REFUND_PATH, other_app, saleor.webhook_headers(REFUND, saleor.sign(other_app)))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "WRONG_RECIPIENT"

    empty = saleor.webhook_headers(REFUND, saleor.sign(b""))
    assert _post(app, REFUND_PATH, b"", empty).status_code == 400

    init_body = body.replace(b"REFUND", b"CHARGE")
    init_headers = saleor.webhook_headers("transaction_initialize_session", SigningKey().sign_detached(init_body))
    assert _post(app, INIT_PATH, init_body, init_headers).status_code == 401
    assert count(app.settings.database_url, Payment) == 0
    assert count(app.settings.database_url, Installation) == 1


def test_a_rotated_key_is_picked_up(installed: tuple[FakeSaleor, RunningApp, str]) -> None:
    saleor, app, app_id = installed
    old_kid = saleor.key.kid
    new_kid = saleor.rotate_key()
    assert new_kid != old_kid
    delivery = saleor.send_webhook(REFUND, refund_body(app_id), url=app.base_url + REFUND_PATH)
    assert delivery.status == 200
    [stored] = installations(app.settings.database_url)
    assert [key["kid"] for key in stored.jwks["keys"]] == [new_kid]


def test_a_reinstall_is_picked_up_by_webhook_verification(installed: tuple[FakeSaleor, RunningApp, str]) -> None:
    """Verification keeps recent installations in memory; a reinstall (new app id) must not be refused."""
    saleor, app, app_id = installed
    first = saleor.send_webhook(REFUND, refund_body(app_id), url=app.base_url + REFUND_PATH)
    assert first.status == 200
    old_app = saleor.model.apps[-1]
    saleor.uninstall_app(old_app)
    new_app = saleor.install_app(app.manifest_url)
    assert new_app.id != app_id
    again = saleor.send_webhook(REFUND, refund_body(new_app.id), url=app.base_url + REFUND_PATH)
    assert again.status == 200
    stale = saleor.send_webhook(REFUND, refund_body(app_id), url=app.base_url + REFUND_PATH)
    assert stale.status == 403


def test_register_with_an_overlong_saleor_url_is_a_400(app: RunningApp) -> None:
    long_url = "https://shop.example.com/" + "x" * 2100 + "/graphql/"
    response = httpx.post(
        f"{app.base_url}/api/register", json={"auth_token": "t"}, headers={"Saleor-Api-Url": long_url}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_SALEOR_API_URL"
    assert installations(app.settings.database_url) == []
