"""The buyer's pay page (`checkoutPage: app`): `/pay/<token>`, its JSON status, its wait for a
change (`/wait?version=…`, answered when the view changes or after PAY_PAGE_WAIT_SECONDS), the
coin choice, and the receipt to keep (`/pay/<token>/receipt`).

Routes only check the token, the rate and the body; the work is payments/checkout/pay_view.py,
coin_choice.py and receipt.py. An unknown or malformed token is a plain 404 that says nothing about why. Every
answer forbids framing, third-party content and referrers (the token is in the URL), and is never
cached. Each link may make `PAY_PAGE_REQUESTS_PER_SECOND` requests (bursts of ten times that, at least one).

Every answer speaks the buyer's language (saleor_coinpayments/locale): `?lang=` (the page's switch;
its script sends the page's language on each request), else the checkout's `languageCode` from
Saleor, else `Accept-Language`, else English.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from saleor_coinpayments.context import AppContext
from saleor_coinpayments.locale import Speaker, negotiate, speaker
from saleor_coinpayments.money import parse_json
from saleor_coinpayments.payments.checkout import coin_choice, pay_view, receipt
from saleor_coinpayments.payments.checkout.pay_link import PAY_PATH, token_hash
from saleor_coinpayments.payments.checkout.storefront_data import StorefrontDataError, payment_currency
from saleor_coinpayments.store.tables import Payment
from saleor_coinpayments.web import i18n
from saleor_coinpayments.web.answers import content, error, json_body
from saleor_coinpayments.web.dashboard import STATIC_DIR
from saleor_coinpayments.web.deps import Ctx, HttpError, read_limited_body
from saleor_coinpayments.web.rate_buckets import KeyedBuckets

router = APIRouter()

ASSETS = {
    "pay.css": "text/css; charset=utf-8",
    "pay.js": "text/javascript; charset=utf-8",
    "receipt.js": "text/javascript; charset=utf-8",
}
MAX_BODY_BYTES = 1024
VERSION_MAX_CHARS = 64
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
NOT_FOUND = "<!doctype html><meta charset=utf-8><title>Not found</title><p>Not found.</p>"
_LINK_ANSWERS: dict[int | str, dict[str, Any]] = {
    404: error("No payment has this link (nothing says why)."),
    429: error("This link asks too often; the page slows down by itself."),
}
COIN_BODY = json_body(
    {
        "type": "object",
        "required": ["coin"],
        "properties": {"coin": {"type": "string", "pattern": "^[A-Za-z0-9.:_-]{1,80}$"}},
    }
)


def _limiter(request: Request, ctx: AppContext) -> KeyedBuckets:
    """One set of buckets per application (so per process), made on first use."""
    buckets: KeyedBuckets | None = getattr(request.app.state, "pay_page_buckets", None)
    if buckets is None:
        rate = ctx.settings.pay_page_requests_per_second
        buckets = KeyedBuckets(rate, burst=max(1.0, rate * 10))
        request.app.state.pay_page_buckets = buckets
    return buckets


def _speaker(request: Request, payment: Payment) -> Speaker:
    """The language of this answer (any unknown `?lang=` is simply not one of the page's)."""
    asked = request.query_params.get("lang")
    return speaker(negotiate(asked, payment.language_code, request.headers.get("accept-language")))


def _json(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=HEADERS)


async def _payment(request: Request, ctx: AppContext, token: str) -> Payment:
    """The payment of this link, inside the link's rate; 404 for anything else."""
    payment = await pay_view.payment_for_token(ctx, token)
    if payment is None:
        raise HttpError(404, "NOT_FOUND", "Not found.")
    if not _limiter(request, ctx).allow(token_hash(token)):
        raise HttpError(429, "TOO_MANY_REQUESTS", "Too many requests; the page slows down by itself.")
    return payment


@router.get(
    f"{PAY_PATH}/assets/{{name}}",
    response_class=Response,
    responses={
        200: content("The pay page's stylesheet or script.", "text/css", "text/javascript"),
        404: content("No such asset.", "text/html"),
    },
)
async def pay_asset(name: str) -> Response:
    media_type = ASSETS.get(name)
    if media_type is None:
        return HTMLResponse(NOT_FOUND, status_code=404, headers=HEADERS)
    return FileResponse(
        STATIC_DIR / name,
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )


def _page(html: str, speak: Speaker) -> HTMLResponse:
    """A buyer's page, in the language it was written in (and chosen by Accept-Language, maybe)."""
    return HTMLResponse(html, headers={**HEADERS, "Content-Language": speak.html_lang, "Vary": "Accept-Language"})


@router.get(
    f"{PAY_PATH}/{{token}}",
    response_class=HTMLResponse,
    responses={404: content("No payment has this link.", "text/html")},
)
async def pay_page(request: Request, ctx: Ctx, token: str) -> HTMLResponse:
    payment = await pay_view.payment_for_token(ctx, token)
    if payment is None:
        return HTMLResponse(NOT_FOUND, status_code=404, headers=HEADERS)
    speak = _speaker(request, payment)
    html = i18n.render(
        "pay.html",
        speak,
        **pay_view.page_frame(payment, speak),
        base=f"{PAY_PATH}/{token}",
        words=i18n.pay_words(speak),
        languages=i18n.switch(speak),
    )
    return _page(html, speak)


@router.get(
    f"{PAY_PATH}/{{token}}/receipt",
    response_class=HTMLResponse,
    responses={404: content("No payment has this link, or no money came in for it yet.", "text/html")},
)
async def pay_receipt(request: Request, ctx: Ctx, token: str) -> HTMLResponse:
    """The receipt to keep, as long as the payment is kept: the page's paid state on its own."""
    payment = await receipt.payment_with_receipt(ctx, token)
    found = None
    if payment is not None:
        speak = _speaker(request, payment)
        found = await receipt.receipt_for_payment(ctx, payment, speak)
    if payment is None or found is None:
        return HTMLResponse(NOT_FOUND, status_code=404, headers=HEADERS)
    html = i18n.render("receipt.html", speak, receipt=found, receipt_link=f"{PAY_PATH}/{token}/receipt")
    return _page(html, speak)


@router.get(f"{PAY_PATH}/{{token}}/status", responses=_LINK_ANSWERS)
async def pay_status(request: Request, ctx: Ctx, token: str) -> JSONResponse:
    payment = await _payment(request, ctx, token)
    return _json(await pay_view.page_view(ctx, await pay_view.current(ctx, payment), _speaker(request, payment)))


@router.get(
    f"{PAY_PATH}/{{token}}/wait",
    responses={**_LINK_ANSWERS, 400: error("The version is longer than any the page shows.")},
)
async def pay_wait(request: Request, ctx: Ctx, token: str, version: str = "") -> JSONResponse:
    payment = await _payment(request, ctx, token)
    if len(version) > VERSION_MAX_CHARS:
        raise HttpError(400, "INVALID_VERSION", "Send back the version the page shows.")
    return _json(await pay_view.wait_for_change(ctx, payment, version, _speaker(request, payment)))


@router.post(
    f"{PAY_PATH}/{{token}}/coin",
    openapi_extra=COIN_BODY,
    responses={
        **_LINK_ANSWERS,
        400: error("Not one of the coins shown."),
        413: error("The body is larger than the route accepts."),
        415: error("The coin is not sent as application/json."),
        422: {"description": "CoinPayments refused that coin: the page's state with an `error`."},
    },
)
async def pay_choose_coin(request: Request, ctx: Ctx, token: str) -> JSONResponse:
    payment = await _payment(request, ctx, token)
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise HttpError(415, "UNSUPPORTED_MEDIA_TYPE", "Send the coin as application/json.")
    try:
        body = parse_json(await read_limited_body(request, MAX_BODY_BYTES))
        wanted = payment_currency({"paymentCurrency": body.get("coin")}) if isinstance(body, dict) else None
    except (ValueError, StorefrontDataError):
        wanted = None
    if wanted is None:
        raise HttpError(400, "INVALID_COIN", "Choose one of the coins shown.")
    speak = _speaker(request, payment)
    chosen = await coin_choice.choose_coin(ctx, payment, wanted)
    if isinstance(chosen, coin_choice.CoinRefusal):
        view = await pay_view.page_view(ctx, payment, speak)
        message = pay_view.refusal_text(chosen.code, speak)
        return _json({**view, "error": {"code": chosen.code, "message": message}}, status=422)
    return _json(await pay_view.page_view(ctx, chosen, speak))
