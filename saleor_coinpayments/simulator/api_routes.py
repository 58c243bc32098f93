"""The CoinPayments routes the production client uses (coinpayments.md#endpoints), signed or anonymous."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from saleor_coinpayments.simulator import render
from saleor_coinpayments.simulator.currencies import Currency
from saleor_coinpayments.simulator.domain import ClientAccount, ClientWebhook, Invoice
from saleor_coinpayments.simulator.problems import EmptyStatus, bad_request, not_found
from saleor_coinpayments.simulator.state import SimState, json_response, read_json
from saleor_coinpayments.simulator.validation import is_email, parse_subscription, validate_create_v2


def _paging(after: str | None, limit: int) -> dict[str, Any]:
    return {
        "cursors": {"before": None, "after": after},
        "limit": limit,
        "first": None,
        "next": None,
        "previous": None,
        "last": None,
    }


def _guid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise not_found("Invoice not found") from None


def _moment(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise bad_request(name, f"'{value}' is not a date-time.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def build_api_router(sim: SimState) -> APIRouter:
    router = APIRouter()
    engine, book = sim.engine, sim.book

    async def signed(request: Request, operation: str) -> ClientAccount:
        return await sim.auth.check(request, operation)

    def owned(account: ClientAccount, invoice_id: str) -> Invoice:
        return engine.invoice_for(account, _guid(invoice_id))

    # --- invoices ------------------------------------------------------------------------

    @router.post("/api/v2/merchant/invoices")
    async def create_invoice_v2(request: Request) -> Response:
        account = await signed(request, "createInvoice")
        body = await read_json(request)
        req = validate_create_v2(body, book, account.client_id)
        invoice = engine.create_invoice(account, req, sim.public_base(request))
        response = json_response({"invoices": [render.created_v2(invoice, book)]})
        sim.flush()
        return response

    async def list_invoices(request: Request) -> Response:
        account = await signed(request, "readInvoices")
        params = request.query_params
        status = params.get("status")
        engine.raise_if_unknown_status(status)
        limit_text = params.get("limit", "100")
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= 100:
            raise bad_request("Limit", "The field Limit must be between 1 and 100.")
        limit = int(limit_text)
        after = params.get("after") or None
        created_from = _moment(params.get("from"), "From")
        created_to = _moment(params.get("to"), "To")
        if created_from is not None and created_to is not None and created_from > created_to:
            raise bad_request("From", "From must not be later than To.")
        items, next_cursor = engine.list_invoices(
            account,
            q=params.get("q") or None,
            status=status,
            after=after,
            limit=limit,
            created_from=created_from,
            created_to=created_to,
        )
        return json_response({"items": [render.summary_v1(i) for i in items], "paging": _paging(next_cursor, limit)})

    router.add_api_route("/api/v1/merchant/invoices", list_invoices, methods=["GET"])
    router.add_api_route("/api/v2/merchant/invoices", list_invoices, methods=["GET"])

    @router.get("/api/v2/merchant/invoices/{invoice_id}")
    async def get_invoice_v2(request: Request, invoice_id: str) -> Response:
        account = await signed(request, "readInvoices")
        full = request.query_params.get("include_full_details", "false").lower()
        if full not in ("true", "false"):
            raise bad_request("include_full_details", "Expected true or false.")
        return json_response(render.invoice_v2(owned(account, invoice_id), full == "true"))

    @router.get("/api/v1/merchant/invoices/{invoice_id}")
    async def get_invoice_v1(request: Request, invoice_id: str) -> Response:
        account = await signed(request, "readInvoices")
        return json_response(render.invoice_v1(owned(account, invoice_id)))

    async def history(request: Request, invoice_id: str) -> Response:
        account = await signed(request, "readInvoices")
        invoice = owned(account, invoice_id)
        items = [{"eventType": kind, "timestamp": render.iso(at)} for kind, at in invoice.history]
        return json_response({"items": items, "paging": _paging(None, 100)})

    router.add_api_route("/api/v1/merchant/invoices/{invoice_id}/history", history, methods=["GET"])
    router.add_api_route("/api/v2/merchant/invoices/{invoice_id}/history", history, methods=["GET"])

    @router.post("/api/v1/merchant/invoices/{invoice_id}/cancel")
    async def cancel_invoice(request: Request, invoice_id: str) -> Response:
        account = await signed(request, "cancelInvoice")
        engine.cancel(owned(account, invoice_id))
        sim.flush()
        return Response(status_code=200)

    # --- checkout (anonymous) ------------------------------------------------------------

    def coin_or_404(code: str) -> Currency:
        coin = book.find(code)
        if coin is None or coin.is_fiat:
            raise not_found("currency not found")
        return coin

    @router.post("/api/v1/invoices/{invoice_id}/payments")
    async def create_payment(request: Request, invoice_id: str) -> Response:
        body = await read_json(request)
        email = body.get("refundEmail") if isinstance(body, dict) else None
        if not isinstance(email, str) or not is_email(email):
            raise bad_request("RefundEmail", "A valid refundEmail is required.")
        invoice = engine.find(_guid(invoice_id))
        payment = engine.create_payment(invoice, email)
        return json_response(
            {
                "paymentId": payment.id,
                "expires": render.iso(payment.expires_at),
                "paymentCurrencies": render.payment_currencies(invoice, book),
                "refundEmail": payment.refund_email,
            }
        )

    @router.get("/api/v1/invoices/{invoice_id}/payment-currencies/{currency}")
    async def payment_address(invoice_id: str, currency: str) -> Response:
        invoice = engine.find(_guid(invoice_id))
        wallet = engine.payment_address(invoice, coin_or_404(currency))
        response = json_response(render.payment_details(invoice, wallet))
        sim.flush()
        return response

    @router.get("/api/v1/invoices/{invoice_id}/payment-currencies/{currency}/status")
    async def payment_status(invoice_id: str, currency: str) -> Response:
        invoice = engine.find(_guid(invoice_id))
        coin = coin_or_404(currency)
        if invoice.payment is None:
            raise bad_request("Payment", "The invoice has no payment.")
        wallet = invoice.payment.wallets.get(coin.id)
        due = book.convert_due(invoice.total, invoice.currency, coin)
        return json_response(render.payment_status(invoice, coin, wallet, due))

    # --- currencies and rates (anonymous) ------------------------------------------------

    async def list_currencies(request: Request) -> Response:
        params = request.query_params
        types = {t.strip().lower() for t in params.get("types", "").split(",") if t.strip()}
        caps = {c.strip() for c in params.get("capabilities", "").split(",") if c.strip()}
        q = (params.get("q") or "").lower()
        out = [
            c.to_dto()
            for c in book.all()
            if (not types or c.type in types)
            and (not caps or caps <= set(c.capabilities))
            and (not q or q in c.symbol.lower() or q in c.name.lower())
        ]
        return json_response(out)

    async def required_confirmations() -> Response:
        return json_response(
            [{"currencyId": c.numeric_id, "confirmationsCount": c.required_confirmations} for c in book.payable()]
        )

    async def get_currency(currency_id: str) -> Response:
        found = book.find(currency_id)
        if found is None:
            raise not_found("currency not found")
        return json_response(found.to_dto())

    for version in ("v1", "v2"):
        router.add_api_route(f"/api/{version}/currencies", list_currencies, methods=["GET"])
        router.add_api_route(f"/api/{version}/currencies/required-confirmations", required_confirmations)
        router.add_api_route(f"/api/{version}/currencies/{{currency_id}}", get_currency, methods=["GET"])

    @router.get("/api/v1/merchant/currencies")
    async def merchant_currencies(request: Request) -> Response:
        await signed(request, "readCurrencies")
        return json_response({"items": [c.to_dto() for c in book.payable()]})

    async def rates(request: Request) -> Response:
        params = request.query_params

        def ids(name: str, default: list[Currency]) -> list[Currency]:
            text = params.get(name)
            if not text:
                return default
            found = []
            for code in (c.strip() for c in text.split(",")):
                currency = book.find(code)
                if currency is None:
                    raise bad_request(name.capitalize(), f"Currency {code!r} not found.")
                found.append(currency)
            return found

        bases = ids("from", book.payable())
        quotes = ids("to", [book.get("5057")])
        items = [
            {
                "baseCurrencyId": b.numeric_id,
                "baseToken": b.contract,
                "quoteCurrencyId": q.numeric_id,
                "quoteToken": q.contract,
                "rate": str(book.rate(b, q)),
            }
            for b in bases
            for q in quotes
            if b.id != q.id
        ]
        return json_response({"items": items})

    router.add_api_route("/api/v1/rates", rates, methods=["GET"])
    router.add_api_route("/api/v2/rates", rates, methods=["GET"])

    # --- client webhooks -----------------------------------------------------------------

    async def own_client(request: Request, client_id: str) -> ClientAccount:
        account = await signed(request, "manageWebhooks")
        if client_id != account.client_id:
            raise EmptyStatus(403, "clientId in the path is not the signing integration")
        return account

    def hook_json(hook: ClientWebhook) -> dict[str, Any]:
        return {
            "id": hook.id,
            "notificationsUrl": hook.notifications_url,
            "notifications": list(hook.notifications),
            "createdFromUI": hook.created_from_ui,
        }

    @router.get("/api/v1/merchant/clients/{client_id}/webhooks")
    async def list_webhooks(request: Request, client_id: str) -> Response:
        account = await own_client(request, client_id)
        wanted = request.query_params.get("type")
        items = [
            hook_json(h)
            for h in account.webhooks.values()
            if wanted is None or wanted.lower() in (n.lower() for n in h.notifications)
        ]
        return json_response({"items": items, "paging": _paging(None, 100)})

    @router.post("/api/v1/merchant/clients/{client_id}/webhooks")
    async def add_webhook(request: Request, client_id: str) -> Response:
        account = await own_client(request, client_id)
        sub = parse_subscription(await read_json(request))
        with engine.lock:
            hook = ClientWebhook(str(uuid.uuid4()), sub.notifications_url, sub.notifications)
            account.webhooks[hook.id] = hook
        return json_response({"id": hook.id})

    @router.put("/api/v1/merchant/clients/{client_id}/webhooks/{webhook_id}")
    async def update_webhook(request: Request, client_id: str, webhook_id: str) -> Response:
        account = await own_client(request, client_id)
        hook = account.webhooks.get(webhook_id)
        if hook is None:
            raise not_found("Webhook not found")
        sub = parse_subscription(await read_json(request), need_url=False)
        with engine.lock:
            if sub.notifications_url:
                hook.notifications_url = sub.notifications_url
            hook.notifications = sub.notifications
        return Response(status_code=200)

    @router.delete("/api/v1/merchant/clients/{client_id}/webhooks/{webhook_id}")
    async def delete_webhook(request: Request, client_id: str, webhook_id: str) -> Response:
        account = await own_client(request, client_id)
        with engine.lock:
            if account.webhooks.pop(webhook_id, None) is None:
                raise not_found("Webhook not found")
        return Response(status_code=204)

    return router
