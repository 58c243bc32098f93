"""Public URLs the app hands out; always built from APP_PUBLIC_URL, never from request headers."""

from __future__ import annotations

from saleor_coinpayments.settings import Settings

COINPAYMENTS_NOTIFICATION_PREFIX = "/api/webhooks/coinpayments"
# The app's public pages, which the manifest names as homepage, support and data privacy.
HOME_PATH = "/"
SUPPORT_PATH = "/support"
PRIVACY_PATH = "/privacy"
MANIFEST_PATH = "/api/manifest"


def coinpayments_notification_path(configuration_id: str) -> str:
    """The route of one configuration: it names the configuration, so the right secret is found."""
    return f"{COINPAYMENTS_NOTIFICATION_PREFIX}/{configuration_id}"


def coinpayments_notification_url(settings: Settings, configuration_id: str) -> str:
    """Exactly the URL registered with CoinPayments, which is also the URL its signatures cover."""
    return settings.public_url(coinpayments_notification_path(configuration_id))
