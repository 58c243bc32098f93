"""CoinPayments configurations (credentials encrypted) and their mapping to Saleor channels."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from saleor_coinpayments.store.crypto import SecretBox
from saleor_coinpayments.store.tables import ChannelConfiguration, Configuration


def mask_secret(secret: str) -> str:
    """What a person may see of a secret: its length class and last 4 characters at most."""
    if len(secret) <= 8:
        return "••••"
    return "••••" + secret[-4:]


@dataclass(frozen=True)
class ConfigurationRecord:
    id: str
    installation_id: str
    name: str
    client_id: str
    client_secret: str = field(repr=False)
    api_url: str
    accepted_coins: list[str]
    client_webhook_id: str | None
    channels: list[str]
    last_check_ok: bool | None = None
    last_check_message: str | None = None
    invoice_new_orders: bool = False
    invoice_due_days: int = 7
    invoice_reminders: tuple[int, ...] = ()
    checkout_page: str = "hosted"
    name_chosen: bool = True

    @property
    def masked_secret(self) -> str:
        return mask_secret(self.client_secret)


@dataclass(frozen=True)
class BillingSettings:
    """Sent-out invoice settings of a configuration; None leaves a setting as it is."""

    invoice_new_orders: bool | None = None
    invoice_due_days: int | None = None
    invoice_reminders: tuple[int, ...] | None = None


class ConfigurationRepository:
    def __init__(self, session: AsyncSession, box: SecretBox) -> None:
        self._session = session
        self._box = box

    async def _channels(self, configuration_id: str) -> list[str]:
        result = await self._session.execute(
            select(ChannelConfiguration.channel_slug)
            .where(ChannelConfiguration.configuration_id == configuration_id)
            .order_by(ChannelConfiguration.channel_slug)
        )
        return list(result.scalars())

    async def _record(self, row: Configuration, *, with_channels: bool = True) -> ConfigurationRecord:
        return ConfigurationRecord(
            id=row.id,
            installation_id=row.installation_id,
            name=row.name,
            client_id=row.client_id,
            client_secret=self._box.decrypt(row.client_secret_encrypted),
            api_url=row.api_url,
            accepted_coins=list(row.accepted_coins or []),
            client_webhook_id=row.client_webhook_id,
            channels=await self._channels(row.id) if with_channels else [],
            last_check_ok=row.last_check_ok,
            last_check_message=row.last_check_message,
            invoice_new_orders=bool(row.invoice_new_orders),
            invoice_due_days=int(row.invoice_due_days or 7),
            invoice_reminders=tuple(int(day) for day in row.invoice_reminders or []),
            checkout_page=row.checkout_page or "hosted",
            name_chosen=row.name_chosen is not False,
        )

    async def get(self, configuration_id: str, *, with_channels: bool = True) -> ConfigurationRecord | None:
        """`with_channels=False` skips the channel list (an empty list then) where only credentials matter."""
        row = await self._session.get(Configuration, configuration_id)
        return await self._record(row, with_channels=with_channels) if row else None

    async def get_by_name(self, installation_id: str, name: str) -> ConfigurationRecord | None:
        row = (
            await self._session.execute(
                select(Configuration).where(
                    Configuration.installation_id == installation_id, Configuration.name == name
                )
            )
        ).scalar_one_or_none()
        return await self._record(row) if row else None

    async def for_channel(
        self, installation_id: str, channel_slug: str, *, with_channels: bool = True
    ) -> ConfigurationRecord | None:
        row = (
            await self._session.execute(
                select(Configuration)
                .join(ChannelConfiguration, ChannelConfiguration.configuration_id == Configuration.id)
                .where(
                    ChannelConfiguration.installation_id == installation_id,
                    ChannelConfiguration.channel_slug == channel_slug,
                )
            )
        ).scalar_one_or_none()
        return await self._record(row, with_channels=with_channels) if row else None

    async def list_for(self, installation_id: str) -> list[ConfigurationRecord]:
        rows = (
            await self._session.execute(
                select(Configuration)
                .where(Configuration.installation_id == installation_id)
                .order_by(Configuration.name)
            )
        ).scalars()
        return [await self._record(row) for row in rows]

    async def upsert(
        self,
        installation_id: str,
        name: str,
        *,
        client_id: str,
        client_secret: str | None,
        api_url: str,
        accepted_coins: list[str] | None = None,
        configuration_id: str | None = None,
        billing: BillingSettings | None = None,
        checkout_page: str | None = None,
        name_chosen: bool | None = None,
    ) -> ConfigurationRecord:
        """Create or update by id (or by name). A `None` secret keeps the stored one (write-only field),
        a `None` checkout page the stored one ("hosted" for a new configuration); `None` billing
        settings (each of them) keep the stored ones; `name_chosen` None keeps the stored flag (True for a
        new configuration)."""
        row: Configuration | None = None
        if configuration_id:
            row = await self._session.get(Configuration, configuration_id)
            if row is None or row.installation_id != installation_id:
                raise LookupError(f"no configuration {configuration_id}")
        else:
            row = (
                await self._session.execute(
                    select(Configuration).where(
                        Configuration.installation_id == installation_id, Configuration.name == name
                    )
                )
            ).scalar_one_or_none()
        if row is None:
            if not client_secret:
                raise ValueError("a new configuration needs a client secret")
            row = Configuration(installation_id=installation_id, name=name)
            self._session.add(row)
        row.name = name
        if name_chosen is not None:
            row.name_chosen = name_chosen
        elif row.name_chosen is None:
            row.name_chosen = True
        row.client_id = client_id
        if client_secret:
            row.client_secret_encrypted = self._box.encrypt(client_secret)
        row.api_url = api_url
        row.accepted_coins = list(accepted_coins or [])
        if billing is not None:
            if billing.invoice_new_orders is not None:
                row.invoice_new_orders = billing.invoice_new_orders
            if billing.invoice_due_days is not None:
                row.invoice_due_days = billing.invoice_due_days
            if billing.invoice_reminders is not None:
                row.invoice_reminders = list(billing.invoice_reminders)
        if checkout_page is not None:
            row.checkout_page = checkout_page
        elif row.checkout_page is None:
            row.checkout_page = "hosted"
        await self._session.flush()
        return await self._record(row)

    async def delete(self, configuration_id: str) -> None:
        await self._session.execute(
            delete(ChannelConfiguration).where(ChannelConfiguration.configuration_id == configuration_id)
        )
        await self._session.execute(delete(Configuration).where(Configuration.id == configuration_id))

    async def map_channel(self, installation_id: str, channel_slug: str, configuration_id: str | None) -> None:
        """Point a channel at a configuration, or unmap it with `None`."""
        existing = await self._session.get(ChannelConfiguration, (installation_id, channel_slug))
        if configuration_id is None:
            if existing is not None:
                await self._session.delete(existing)
        elif existing is None:
            self._session.add(
                ChannelConfiguration(
                    installation_id=installation_id,
                    channel_slug=channel_slug,
                    configuration_id=configuration_id,
                )
            )
        else:
            existing.configuration_id = configuration_id
        await self._session.flush()

    async def set_client_webhook_id(self, configuration_id: str, webhook_id: str | None) -> None:
        row = await self._session.get(Configuration, configuration_id)
        if row is not None:
            row.client_webhook_id = webhook_id
            await self._session.flush()

    async def set_check_result(self, configuration_id: str, ok: bool, message: str) -> None:
        row = await self._session.get(Configuration, configuration_id)
        if row is not None:
            row.last_check_ok = ok
            row.last_check_message = message[:2000]
            await self._session.flush()


class ConfigurationCache:
    """Configurations by id with the client secret decrypted, so a notification's signature check or
    an invoice re-read costs no database hop and no decryption.

    This process drops an entry as soon as it saves or deletes that configuration. Another process's
    change (the CLI, another replica) shows within `ttl_seconds`; a notification whose signature fails
    against a cached secret is checked once more against the stored one, so a rotated secret never
    refuses a genuine notification.

    It also keeps which configuration serves a channel (for transactionInitialize and the gateway
    list), on the same terms; an unmapped channel is never cached, so a channel mapped elsewhere
    serves at once.
    """

    def __init__(self, ttl_seconds: float = 5.0) -> None:
        self._ttl = ttl_seconds
        self._entries: dict[str, tuple[float, ConfigurationRecord]] = {}
        self._channels: dict[tuple[str, str], tuple[float, str]] = {}

    def channel(self, installation_id: str, channel_slug: str) -> str | None:
        """The id of the configuration that served this channel lately, if any."""
        entry = self._channels.get((installation_id, channel_slug))
        if entry is None or time.monotonic() - entry[0] > self._ttl:
            return None
        return entry[1]

    def put_channel(self, installation_id: str, channel_slug: str, configuration_id: str) -> None:
        self._channels[(installation_id, channel_slug)] = (time.monotonic(), configuration_id)

    def get(self, configuration_id: str) -> ConfigurationRecord | None:
        entry = self._entries.get(configuration_id)
        if entry is None or time.monotonic() - entry[0] > self._ttl:
            return None
        return entry[1]

    def put(self, record: ConfigurationRecord) -> None:
        self._entries[record.id] = (time.monotonic(), record)

    def drop(self, configuration_id: str) -> None:
        """Forget a configuration, and every channel mapping (any of them may have moved)."""
        self._entries.pop(configuration_id, None)
        self._channels.clear()
