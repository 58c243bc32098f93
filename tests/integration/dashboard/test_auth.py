"""The page API only answers a Dashboard token Saleor signed for our app, held by a MANAGE_APPS user."""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import func, select

from saleor_coinpayments.store.installations import InstallationRepository
from saleor_coinpayments.store.tables import Configuration
from tests.fakes.saleor_keys import SigningKey
from tests.integration.dashboard.conftest import CLIENT_ID, SECRET, Dashboard, box, with_session

NEW_CONFIGURATION = {"name": "Main shop", "client_id": CLIENT_ID, "client_secret": SECRET, "channels": ["web"]}


def configuration_count(database_url: str) -> int:
    async def work(session: Any) -> int:
        return int((await session.execute(select(func.count()).select_from(Configuration))).scalar_one())

    return with_session(database_url, work)


def genuine_claims(dashboard: Dashboard) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(dashboard.token(), options={"verify_signature": False})
    return {k: v for k, v in claims.items() if k not in ("iat", "exp")}


def forged_token(dashboard: Dashboard) -> str:
    """Right claims and the real key id, signed by another key."""
    forger = SigningKey()
    forger.kid = dashboard.saleor.key.kid
    return forger.issue_jwt(genuine_claims(dashboard))


def other_app_token(dashboard: Dashboard) -> str:
    """Signed by the real key, for another app of the same Saleor."""
    return dashboard.saleor.key.issue_jwt({**genuine_claims(dashboard), "app": "QXBwOjk5OQ=="})


@pytest.mark.parametrize(
    ("make_token", "status", "code"),
    [
        (lambda d: d.token(ttl_seconds=-10), 401, "TOKEN_EXPIRED"),
        (forged_token, 401, "INVALID_TOKEN"),
        (lambda d: "not-a-jwt", 401, "INVALID_TOKEN"),
        (other_app_token, 403, "FORBIDDEN"),
        (lambda d: d.token(iss="http://other-saleor.example/graphql/"), 403, "FORBIDDEN"),
        (lambda d: d.token(user_permissions=["HANDLE_PAYMENTS"]), 403, "MISSING_PERMISSIONS"),
    ],
    ids=["expired", "forged", "garbage", "other-app", "other-issuer", "no-manage-apps"],
)
def test_refused_tokens_write_nothing(
    dashboard: Dashboard, database_url: str, make_token: Any, status: int, code: str
) -> None:
    token = make_token(dashboard)
    for method, path, body in [
        ("POST", "/configurations", NEW_CONFIGURATION),
        ("GET", "/configurations", None),
        ("PUT", "/channels/web", {"configuration_id": None}),
    ]:
        response = dashboard.call(method, path, json=body, token=token)
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] == code
    assert configuration_count(database_url) == 0
    # ...while a genuine token is accepted by the same routes.
    assert dashboard.call("POST", "/configurations", json=NEW_CONFIGURATION).status_code == 201
    assert configuration_count(database_url) == 1


def test_missing_headers_and_unknown_saleor(dashboard: Dashboard) -> None:
    base = f"{dashboard.app.base_url}/api/dashboard/configurations"
    assert httpx.get(base).json()["error"]["code"] == "MISSING_SALEOR_API_URL"
    assert httpx.get(base, headers={"saleor-api-url": dashboard.saleor.api_url}).json()["error"]["code"] == (
        "MISSING_TOKEN"
    )
    unknown = dashboard.call("GET", "/configurations", api_url="http://127.0.0.1:9/graphql/")
    assert unknown.status_code == 401
    assert unknown.json()["error"]["code"] == "NOT_INSTALLED"


def test_rotated_saleor_key_is_fetched_once_and_kept(dashboard: Dashboard, database_url: str) -> None:
    old_kid = dashboard.saleor.key.kid
    new_kid = dashboard.saleor.rotate_key()
    assert new_kid != old_kid
    response = dashboard.call("GET", "/configurations")
    assert response.status_code == 200, response.text

    async def stored_kids(session: Any) -> list[str]:
        installation = await InstallationRepository(session, box()).get(dashboard.saleor.api_url)
        assert installation is not None
        return [key["kid"] for key in installation.jwks["keys"]]

    assert with_session(database_url, stored_kids) == [new_kid]


def test_session_names_the_user(dashboard: Dashboard) -> None:
    response = dashboard.call("GET", "/session", token=dashboard.token(email="admin@shop.example"))
    assert response.json() == {"saleor_api_url": dashboard.saleor.api_url, "email": "admin@shop.example"}
