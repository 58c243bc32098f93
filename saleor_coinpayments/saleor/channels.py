"""The channels of an installed Saleor, read with the app token."""

from __future__ import annotations

from saleor_coinpayments.saleor.client import SaleorClient
from saleor_coinpayments.saleor.schema import load_document
from saleor_coinpayments.store.installations import InstallationRecord


async def channel_list(saleor: SaleorClient, installation: InstallationRecord) -> list[dict[str, str]]:
    """`[{"slug", "currency"}]` sorted by slug. Raises SaleorError when Saleor cannot be asked."""
    data = await saleor.execute(installation.saleor_api_url, load_document("channels"), token=installation.app_token)
    channels = [
        {"slug": str(c["slug"]), "currency": str(c.get("currencyCode") or "")}
        for c in data.get("channels") or []
        if isinstance(c, dict) and c.get("slug")
    ]
    return sorted(channels, key=lambda c: c["slug"])


async def channel_slugs(saleor: SaleorClient, installation: InstallationRecord) -> set[str]:
    """Raises SaleorError when Saleor cannot be asked."""
    return {c["slug"] for c in await channel_list(saleor, installation)}
