"""A running simulator and a webhook receiver, both real servers on loopback."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from saleor_coinpayments.simulator import create_simulator_app
from tests.helpers.http import tls_context
from tests.helpers.servers import serve_asgi
from tests.integration.simulator.signer import CLIENT_ID, SECRET, Signer


@dataclass
class Received:
    url: str
    headers: dict[str, str]
    body: bytes


def _answering() -> threading.Event:
    answering = threading.Event()
    answering.set()
    return answering


@dataclass
class Receiver:
    """Records every POST; answers from `statuses` first (then 200). While `answering` is clear,
    a request is recorded and its answer waits (a slow receiver, held by the test)."""

    base: str = ""
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    answering: threading.Event = field(default_factory=_answering)

    def url(self, path: str = "/hook") -> str:
        return self.base + path


def _receiver_app(receiver: Receiver) -> FastAPI:
    app = FastAPI()

    @app.post("/{path:path}")
    async def record(request: Request) -> Response:
        body = await request.body()
        with receiver.lock:
            receiver.requests.append(Received(str(request.url), dict(request.headers), body))
            status = receiver.statuses.pop(0) if receiver.statuses else 200
        await asyncio.to_thread(receiver.answering.wait, 60)
        return Response(status_code=status)

    return app


@dataclass
class Sim:
    base: str
    signer: Signer

    def control(self, method: str, path: str, payload: Any = None) -> httpx.Response:
        with httpx.Client(verify=tls_context()) as client:
            response = client.request(method, self.base + "/__sim" + path, json=payload)
        assert response.status_code < 500, response.text
        return response

    def pay(self, invoice_id: str, **payload: Any) -> dict[str, Any]:
        response = self.control("POST", f"/invoices/{invoice_id}/pay", payload)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def confirm(self, invoice_id: str, blocks: int = 1) -> None:
        response = self.control("POST", f"/invoices/{invoice_id}/confirm", {"blocks": blocks})
        assert response.status_code == 200, response.text

    def advance(self, seconds: int) -> None:
        assert self.control("POST", "/clock/advance", {"seconds": seconds}).status_code == 200

    def status(self, invoice_id: str) -> str:
        response = self.signer.get(f"/api/v2/merchant/invoices/{invoice_id}")
        assert response.status_code == 200, response.text
        return str(response.json()["status"])

    def create(self, payload: dict[str, Any]) -> dict[str, Any]:
        response = self.signer.create(payload)
        assert response.status_code == 200, response.text
        return dict(response.json()["invoices"][0])

    def wait_deliveries(self) -> list[dict[str, Any]]:
        assert self.control("POST", "/deliveries/wait", {"timeoutSeconds": 10}).json() == {"idle": True}
        return list(self.control("GET", "/deliveries").json())


def make_app(**kwargs: Any) -> FastAPI:
    kwargs.setdefault("webhook_retry_delay", 0.01)
    kwargs.setdefault("webhook_timeout", 2.0)
    return create_simulator_app({CLIENT_ID: SECRET}, **kwargs)


@pytest.fixture(scope="module")
def _sim_server() -> Iterator[str]:
    with serve_asgi(make_app()) as base:
        yield base


@pytest.fixture
def sim(_sim_server: str) -> Sim:
    """The module's simulator, reset to its initial clients, settings and rates for this test."""
    sim = Sim(_sim_server, Signer(_sim_server))
    sim.control("POST", "/reset")
    return sim


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    with serve_asgi(_receiver_app(rec)) as base:
        rec.base = base
        try:
            yield rec
        finally:
            rec.answering.set()
