"""The app manifest Saleor reads at install time, built from APP_PUBLIC_URL."""

from __future__ import annotations

from typing import Any

from saleor_coinpayments import __version__
from saleor_coinpayments.saleor.events import WEBHOOKS
from saleor_coinpayments.settings import Settings
from saleor_coinpayments.urls import HOME_PATH, PRIVACY_PATH, SUPPORT_PATH

APP_IDENTIFIER = "saleor.coinpayments"
REQUIRED_SALEOR_VERSION = ">=3.20 <4"  # 3.20 is the long-term-support line (docs/admin/install.md)
# HANDLE_PAYMENTS: payment webhooks, transactionCreate/transactionEventReport.
# MANAGE_ORDERS: INVOICE_REQUESTED, invoiceUpdate and orderNoteAdd (sent-out invoices). See docs/admin/install.md.
PERMISSIONS = ["HANDLE_PAYMENTS", "MANAGE_ORDERS"]


def build_manifest(settings: Settings) -> dict[str, Any]:
    base = settings.app_public_url
    return {
        "id": APP_IDENTIFIER,
        "version": __version__,
        "name": "CoinPayments",
        "about": "Accept cryptocurrency in any Saleor shop through CoinPayments invoices.",
        "author": "saleor-coinpayments",
        "permissions": list(PERMISSIONS),
        "appUrl": f"{base}/dashboard",
        "tokenTargetUrl": f"{base}/api/register",
        "homepageUrl": settings.public_url(HOME_PATH),
        "supportUrl": settings.public_url(SUPPORT_PATH),
        "dataPrivacyUrl": settings.public_url(PRIVACY_PATH),
        "brand": {"logo": {"default": f"{base}/static/logo.png"}},
        "requiredSaleorVersion": REQUIRED_SALEOR_VERSION,
        "extensions": [],
        "webhooks": [
            {
                "name": hook.name,
                ("syncEvents" if hook.is_sync else "asyncEvents"): [hook.event.value],
                "query": hook.query,
                "targetUrl": f"{base}{hook.event.path}",
                "isActive": True,
            }
            for hook in WEBHOOKS
        ],
    }
