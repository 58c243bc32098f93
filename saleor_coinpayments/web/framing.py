"""Pages the Dashboard frames (the app page, the order card, the order popups): who may frame them.

The Dashboard is served from the origin of the API it belongs to, or from one of the
DASHBOARD_ORIGINS of a self-hosted set-up; only those may frame a page and talk to it. Every framed
page gets the same headers: scripts and styles only from the app, nothing inline, no referrer
beyond the app.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import Request

from saleor_coinpayments.configuration import installations
from saleor_coinpayments.context import AppContext

THEMES = ("light", "dark")

_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?|https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of an http(s) URL, or None; safe to put into a CSP header."""
    parts = urlsplit(url.strip())
    origin = f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}".lower()
    return origin if _ORIGIN.fullmatch(origin) else None


def page_headers(frame_origins: list[str]) -> dict[str, str]:
    """Framable by that Saleor's Dashboard and nothing else; scripts and styles only from us."""
    ancestors = " ".join(frame_origins) or "'none'"
    return {
        "Content-Security-Policy": (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors {ancestors}"
        ),
        "Referrer-Policy": "same-origin",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }


@dataclass(frozen=True)
class Framing:
    """What a framed page needs to know before its script runs."""

    installed: bool
    saleor_api_url: str
    dashboard_origin: str  # the only origin whose messages the page accepts ("" when not installed)
    theme: str
    headers: dict[str, str]


async def framing(request: Request, ctx: AppContext) -> Framing:
    """The page's Saleor (from `saleorApiUrl`), the Dashboard origin it talks to, its theme and headers.

    An unknown Saleor gets a page that explains itself, framable by its origin.
    """
    saleor_api_url = (request.query_params.get("saleorApiUrl") or "").strip()
    installation = await installations.stored(ctx, saleor_api_url) if saleor_api_url else None
    api_origin = origin_of(installation.saleor_api_url if installation else saleor_api_url)
    allowed = sorted({o for o in [api_origin, *ctx.settings.dashboard_origins] if o})
    referer = origin_of(request.headers.get("referer") or "")
    dashboard_origin = None
    if installation is not None:
        dashboard_origin = referer if referer in allowed else api_origin
    theme = request.query_params.get("theme")
    return Framing(
        installed=installation is not None,
        saleor_api_url=saleor_api_url,
        dashboard_origin=dashboard_origin or "",
        theme=theme if theme in THEMES else "light",
        headers=page_headers(allowed),
    )
