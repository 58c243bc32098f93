"""Test-side CoinPayments signing, written from docs/reference/coinpayments.md#signing without the simulator's code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.helpers.http import tls_context

CLIENT_ID = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"
SECRET = "c2ltdWxhdG9yLXRlc3Qtc2VjcmV0LTAxMjM0NTY3ODk="


def hmac_b64(secret: str, message: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


@dataclass
class Signer:
    """Builds signed requests by hand, with switches to break exactly one thing."""

    base: str
    client_id: str = CLIENT_ID
    secret: str = SECRET

    def headers(
        self,
        method: str,
        url: str,
        body: bytes = b"",
        *,
        bom: bool = True,
        skew: timedelta = timedelta(0),
        timestamp: str | None = None,
        secret: str | None = None,
    ) -> dict[str, str]:
        stamp = timestamp or (datetime.now(UTC) + skew).strftime("%Y-%m-%dT%H:%M:%S")
        prefix = b"\xef\xbb\xbf" if bom else b""
        message = prefix + (method + url + self.client_id + stamp).encode() + body
        headers = {
            "X-CoinPayments-Client": self.client_id,
            "X-CoinPayments-Timestamp": stamp,
            "X-CoinPayments-Signature": hmac_b64(secret or self.secret, message),
        }
        if body:
            headers["Content-Type"] = "application/json"
        return headers

    def request(self, method: str, path: str, payload: Any = None, **kwargs: Any) -> httpx.Response:
        url = self.base + path
        body = compact(payload) if payload is not None else b""
        with httpx.Client(verify=tls_context()) as client:
            return client.request(method, url, content=body, headers=self.headers(method, url, body, **kwargs))

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, payload: Any = None, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, payload, **kwargs)

    def create(self, payload: dict[str, Any]) -> httpx.Response:
        return self.post("/api/v2/merchant/invoices", payload)


def invoice_body(total: str = "10.00", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "currency": "5057",
        "items": [{"name": "Widget", "quantity": {"value": 1, "type": "quantity"}, "amount": total}],
        "amount": {"breakdown": {"subtotal": total}, "total": total},
    }
    body.update(extra)
    return body


def white_label(total: str = "10.00", coin: str | None = None, **extra: Any) -> dict[str, Any]:
    payment: dict[str, Any] = {"refundEmail": "buyer@example.com"}
    if coin is not None:
        payment["paymentCurrency"] = coin
    return invoice_body(total, payment=payment, **extra)
