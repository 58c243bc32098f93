"""A minimal payment app used only to exercise the fake Saleor over real HTTP.

It serves a manifest with the project's subscription files, registers like §2.2 (token
check with `{ app { id } }`, JWKS fetch), verifies every webhook signature and answers with
replies the test scripts per event.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response

from saleor_coinpayments.saleor.schema import SUBSCRIPTION_EVENTS, load_document, load_subscription
from saleor_coinpayments.saleor.signature import SignatureError, verify_webhook_signature

IDENTIFIER = "test.probe.app"


@dataclass
class Reply:
    body: Any = None
    status: int = 200
    raw: bytes | None = None
    delay: float = 0.0


@dataclass
class Received:
    event: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    problem: str | None


@dataclass
class ProbeState:
    token: str | None = None
    app_id: str | None = None
    api_url: str | None = None
    jwks: dict[str, Any] | None = None
    register_headers: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    replies: dict[str, deque[Reply]] = field(default_factory=lambda: defaultdict(deque))
    permissions: list[str] = field(default_factory=lambda: ["HANDLE_PAYMENTS", "MANAGE_ORDERS"])

    def script(self, event: str, *replies: Reply) -> None:
        self.replies[event.lower()].extend(replies)

    def of(self, event: str) -> list[Received]:
        return [r for r in self.received if r.event == event.lower()]


def kebab(event: str) -> str:
    return event.lower().replace("_", "-")


def create_probe_app(state: ProbeState) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/api/manifest")
    async def manifest(request: Request) -> dict[str, Any]:
        base = str(request.base_url).rstrip("/")
        webhooks = []
        for event in SUBSCRIPTION_EVENTS:
            kind = "asyncEvents" if event == "INVOICE_REQUESTED" or event.startswith("ORDER_") else "syncEvents"
            webhooks.append(
                {
                    "name": event.lower(),
                    kind: [event],
                    "query": load_subscription(event),
                    "targetUrl": f"{base}/api/webhooks/saleor/{kebab(event)}",
                    "isActive": True,
                }
            )
        return {
            "id": IDENTIFIER,
            "version": "0.0.1",
            "name": "Probe",
            "permissions": state.permissions,
            "tokenTargetUrl": f"{base}/api/register",
            "webhooks": webhooks,
        }

    @app.post("/api/register")
    async def register(request: Request) -> Response:
        state.register_headers = dict(request.headers)
        token = (await request.json())["auth_token"]
        api_url = request.headers["saleor-api-url"]
        async with httpx.AsyncClient() as client:
            answer = await client.post(
                api_url, json={"query": load_document("app_id")}, headers={"Authorization": f"Bearer {token}"}
            )
            app_id = ((answer.json().get("data") or {}).get("app") or {}).get("id")
            if not app_id:
                return Response(
                    json.dumps({"success": False, "error": {"code": "UNKNOWN_APP_ID", "message": "no app id"}}),
                    status_code=401,
                )
            origin = api_url.split("/graphql/")[0]
            jwks = (await client.get(f"{origin}/.well-known/jwks.json")).json()
        state.token, state.app_id, state.api_url, state.jwks = token, app_id, api_url, jwks
        return Response(status_code=200)

    @app.post("/api/webhooks/saleor/{name}")
    async def webhook(name: str, request: Request) -> Response:
        body = await request.body()
        event = request.headers.get("saleor-event", "")
        problem = None
        try:
            verify_webhook_signature(body, request.headers.get("saleor-signature", ""), state.jwks or {})
            verified = True
        except SignatureError as exc:
            verified, problem = False, exc.reason
        state.received.append(Received(event, dict(request.headers), body, verified, problem))
        if kebab(event) != name:
            return Response(status_code=404)
        queue = state.replies.get(event)
        reply = queue.popleft() if queue else Reply(status=500, body={"error": "no scripted reply"})
        if reply.delay:
            await asyncio.sleep(reply.delay)
        content = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
        return Response(content, status_code=reply.status, media_type="application/json")

    return app
