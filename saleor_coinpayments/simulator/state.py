"""Everything one simulator app instance holds, passed to its routers (no module globals)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from saleor_coinpayments.money import parse_json
from saleor_coinpayments.simulator.auth import Authenticator, AuthLog
from saleor_coinpayments.simulator.clock import SimClock
from saleor_coinpayments.simulator.currencies import CurrencyBook
from saleor_coinpayments.simulator.delivery import Dispatcher
from saleor_coinpayments.simulator.engine import Engine, SimSettings
from saleor_coinpayments.simulator.faults import Faults
from saleor_coinpayments.simulator.jsonenc import encode
from saleor_coinpayments.simulator.latency import ResponseLatency
from saleor_coinpayments.simulator.problems import Problem


@dataclass
class SimState:
    engine: Engine
    book: CurrencyBook
    clock: SimClock
    faults: Faults
    latency: ResponseLatency
    dispatcher: Dispatcher
    auth: Authenticator
    auth_log: AuthLog
    public_url: str | None
    initial_clients: list[tuple[str, str]]
    initial_settings: SimSettings
    initial_prices: dict[str, Decimal]

    def flush(self) -> None:
        """Hand the notifications the last operation produced to the background dispatcher."""
        pending = self.engine.drain()
        if pending:
            self.dispatcher.submit(pending)

    def public_base(self, request: Request) -> str:
        """Where links point: `public_url`, or the scheme and Host the client used."""
        if self.public_url is not None:
            return self.public_url.rstrip("/")
        host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
        return f"{request.url.scheme}://{host}"


def json_response(body: Any, status: int = 200) -> Response:
    return Response(encode(body), status, media_type="application/json")


async def read_json(request: Request, *, required: bool = True) -> Any:
    """The JSON body (floats as Decimal), 415 unless `application/json`, 400 if it does not parse."""
    raw = await request.body()
    if not raw and not required:
        return None
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise Problem(415, "Send the body as application/json.")
    try:
        return parse_json(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Problem(400, f"The request body is not valid JSON: {exc}", {"$": ["Invalid JSON."]}) from None
