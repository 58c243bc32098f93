"""The app's own public pages: `/` (what this is, the manifest URL, health), `/support` and `/privacy`.

They are the manifest's `homepageUrl`, `supportUrl` and `dataPrivacyUrl`, which the Saleor Dashboard
shows as the app's buttons. Plain server-rendered HTML on the pay page's stylesheet; nothing from
another origin, no script, and nothing about any shop or buyer (they are public).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from saleor_coinpayments import __version__
from saleor_coinpayments.settings import Settings
from saleor_coinpayments.urls import HOME_PATH, MANIFEST_PATH, PRIVACY_PATH, SUPPORT_PATH
from saleor_coinpayments.web.dashboard import WEB_DIR
from saleor_coinpayments.web.deps import Ctx

router = APIRouter()

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
_templates = Environment(
    loader=FileSystemLoader(WEB_DIR / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _render(template: str, settings: Settings, **values: object) -> HTMLResponse:
    html = _templates.get_template(template).render(
        version=__version__,
        docs_url=settings.docs_url,
        manifest_url=settings.public_url(MANIFEST_PATH),
        **values,
    )
    return HTMLResponse(html, headers=HEADERS)


@router.get(HOME_PATH, response_class=HTMLResponse, include_in_schema=False)
async def home(ctx: Ctx) -> HTMLResponse:
    """The landing page; its health line is the readiness check's (the database answers)."""
    try:
        await ctx.db.ping()
        database_ok = True
    except Exception:  # any failure means "not answering"; /health/ready gives the reason
        database_ok = False
    return _render("home.html", ctx.settings, database_ok=database_ok)


@router.get(SUPPORT_PATH, response_class=HTMLResponse, include_in_schema=False)
async def support(ctx: Ctx) -> HTMLResponse:
    return _render("support.html", ctx.settings)


@router.get(PRIVACY_PATH, response_class=HTMLResponse, include_in_schema=False)
async def privacy(ctx: Ctx) -> HTMLResponse:
    return _render(
        "privacy.html",
        ctx.settings,
        outbox_retry_hours=ctx.settings.outbox_retry_hours,
    )
