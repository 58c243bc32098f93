"""Test-control endpoints under `/__sim/…` — not part of the CoinPayments API (see README.md).

They play the buyer, the blockchain and the clock, inject faults and show what the
simulator sent, so tests can drive every invoice state deterministically.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from saleor_coinpayments.simulator import render
from saleor_coinpayments.simulator.domain import OPERATIONS, ClientAccount, HotWallet, Invoice
from saleor_coinpayments.simulator.problems import Problem, bad_request, not_found
from saleor_coinpayments.simulator.state import SimState, json_response, read_json
from saleor_coinpayments.simulator.webhook_payload import PayloadStyle

CONTROL_ENDPOINTS = {
    "GET /__sim": "this index",
    "POST /__sim/reset": "forget invoices, deliveries, faults, clock offset; restore initial clients/settings/rates",
    "GET /__sim/clients": "integrations with their settings (secrets included)",
    "POST /__sim/clients": "{clientId?, clientSecret?} → add an integration",
    "PATCH /__sim/clients/{clientId}": "{disabled?, allowedIps?, permissions?, partialAcceptAvailable?}",
    "GET /__sim/invoices/{id}": "full internal view: status, payment, wallets, transfers, excess",
    "POST /__sim/invoices/{id}/pay": "{currency?, amount: full|partial:F|over:F|<coin amount>, confirmations?}",
    "POST /__sim/invoices/{id}/confirm": "{blocks?: 1} → one confirmation per block to waiting transfers",
    "POST /__sim/invoices/{id}/complete": "paid → completed now",
    "POST /__sim/invoices/{id}/cancel": "cancel as the merchant would (same rules as the API)",
    "POST /__sim/invoices/{id}/publish": "draft/scheduled → unpaid",
    "POST /__sim/invoices/{id}/delete": "→ deleted",
    "POST /__sim/invoices/{id}/refund": "process a waiting refund",
    "GET /__sim/clock": "simulated and wall time",
    "POST /__sim/clock/advance": "{seconds} → move simulated time forward (drives expiry/completion)",
    "GET|POST|DELETE /__sim/faults": "read, merge or clear injected faults",
    "GET|PUT /__sim/settings": "{webhookCasing, webhookAmounts, paymentWindowSeconds, completionDelaySeconds, "
    "invoiceLifetimeSeconds, responseLatencyMs}",
    "GET /__sim/api-requests": "{responseLatencyMs, waiting, answered}: API requests held by the latency, and answered",
    "PUT /__sim/rates": "{currencyId: usdPrice} → replace prices",
    "GET|DELETE /__sim/deliveries": "webhook delivery log (?invoiceId=&event=&outcome=)",
    "POST /__sim/deliveries/wait": "{timeoutSeconds?: 10} → wait until nothing is queued",
    "POST /__sim/webhooks/flush": "release notifications held by the reorder fault",
    "GET|DELETE /__sim/auth-failures": "why recent requests got 401/403",
}


def _wallet_json(wallet: HotWallet) -> dict[str, Any]:
    coin = wallet.currency
    return {
        "currency": coin.id,
        "symbol": coin.symbol,
        "address": wallet.address,
        "expected": render.dec(wallet.expected, coin),
        "seen": render.dec(wallet.seen, coin),
        "confirmed": render.dec(wallet.confirmed, coin),
        "unconfirmed": render.dec(wallet.unconfirmed, coin),
        "late": render.dec(wallet.late_amount, coin),
        "excess": render.dec(max(wallet.seen - wallet.expected, Decimal(0)), coin),
        "requiredConfirmations": wallet.required_confirmations,
        "payoutTx": wallet.payout_tx,
        "paidOutAt": render.iso(wallet.paid_out_at),
        "transfers": [
            {
                "id": t.id,
                "txid": t.txid,
                "amount": render.dec(t.amount, coin),
                "confirmations": t.confirmations,
                "late": t.late,
                "detectedAt": render.iso(t.detected_at),
            }
            for t in wallet.transfers
        ],
    }


def invoice_view(invoice: Invoice) -> dict[str, Any]:
    payment = invoice.payment
    fiat = invoice.currency
    body: dict[str, Any] = {
        "id": invoice.id,
        "clientId": invoice.client_id,
        "status": invoice.status,
        "total": render.dec(invoice.total, fiat),
        "currency": fiat.id,
        "created": render.iso(invoice.created_at),
        "expires": render.iso(invoice.expires_at),
        "partialAccepted": invoice.partial_accepted,
        "link": invoice.link,
        "checkoutLink": invoice.checkout_link,
        "history": [{"status": s, "at": render.iso(at)} for s, at in invoice.history],
        "payment": None,
    }
    if payment is not None:
        excess = sum(
            (render.native_of(invoice, w, max(w.seen - w.expected, Decimal(0))) for w in payment.wallets.values()),
            Decimal(0),
        )
        credited = sum((render.native_of(invoice, w, w.confirmed) for w in payment.wallets.values()), Decimal(0))
        body["payment"] = {
            "id": payment.id,
            "state": payment.state,
            "expires": render.iso(payment.expires_at),
            "refundEmail": payment.refund_email,
            "nativeConfirmed": render.dec(credited, fiat),
            "nativeExcess": render.dec(excess, fiat),
            "wallets": [_wallet_json(w) for w in payment.wallets.values()],
        }
    return body


def _int(body: dict[str, Any], key: str, default: int, low: int = 0, high: int = 10_000) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise bad_request(key, f"{key} takes an integer between {low} and {high}.")
    return value


def _seconds(body: dict[str, Any], key: str) -> timedelta:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int | Decimal) or value < 0:
        raise bad_request(key, f"{key} takes a non-negative number of seconds.")
    return timedelta(seconds=float(value))


def build_control_router(sim: SimState) -> APIRouter:
    router = APIRouter(prefix="/__sim")
    engine = sim.engine

    async def body_of(request: Request) -> dict[str, Any]:
        body = await read_json(request, required=False)
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise bad_request("$", "Expected a JSON object.")
        return body

    def done(result: Any = None) -> Response:
        sim.flush()
        return json_response(result if result is not None else {"ok": True})

    @router.get("")
    async def index() -> Response:
        return json_response({"endpoints": CONTROL_ENDPOINTS, "operations": list(OPERATIONS)})

    @router.post("/reset")
    async def reset() -> Response:
        engine.reset()
        sim.dispatcher.clear()
        sim.faults.clear()
        sim.latency.reset()
        sim.auth_log.clear()
        sim.clock.reset()
        with engine.lock:
            engine.settings = dataclasses.replace(sim.initial_settings)
            sim.book.usd_prices = dict(sim.initial_prices)
            engine.clients.clear()
            for client_id, secret in sim.initial_clients:
                engine.add_client(client_id, secret)
        return json_response({"ok": True})

    # --- clients ---------------------------------------------------------------------------

    def client_json(account: ClientAccount) -> dict[str, Any]:
        return {**account.settings(), "clientSecret": account.secret, "webhooks": len(account.webhooks)}

    @router.get("/clients")
    async def clients() -> Response:
        return json_response([client_json(a) for a in engine.clients.values()])

    @router.post("/clients")
    async def add_client(request: Request) -> Response:
        body = await body_of(request)
        cid, secret = body.get("clientId"), body.get("clientSecret")
        if (cid is not None and not isinstance(cid, str)) or (secret is not None and not isinstance(secret, str)):
            raise bad_request("$", "clientId and clientSecret are strings.")
        return json_response(client_json(engine.add_client(cid or None, secret or None)))

    @router.patch("/clients/{client_id}")
    async def update_client(request: Request, client_id: str) -> Response:
        account = engine.client(client_id)
        if account is None:
            raise not_found("Client not found")
        body = await body_of(request)
        with engine.lock:
            if "disabled" in body:
                if not isinstance(body["disabled"], bool):
                    raise bad_request("disabled", "true or false")
                account.disabled = body["disabled"]
            if "partialAcceptAvailable" in body:
                if not isinstance(body["partialAcceptAvailable"], bool):
                    raise bad_request("partialAcceptAvailable", "true or false")
                account.partial_accept_available = body["partialAcceptAvailable"]
            if "allowedIps" in body:
                ips = body["allowedIps"]
                if ips is not None and not (isinstance(ips, list) and all(isinstance(i, str) for i in ips)):
                    raise bad_request("allowedIps", "null or a list of IPs/CIDRs")
                account.allowed_ips = ips
            if "permissions" in body:
                perms = body["permissions"]
                if perms is not None and not (isinstance(perms, list) and set(perms) <= set(OPERATIONS)):
                    raise bad_request("permissions", f"null or a list drawn from {list(OPERATIONS)}")
                account.permissions = set(perms) if perms is not None else None
        return json_response(client_json(account))

    # --- invoices --------------------------------------------------------------------------

    @router.get("/invoices/{invoice_id}")
    async def view(invoice_id: str) -> Response:
        return json_response(invoice_view(engine.find(invoice_id)))

    @router.post("/invoices/{invoice_id}/pay")
    async def pay(request: Request, invoice_id: str) -> Response:
        body = await body_of(request)
        coin = body.get("currency")
        amount = body.get("amount", "full")
        if coin is not None and not isinstance(coin, str):
            raise bad_request("currency", 'a currency id string, e.g. "1002"')
        if not isinstance(amount, str):
            raise bad_request("amount", 'a string: full, partial:0.5, over:0.1 or a coin amount like "0.0125"')
        confirmations = _int(body, "confirmations", 1)
        invoice = engine.find(invoice_id)
        transfer = engine.pay(invoice, coin, amount, confirmations)
        return done({"transfer": transfer.id, "amount": str(transfer.amount), "invoice": invoice_view(invoice)})

    @router.post("/invoices/{invoice_id}/confirm")
    async def confirm(request: Request, invoice_id: str) -> Response:
        body = await body_of(request)
        invoice = engine.find(invoice_id)
        blocks = engine.confirm(invoice, _int(body, "blocks", 1, low=1))
        return done({"blocks": blocks, "invoice": invoice_view(invoice)})

    def simple(action: str) -> None:
        async def handler(invoice_id: str) -> Response:
            invoice = engine.find(invoice_id)
            getattr(engine, action)(invoice)
            return done(invoice_view(invoice))

        router.add_api_route(f"/invoices/{{invoice_id}}/{action}", handler, methods=["POST"])

    for action in ("complete", "cancel", "publish", "delete", "refund"):
        simple(action)

    # --- clock, settings, rates ------------------------------------------------------------

    def clock_json() -> dict[str, Any]:
        return {
            "now": render.iso(sim.clock.now()),
            "wall": render.iso(sim.clock.wall()),
            "offsetSeconds": int(sim.clock.offset.total_seconds()),
        }

    @router.get("/clock")
    async def clock() -> Response:
        return json_response(clock_json())

    @router.post("/clock/advance")
    async def advance(request: Request) -> Response:
        body = await body_of(request)
        engine.advance(_seconds(body, "seconds"))
        return done(clock_json())

    def settings_json() -> dict[str, Any]:
        s = engine.settings
        return {
            "webhookCasing": s.payload_style.casing,
            "webhookAmounts": s.payload_style.amounts,
            "paymentWindowSeconds": int(s.payment_window.total_seconds()),
            "completionDelaySeconds": int(s.completion_delay.total_seconds()),
            "invoiceLifetimeSeconds": int(s.invoice_lifetime.total_seconds()),
            "responseLatencyMs": sim.latency.ms,
        }

    @router.get("/settings")
    async def get_settings() -> Response:
        return json_response(settings_json())

    @router.put("/settings")
    async def put_settings(request: Request) -> Response:
        body = await body_of(request)
        s = engine.settings
        casing = body.get("webhookCasing", s.payload_style.casing)
        amounts = body.get("webhookAmounts", s.payload_style.amounts)
        if casing not in ("pascal", "camel") or amounts not in ("units", "decimal"):
            raise bad_request("$", "webhookCasing is pascal|camel; webhookAmounts is units|decimal")
        latency_ms = body.get("responseLatencyMs", sim.latency.ms)
        if isinstance(latency_ms, bool) or not isinstance(latency_ms, int) or latency_ms < 0:
            raise bad_request("responseLatencyMs", "responseLatencyMs is a non-negative whole number of milliseconds")
        with engine.lock:
            s.payload_style = PayloadStyle(casing, amounts)
            if "paymentWindowSeconds" in body:
                s.payment_window = _seconds(body, "paymentWindowSeconds")
            if "completionDelaySeconds" in body:
                s.completion_delay = _seconds(body, "completionDelaySeconds")
            if "invoiceLifetimeSeconds" in body:
                s.invoice_lifetime = _seconds(body, "invoiceLifetimeSeconds")
        sim.latency.set(latency_ms)
        return json_response(settings_json())

    @router.get("/api-requests")
    async def api_requests() -> Response:
        return json_response(sim.latency.to_json())

    @router.put("/rates")
    async def put_rates(request: Request) -> Response:
        body = await body_of(request)
        try:
            sim.book.set_prices(body)
        except (LookupError, ValueError) as exc:
            raise bad_request("$", f"bad price: {exc}") from None
        return json_response({k: str(v) for k, v in sim.book.usd_prices.items()})

    # --- faults, deliveries, auth log ------------------------------------------------------

    @router.get("/faults")
    async def get_faults() -> Response:
        return json_response(sim.faults.to_json())

    @router.post("/faults")
    async def set_faults(request: Request) -> Response:
        body = await body_of(request)
        try:
            sim.faults.update({k: (float(v) if isinstance(v, Decimal) else v) for k, v in body.items()})
        except ValueError as exc:
            raise Problem(400, str(exc), {"$": [str(exc)]}) from None
        return json_response(sim.faults.to_json())

    @router.delete("/faults")
    async def clear_faults() -> Response:
        sim.faults.clear()
        return json_response(sim.faults.to_json())

    @router.get("/deliveries")
    async def deliveries(request: Request) -> Response:
        params = request.query_params
        out = [
            r.to_json()
            for r in list(sim.dispatcher.records)
            if params.get("invoiceId") in (None, r.notification.invoice_id)
            and params.get("event") in (None, r.notification.event)
            and params.get("outcome") in (None, r.outcome)
        ]
        return json_response(out)

    @router.delete("/deliveries")
    async def clear_deliveries() -> Response:
        sim.dispatcher.clear()
        return Response(status_code=204)

    @router.post("/deliveries/wait")
    async def wait_deliveries(request: Request) -> Response:
        body = await body_of(request)
        timeout = _seconds(body, "timeoutSeconds") if "timeoutSeconds" in body else timedelta(seconds=10)
        idle = await sim.dispatcher.wait_idle(timeout.total_seconds())
        return json_response({"idle": idle})

    @router.post("/webhooks/flush")
    async def flush() -> Response:
        return json_response({"released": sim.dispatcher.flush()})

    @router.get("/auth-failures")
    async def auth_failures() -> Response:
        return json_response([f.to_json() for f in sim.auth_log.items()])

    @router.delete("/auth-failures")
    async def clear_auth_failures() -> Response:
        sim.auth_log.clear()
        return Response(status_code=204)

    return router
