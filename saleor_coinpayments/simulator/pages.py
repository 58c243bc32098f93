"""The pages behind `link` and `checkoutLink`, so a browser (or a demo) can open them.

The checkout page also offers "simulate payment" buttons that call the control endpoints;
they exist only in the simulator.
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse

from saleor_coinpayments.simulator import render
from saleor_coinpayments.simulator.domain import Invoice
from saleor_coinpayments.simulator.state import SimState

_STYLE = """body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%}td,th{padding:.3rem;border-bottom:1px solid #ddd;text-align:left}
.status{font-weight:bold}button{margin:.2rem;padding:.4rem .8rem}.sim{background:#fff6d5;padding:.5rem}"""

_SCRIPT = """async function sim(path, body){
  const headers = {'Content-Type': 'application/json'};
  const r = await fetch(path, {method: 'POST', headers, body: JSON.stringify(body || {})});
  if(!r.ok){ alert(await r.text()); } location.reload();
}"""


def _page(title: str, body: str) -> HTMLResponse:
    html = (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}</title>"
        f"<meta name=viewport content='width=device-width,initial-scale=1'><style>{_STYLE}</style>"
        f"<script>{_SCRIPT}</script></head><body>{body}</body></html>"
    )
    return HTMLResponse(html)


def _not_found() -> HTMLResponse:
    response = _page("Invoice not found", "<h1>Invoice not found</h1>")
    response.status_code = 404
    return response


def _summary(invoice: Invoice) -> str:
    fiat = invoice.currency
    rows = "".join(
        f"<tr><td>{escape(i.name)}</td><td>{i.quantity}</td><td>{render.dec(i.amount, fiat)}</td></tr>"
        for i in invoice.request.items
    )
    return (
        f"<p>Invoice <code>{escape(invoice.id)}</code> {escape(invoice.request.invoice_id or '')}</p>"
        f"<p class=status id=status>Status: {escape(invoice.status)}</p>"
        f"<table><tr><th>Item</th><th>Qty</th><th>Amount</th></tr>{rows}</table>"
        f"<p>Total: <strong id=total>{render.dec(invoice.total, fiat)} {escape(fiat.symbol)}</strong></p>"
    )


def build_pages_router(sim: SimState) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/invoices/{invoice_id}")
    async def invoice_page(invoice_id: str) -> HTMLResponse:
        invoice = sim.engine.invoices.get(invoice_id)
        if invoice is None:
            return _not_found()
        checkout = f"<p><a id=pay href='{escape(invoice.checkout_link)}'>Pay using CoinPayments</a></p>"
        return _page("Invoice", "<h1>Invoice</h1>" + _summary(invoice) + checkout)

    @router.get("/checkout/")
    async def checkout_page(request: Request) -> HTMLResponse:
        invoice_id = request.query_params.get("invoice-id", "")
        sim.engine.tick()
        invoice = sim.engine.invoices.get(invoice_id)
        if invoice is None:
            return _not_found()
        parts = ["<h1>Checkout (simulator)</h1>", _summary(invoice)]
        payment = invoice.payment
        if payment is not None:
            for wallet in payment.wallets.values():
                coin = wallet.currency
                parts.append(
                    f"<p>Send <strong>{render.dec(wallet.remaining, coin)} {escape(coin.symbol)}</strong> to "
                    f"<code>{escape(wallet.address)}</code> before {render.iso(payment.expires_at)}</p>"
                )
        if invoice.status in ("unpaid", "pending"):
            pay = f"/__sim/invoices/{invoice.id}/pay"
            buttons = "".join(
                f'<button onclick=\'sim("{pay}",{{currency:"{escape(c.id)}",amount:"full",'
                f"confirmations:{c.required_confirmations}}})'>Pay with {escape(c.symbol)}</button>"
                for c in sim.book.payable()
            )
            parts.append(f"<div class=sim><p>Simulator controls:</p>{buttons}</div>")
        return _page("Checkout", "".join(parts))

    return router
