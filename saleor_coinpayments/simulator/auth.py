"""Checking signed requests (coinpayments.md#signing, #simulator) exactly as CoinPayments would, and saying why not.

The real service answers 401/403 with nothing to go on; the simulator does the same on the
wire but keeps the reason in `AuthLog` (`GET /__sim/auth-failures`) so a merchant can debug.
"""

from __future__ import annotations

import collections
import ipaddress
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request

from saleor_coinpayments.simulator.clock import SimClock
from saleor_coinpayments.simulator.domain import ClientAccount
from saleor_coinpayments.simulator.engine import Engine
from saleor_coinpayments.simulator.problems import EmptyStatus
from saleor_coinpayments.simulator.signing import parse_timestamp, signature, signature_matches

log = logging.getLogger("saleor_coinpayments.simulator.auth")
MAX_SKEW = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class AuthFailure:
    at: datetime
    status: int
    reason: str
    method: str
    signed_url: str
    client_id: str | None
    expected_message: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "status": self.status,
            "reason": self.reason,
            "method": self.method,
            "url": self.signed_url,
            "clientId": self.client_id,
            "expectedMessage": self.expected_message,
        }


class AuthLog:
    """The last failures (bounded), newest last."""

    def __init__(self, size: int = 200) -> None:
        self._items: collections.deque[AuthFailure] = collections.deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, failure: AuthFailure) -> None:
        with self._lock:
            self._items.append(failure)

    def items(self) -> list[AuthFailure]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def request_url(request: Request, public_url: str | None) -> str:
    """The absolute URL the client signed: public base (or scheme://Host) + raw path + raw query."""
    scope = request.scope
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
    raw_path = raw_path.split(b"?", 1)[0]  # some ASGI servers put the query into raw_path
    query: bytes = scope.get("query_string", b"")
    if public_url is not None:
        base = public_url.rstrip("/")
    else:
        host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
        base = f"{scope.get('scheme', 'http')}://{host}"
    url = base + raw_path.decode("latin-1")
    if query:
        url += "?" + query.decode("latin-1")
    return url


class Authenticator:
    def __init__(self, engine: Engine, clock: SimClock, public_url: str | None, auth_log: AuthLog) -> None:
        self.engine = engine
        self.clock = clock
        self.public_url = public_url
        self.log = auth_log

    def _fail(
        self,
        request: Request,
        url: str,
        status: int,
        reason: str,
        client_id: str | None = None,
        message: str | None = None,
    ) -> EmptyStatus:
        self.log.add(AuthFailure(self.clock.wall(), status, reason, request.method, url, client_id, message))
        log.info("rejected %s %s with %d: %s", request.method, url, status, reason)
        return EmptyStatus(status, reason)

    async def check(self, request: Request, operation: str) -> ClientAccount:
        """The calling integration, or an `EmptyStatus` 401/403."""
        url = request_url(request, self.public_url)
        headers = request.headers
        client_id = headers.get("x-coinpayments-client")
        stamp = headers.get("x-coinpayments-timestamp")
        presented = headers.get("x-coinpayments-signature")
        if not client_id or stamp is None or presented is None:
            raise self._fail(request, url, 401, "a required X-CoinPayments-* header is missing", client_id)
        account = self.engine.client(client_id)
        if account is None:
            raise self._fail(request, url, 401, "unknown client id", client_id)
        moment = parse_timestamp(stamp)
        if moment is None:
            raise self._fail(request, url, 401, f"timestamp {stamp!r} is not YYYY-MM-DDTHH:mm:ss", client_id)
        if abs(self.clock.wall() - moment) > MAX_SKEW:
            raise self._fail(request, url, 401, f"timestamp {stamp} is more than 60 s from now", client_id)
        body = await request.body()
        expected = signature(account.secret, request.method, url, client_id, stamp, body)
        if not signature_matches(expected, presented):
            message = "\\ufeff" + request.method + url + client_id + stamp + body.decode("utf-8", "replace")
            raise self._fail(request, url, 401, "signature mismatch", client_id, message)
        if account.disabled:
            raise self._fail(request, url, 401, "the integration is disabled", client_id)
        if account.allowed_ips is not None and not _ip_allowed(request, account.allowed_ips):
            raise self._fail(request, url, 401, "caller IP is not in the integration's Allowed IPs", client_id)
        if account.permissions is not None and operation not in account.permissions:
            raise self._fail(request, url, 403, f"the integration lacks permission {operation!r}", client_id)
        return account


def _ip_allowed(request: Request, allowed: list[str]) -> bool:
    host = request.client.host if request.client else None
    if host is None:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    for entry in allowed:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False
