"""Registration (token exchange) per PROTOCOL.md §2.2: prove the token, fetch keys, store."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

from saleor_coinpayments.saleor.client import SaleorClient, SaleorError
from saleor_coinpayments.saleor.jwks import JwksUnavailable, fetch_jwks
from saleor_coinpayments.saleor.lines import schema_version_of
from saleor_coinpayments.saleor.schema import load_document
from saleor_coinpayments.settings import Settings
from saleor_coinpayments.store.installations import InstallationRecord, InstallationRepository

MAX_API_URL_LENGTH = 2048  # the column's size
_API_URL = re.compile(r"^https?://[^/\s?#]+(/[^\s?#]*)?$")


#: An app token as Saleor issues it: visible ASCII, nothing that cannot go into a header.
AUTH_TOKEN = re.compile(r"[\x21-\x7e]{1,4096}")


@dataclass(frozen=True)
class Registered:
    installation: InstallationRecord


@dataclass(frozen=True)
class RegistrationRefused:
    """The documented failure shape: Saleor shows `message` on the failed installation."""

    status: int
    code: str
    message: str


class RegisterApp:
    def __init__(
        self,
        settings: Settings,
        http: httpx.AsyncClient,
        saleor: SaleorClient,
        installations: InstallationRepository,
    ) -> None:
        self._settings = settings
        self._http = http
        self._saleor = saleor
        self._installations = installations

    async def execute(
        self, saleor_api_url: str | None, auth_token: str | None, schema_version: str | None = None
    ) -> Registered | RegistrationRefused:
        """`schema_version` is Saleor's `Saleor-Schema-Version` header (its line, e.g. "3.23")."""
        if not saleor_api_url:
            return RegistrationRefused(400, "MISSING_SALEOR_API_URL_HEADER", "Missing Saleor-Api-Url header.")
        if len(saleor_api_url) > MAX_API_URL_LENGTH or not _API_URL.match(saleor_api_url):
            return RegistrationRefused(400, "INVALID_SALEOR_API_URL", "Saleor-Api-Url is not an http(s) URL.")
        if not auth_token:
            return RegistrationRefused(400, "MISSING_AUTH_TOKEN", "Missing auth_token in the request body.")
        if not AUTH_TOKEN.fullmatch(auth_token):
            # It goes into an Authorization header: a control character there is refused by the HTTP client.
            return RegistrationRefused(400, "MALFORMED_AUTH_TOKEN", "auth_token is not a Saleor app token.")
        if not self._settings.saleor_api_url_allowed(saleor_api_url):
            return RegistrationRefused(
                403, "SALEOR_URL_PROHIBITED", f"This app does not accept installations from {saleor_api_url}."
            )
        try:
            data = await self._saleor.execute(saleor_api_url, load_document("app_id"), token=auth_token)
        except SaleorError as exc:
            return RegistrationRefused(401, "UNKNOWN_APP_ID", f"The app token could not be verified: {exc.message}")
        app = data.get("app") or {}
        app_id = app.get("id") if isinstance(app, dict) else None
        if not app_id or not isinstance(app_id, str):
            return RegistrationRefused(401, "UNKNOWN_APP_ID", "Saleor did not return an app id for this token.")
        try:
            jwks = await fetch_jwks(self._http, saleor_api_url, self._settings.saleor_timeout_seconds)
        except JwksUnavailable as exc:
            return RegistrationRefused(401, "JWKS_NOT_AVAILABLE", exc.message)
        record = await self._installations.save(
            saleor_api_url, app_id, auth_token, jwks, schema_version_of(schema_version)
        )
        return Registered(record)
