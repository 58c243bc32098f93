"""The app manifest Saleor reads at install time, built from APP_PUBLIC_URL, one per Saleor line.

Saleor names its line in the manifest request (`Saleor-Schema-Version: 3.20`) and refuses at
install what that line does not know: 3.20 and 3.21 take only a fixed list of extension mounts
and the POPUP / APP_PAGE targets, 3.22 adds order widgets, and 3.23 takes stable `identifier`s
on webhooks. Without the header (the CLI, a curious browser) the newest line's manifest is served.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from saleor_coinpayments import __version__
from saleor_coinpayments.saleor.events import WEBHOOKS
from saleor_coinpayments.saleor.lines import IDENTIFIERS_SINCE, NEWEST, WIDGETS_SINCE, Line, line_of
from saleor_coinpayments.settings import Settings
from saleor_coinpayments.urls import HOME_PATH, PRIVACY_PATH, SUPPORT_PATH

APP_IDENTIFIER = "saleor.coinpayments"
REQUIRED_SALEOR_VERSION = ">=3.20 <4"  # 3.20 is the long-term-support line (docs/admin/install.md)
# HANDLE_PAYMENTS: payment webhooks, transactionCreate/transactionEventReport.
# MANAGE_ORDERS: INVOICE_REQUESTED, invoiceUpdate and orderNoteAdd (sent-out invoices). See docs/admin/install.md.
PERMISSIONS = ["HANDLE_PAYMENTS", "MANAGE_ORDERS"]


# Mounts and targets Saleor 3.20 and 3.21 accept (saleor/app/types.py); newer lines take any string.
OLD_LINE_MOUNTS = frozenset(
    {"ORDER_DETAILS_MORE_ACTIONS", "ORDER_OVERVIEW_MORE_ACTIONS", "ORDER_OVERVIEW_CREATE", "NAVIGATION_ORDERS"}
)
OLD_LINE_TARGETS = frozenset({"POPUP", "APP_PAGE"})


@dataclass(frozen=True)
class Extension:
    """One place in the Dashboard where the app shows itself."""

    identifier: str
    label: str
    mount: str
    target: str
    path: str
    permissions: tuple[str, ...] = ("HANDLE_PAYMENTS",)

    def accepted_by(self, line: Line) -> bool:
        if line >= WIDGETS_SINCE:
            return True
        return self.mount in OLD_LINE_MOUNTS and self.target in OLD_LINE_TARGETS


#: The Dashboard extensions, newest line first in mind; each line gets those it accepts. The paths
#: are the app's pages (web/order_extensions.py); the Dashboard adds `orderId` to each.
EXTENSIONS: tuple[Extension, ...] = (
    Extension("order-crypto-card", "Crypto payment", "ORDER_DETAILS_WIDGETS", "WIDGET", "/extensions/order-card"),
    Extension(
        "order-send-invoice",
        "Send a crypto invoice",
        "ORDER_DETAILS_MORE_ACTIONS",
        "POPUP",
        "/extensions/order-invoice",
    ),
    Extension(
        "order-crypto-refunds",
        "Crypto refunds of this order",
        "ORDER_DETAILS_MORE_ACTIONS",
        "POPUP",
        "/extensions/order-refunds",
    ),
)


def build_manifest(settings: Settings, schema_version: str | None = None) -> dict[str, Any]:
    """The manifest for the Saleor line that names itself in `Saleor-Schema-Version`."""
    base = settings.app_public_url
    line = line_of(schema_version, unknown=NEWEST)
    with_identifiers = line >= IDENTIFIERS_SINCE
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
        "extensions": [
            {
                **({"identifier": extension.identifier} if with_identifiers else {}),
                "label": extension.label,
                "mount": extension.mount,
                "target": extension.target,
                "url": f"{base}{extension.path}",
                "permissions": list(extension.permissions),
            }
            for extension in EXTENSIONS
            if extension.accepted_by(line)
        ],
        "webhooks": [
            {
                **({"identifier": webhook_identifier(hook.event.value)} if with_identifiers else {}),
                "name": hook.name,
                ("syncEvents" if hook.is_sync else "asyncEvents"): [hook.event.value],
                "query": hook.query,
                "targetUrl": f"{base}{hook.event.path}",
                "isActive": True,
            }
            for hook in WEBHOOKS
        ],
    }


def webhook_identifier(event: str) -> str:
    """A webhook's stable identifier: the same on every install, unique per app (one webhook an event)."""
    return f"{APP_IDENTIFIER}.{event.lower()}"
