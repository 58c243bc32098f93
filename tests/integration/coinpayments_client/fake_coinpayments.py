"""A scripted CoinPayments stand-in for client tests: real HTTP, its own signature check, canned answers.

It recomputes every signature itself (plain `hmac`, not the app's signing module) from the raw
path, raw query and raw body it received, so a client that signs anything other than what it sends
gets a 401. Tests push `Canned` answers per (method, path) to produce each error; otherwise a small
default behaviour answers.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request, Response

from tests.unit.coinpayments import samples

CLIENT_ID = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"
SECRET = "c2ltdWxhdG9yLXRlc3Qtc2VjcmV0LTAxMjM0NTY3ODk="


@dataclass
class Canned:
    """One scripted answer. `create_invoice_first` stores the posted invoice before answering."""

    status: int = 200
    body: Any = None
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    create_invoice_first: bool = False


@dataclass
class Seen:
    method: str
    path: str
    raw_path: str
    query: str
    body: bytes
    headers: dict[str, str]
    signature_ok: bool


@dataclass
class FakeState:
    script: dict[tuple[str, str], list[Canned]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    invoices: list[dict[str, Any]] = field(default_factory=list)
    webhooks: dict[str, dict[str, Any]] = field(default_factory=dict)
    currencies: list[dict[str, Any]] = field(default_factory=list)

    def reset(self) -> None:
        self.script.clear()
        self.seen.clear()
        self.invoices.clear()
        self.webhooks.clear()
        self.currencies = json.loads(
            "[" + ",".join([samples.CURRENCY_USD, samples.CURRENCY_BTC, samples.CURRENCY_USDT]) + "]"
        )
        self.currencies.append({"id": "777", "type": "crypto", "symbol": "XYZ", "decimalPlaces": 8})

    def push(self, method: str, path: str, *answers: Canned) -> None:
        self.script.setdefault((method, path), []).extend(answers)

    def count(self, method: str, path_prefix: str) -> int:
        return sum(1 for s in self.seen if s.method == method and s.path.startswith(path_prefix))


def expected_signature(method: str, url: str, client_id: str, timestamp: str, body: bytes) -> str:
    message = b"\xef\xbb\xbf" + (method + url + client_id + timestamp).encode() + body
    return base64.b64encode(hmac.new(SECRET.encode(), message, hashlib.sha256).digest()).decode()


def _signature_ok(request: Request, raw_path: str, query: str, body: bytes) -> bool:
    client = request.headers.get("x-coinpayments-client", "")
    timestamp = request.headers.get("x-coinpayments-timestamp", "")
    signature = request.headers.get("x-coinpayments-signature", "")
    if client != CLIENT_ID or not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", timestamp):
        return False
    age = abs((datetime.now(UTC) - datetime.fromisoformat(timestamp + "+00:00")).total_seconds())
    if age > 60:
        return False
    url = f"http://{request.headers['host']}{raw_path}" + (f"?{query}" if query else "")
    return hmac.compare_digest(expected_signature(request.method, url, client, timestamp, body), signature)


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    content = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    media = "application/problem+json" if status >= 400 and body is not None else "application/json"
    return Response(content=content, status_code=status, media_type=media, headers=headers)


def _store_invoice(state: FakeState, body: bytes) -> dict[str, Any]:
    posted = json.loads(body)
    invoice = {
        "id": str(uuid.uuid4()),
        "invoiceId": posted.get("invoiceId"),
        "created": datetime.now(UTC).isoformat(),
        "status": "unpaid",
    }
    state.invoices.append(invoice)
    return invoice


def _default(state: FakeState, method: str, path: str, query: dict[str, str], body: bytes) -> Response:
    if method == "POST" and path == "/api/v2/merchant/invoices":
        invoice = _store_invoice(state, body)
        created = json.loads(samples.CREATE_3B)
        created["invoices"][0]["id"] = invoice["id"]
        return _json(200, created)
    if method == "GET" and path == "/api/v1/merchant/invoices":
        q = query.get("q")
        items = [i for i in state.invoices if q is None or (i["invoiceId"] and q in i["invoiceId"])]
        limit = int(query.get("limit", "100"))
        return _json(200, {"items": items[:limit], "paging": {"cursors": {"before": None, "after": None}}})
    if method == "GET" and (m := re.fullmatch(r"/api/v2/merchant/invoices/([^/]+)", path)):
        if m.group(1) != "7c9e6679-7425-40de-944b-e07fc1f90ae7":
            return _json(404, {"title": "Not Found", "status": 404, "detail": "Invoice not found"})
        return _json(200, json.loads(samples.INVOICE_6A))
    if method == "GET" and re.fullmatch(r"/api/v1/invoices/[^/]+/payment-currencies/[^/]+/status", path):
        return _json(200, json.loads(samples.STATUS_5B))
    if method == "GET" and (m := re.fullmatch(r"/api/v1/invoices/[^/]+/payment-currencies/([^/]+)", path)):
        return _json(200, json.loads(samples.ADDRESS_4B if m.group(1).startswith("4:") else samples.ADDRESS_4A))
    if method == "POST" and re.fullmatch(r"/api/v1/merchant/invoices/[^/]+/cancel", path):
        return Response(status_code=200)
    if method == "GET" and path == "/api/v1/currencies":
        return _json(200, state.currencies)
    hooks = f"/api/v1/merchant/clients/{CLIENT_ID}/webhooks"
    if path == hooks and method == "GET":
        return _json(200, {"items": list(state.webhooks.values()), "paging": {"cursors": {}}})
    if path == hooks and method == "POST":
        posted = json.loads(body)
        if not posted.get("notifications"):
            return _json(400, {"title": "Bad Request", "status": 400, "errors": {"Notifications": ["required"]}})
        hook_id = str(uuid.uuid4())
        state.webhooks[hook_id] = {"id": hook_id, **posted, "createdFromUI": False}
        return _json(200, {"id": hook_id})
    if path.startswith(hooks + "/") and method in ("PUT", "DELETE"):
        hook_id = path.rsplit("/", 1)[1]
        if hook_id not in state.webhooks:
            return _json(404, {"title": "Not Found", "status": 404})
        if method == "DELETE":
            del state.webhooks[hook_id]
            return Response(status_code=204)
        state.webhooks[hook_id].update(json.loads(body))
        return Response(status_code=200)
    return _json(404, {"title": "Not Found", "status": 404, "detail": f"no route {method} {path}"})


def create_fake_app(state: FakeState) -> FastAPI:
    app = FastAPI()

    @app.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "DELETE"])
    async def handle(request: Request) -> Response:
        body = await request.body()
        raw_path = request.scope["raw_path"].decode("latin-1")
        query = request.scope["query_string"].decode("latin-1")
        ok = _signature_ok(request, raw_path, query, body)
        path = request.url.path
        state.seen.append(Seen(request.method, path, raw_path, query, body, dict(request.headers), ok))
        if not ok:
            return Response(status_code=401)
        queue = state.script.get((request.method, path))
        if queue:
            canned = queue.pop(0)
            if canned.create_invoice_first:
                _store_invoice(state, body)
            if canned.delay:
                await asyncio.sleep(canned.delay)
            return _json(canned.status, canned.body, canned.headers)
        return _default(state, request.method, path, dict(request.query_params), body)

    return app
