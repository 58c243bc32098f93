"""The app inside an order's page in the Dashboard: the crypto card (an `ORDER_DETAILS_WIDGETS`
widget, Saleor 3.22+) and the two popups of the order's "…" menu (every line).

Each page is the same small template and script (static/order.js, no framework), framed and
guarded exactly like the app page (`framing`); the token comes through the AppBridge handshake and
every call is checked by `dashboard_auth`, as for the app page. The card reads everything in one
call (`GET /api/dashboard/orders/{id}/crypto`, the use case `order_desk.order_card`); its buttons use
the app page's own routes (refunds, staff decisions, retries) and `POST /api/invoices/send`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from saleor_coinpayments.configuration import order_desk
from saleor_coinpayments.configuration.service import NotFound
from saleor_coinpayments.web.answers import DASHBOARD_AUTH, NOT_FOUND, SALEOR_UNAVAILABLE
from saleor_coinpayments.web.dashboard import API_PREFIX, framed_page
from saleor_coinpayments.web.dashboard_auth import AuthorisedUser
from saleor_coinpayments.web.deps import Ctx
from saleor_coinpayments.web.invoices import PATH as SEND_INVOICE_PATH

router = APIRouter()

CARD_PATH = "/extensions/order-card"
INVOICE_POPUP_PATH = "/extensions/order-invoice"
REFUNDS_POPUP_PATH = "/extensions/order-refunds"


async def _page(request: Request, ctx: Ctx, view: str) -> HTMLResponse:
    return await framed_page(request, ctx, "order.html", view=view, send_invoice_path=SEND_INVOICE_PATH)


@router.get(CARD_PATH, response_class=HTMLResponse)
async def order_card_page(request: Request, ctx: Ctx) -> HTMLResponse:
    """The crypto card on an order's page (the Dashboard adds `orderId`)."""
    return await _page(request, ctx, "card")


@router.get(INVOICE_POPUP_PATH, response_class=HTMLResponse)
async def order_invoice_popup(request: Request, ctx: Ctx) -> HTMLResponse:
    """ "Send a crypto invoice": due date and note, then `POST /api/invoices/send`."""
    return await _page(request, ctx, "invoice")


@router.get(REFUNDS_POPUP_PATH, response_class=HTMLResponse)
async def order_refunds_popup(request: Request, ctx: Ctx) -> HTMLResponse:
    """ "Crypto refunds of this order": the order's refunds, to complete or decline."""
    return await _page(request, ctx, "refunds")


@router.get(
    f"{API_PREFIX}/orders/{{order_id}}/crypto",
    responses={**DASHBOARD_AUTH, **NOT_FOUND, **SALEOR_UNAVAILABLE},
)
async def order_crypto(ctx: Ctx, user: AuthorisedUser, order_id: str) -> JSONResponse:
    """The order's CoinPayments payments, their refunds, and whether an invoice can be sent."""
    result = await order_desk.order_card(ctx, user.installation, order_id)
    if isinstance(result, NotFound):
        return JSONResponse({"error": {"code": "NOT_FOUND", "message": result.message}}, status_code=404)
    if isinstance(result, order_desk.SaleorDown):
        return JSONResponse({"error": {"code": "SALEOR_UNAVAILABLE", "message": result.message}}, status_code=502)
    return JSONResponse(result.to_json())
