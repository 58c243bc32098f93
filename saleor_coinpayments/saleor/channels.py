"""The channels of an installed Saleor, read with the app token."""

from __future__ import annotations

from typing import Protocol

from saleor_coinpayments.saleor.client import SaleorClient
from saleor_coinpayments.saleor.schema import load_document


class Installed(Protocol):
    """What reading a Saleor's channels needs of an installation (the store's record has it)."""

    @property
    def saleor_api_url(self) -> str: ...

    @property
    def app_token(self) -> str: ...


async def channel_list(saleor: SaleorClient, installation: Installed) -> list[dict[str, str]]:
    """`[{"slug", "currency"}]` sorted by slug. Raises SaleorError when Saleor cannot be asked."""
    data = await saleor.execute(installation.saleor_api_url, load_document("channels"), token=installation.app_token)
    channels = [
        {"slug": str(c["slug"]), "currency": str(c.get("currencyCode") or "")}
        for c in data.get("channels") or []
        if isinstance(c, dict) and c.get("slug")
    ]
    return sorted(channels, key=lambda c: c["slug"])


async def channel_slugs(saleor: SaleorClient, installation: Installed) -> set[str]:
    """Raises SaleorError when Saleor cannot be asked."""
    return {c["slug"] for c in await channel_list(saleor, installation)}
