"""Configurations of an installation: save, delete, map channels, test the connection.

The one implementation behind `saleor-coinpayments config set` and the Dashboard page. Expected
failures come back as values (`Invalid`, `NotFound`), never as exceptions, and are decided before
anything is written, so nothing is half-saved.

Saving talks to CoinPayments after the database commit: it tests the credentials and registers the
app's notification URL as a client webhook for the six invoice events. If CoinPayments refuses or
cannot be reached then, the configuration is still saved — the admin's input is not lost because
CoinPayments is down — and the result carries the verdict, shown as a warning. Nothing depends on the
webhook alone: the reconciler polls every open invoice. The registration is retried by every "Test
connection" and by `ensure_notifications()` (for a periodic job) until it succeeds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from saleor_coinpayments.coinpayments.client import CoinPaymentsClient
from saleor_coinpayments.coinpayments.errors import CoinPaymentsError, CoinPaymentsNotFoundError
from saleor_coinpayments.coinpayments.models import INVOICE_EVENTS, WebhookEventType
from saleor_coinpayments.configuration import validation as v
from saleor_coinpayments.configuration.diagnosis import ConnectionVerdict, diagnose
from saleor_coinpayments.context import AppContext
from saleor_coinpayments.saleor.channels import channel_slugs
from saleor_coinpayments.saleor.client import SaleorError
from saleor_coinpayments.store.configurations import ConfigurationRecord, ConfigurationRepository
from saleor_coinpayments.store.installations import InstallationRecord, InstallationRepository
from saleor_coinpayments.store.tables import Payment
from saleor_coinpayments.store.types import utcnow
from saleor_coinpayments.urls import coinpayments_notification_url

log = structlog.get_logger(__name__)


ClientFactory = Callable[[str, SecretStr, str], CoinPaymentsClient]
"""(client id, client secret, API base URL) → a client."""


def name_is_chosen(asked: bool | None, name: str, existing: ConfigurationRecord | None) -> bool:
    """Whether the saved name is one staff chose (the pay page shows only such a name): a name kept
    unchanged keeps its standing; the CLI's default (`asked` False) never takes a chosen name's away."""
    if existing is not None and existing.name == name and (existing.name_chosen or asked is None):
        return existing.name_chosen
    return True if asked is None else asked


@dataclass(frozen=True)
class NotFound:
    message: str

    def __bool__(self) -> bool:
        return False


@dataclass(frozen=True)
class ConfigurationView:
    """A configuration as people may see it: the secret masked, never whole."""

    id: str
    name: str
    client_id: str
    masked_secret: str
    api_url: str
    accepted_coins: tuple[str, ...]
    channels: tuple[str, ...]
    notification_url: str
    notifications_registered: bool
    last_check_ok: bool | None
    last_check_message: str | None
    invoice_new_orders: bool = False
    invoice_due_days: int = 7
    invoice_reminders: tuple[int, ...] = ()
    checkout_page: str = "hosted"

    @classmethod
    def of(cls, record: ConfigurationRecord, notification_url: str) -> ConfigurationView:
        return cls(
            id=record.id,
            name=record.name,
            client_id=record.client_id,
            masked_secret=record.masked_secret,
            api_url=record.api_url,
            accepted_coins=tuple(record.accepted_coins),
            channels=tuple(record.channels),
            notification_url=notification_url,
            notifications_registered=bool(record.client_webhook_id),
            last_check_ok=record.last_check_ok,
            last_check_message=record.last_check_message,
            invoice_new_orders=record.invoice_new_orders,
            invoice_due_days=record.invoice_due_days,
            invoice_reminders=record.invoice_reminders,
            checkout_page=record.checkout_page,
        )

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "client_id": self.client_id,
            "client_secret": self.masked_secret,
            "api_url": self.api_url,
            "accepted_coins": list(self.accepted_coins),
            "checkout_page": self.checkout_page,
            "channels": list(self.channels),
            "notification_url": self.notification_url,
            "notifications_registered": self.notifications_registered,
            "last_check": None
            if self.last_check_ok is None
            else {"ok": self.last_check_ok, "message": self.last_check_message or ""},
            "invoice_new_orders": self.invoice_new_orders,
            "invoice_due_days": self.invoice_due_days,
            "invoice_reminders": list(self.invoice_reminders),
        }


@dataclass(frozen=True)
class Saved:
    configuration: ConfigurationView
    created: bool
    check: ConnectionVerdict
    moved_channels: dict[str, str] = field(default_factory=dict)
    """channel slug → name of the configuration it was taken from."""

    def to_json(self) -> dict[str, object]:
        return {
            "configuration": self.configuration.to_json(),
            "created": self.created,
            "check": self.check.to_json(),
            "moved_channels": self.moved_channels,
        }


@dataclass(frozen=True)
class Deleted:
    name: str
    warning: str | None

    def to_json(self) -> dict[str, object]:
        return {"deleted": self.name, "warning": self.warning}


@dataclass(frozen=True)
class ChannelMapped:
    channel: str
    configuration: ConfigurationView | None
    previous: str | None
    """Name of the configuration the channel was mapped to before, if another."""

    def to_json(self) -> dict[str, object]:
        return {
            "channel": self.channel,
            "configuration": self.configuration.to_json() if self.configuration else None,
            "previous": self.previous,
        }


@dataclass(frozen=True)
class Checked:
    configuration: ConfigurationView
    check: ConnectionVerdict

    def to_json(self) -> dict[str, object]:
        return {"configuration": self.configuration.to_json(), "check": self.check.to_json()}


class ConfigurationService:
    """Configurations of installations. Each method is its own unit of work."""

    def __init__(
        self,
        ctx: AppContext,
        *,
        client_factory: ClientFactory | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self._ctx = ctx
        self._now = now
        self._client_factory = client_factory or self._default_client

    def _default_client(self, client_id: str, secret: SecretStr, api_url: str) -> CoinPaymentsClient:
        settings = self._ctx.settings
        return CoinPaymentsClient(
            client_id=client_id,
            client_secret=secret,
            base_url=api_url,
            http=self._ctx.http,
            timeout_seconds=settings.coinpayments_timeout_seconds,
            budget_seconds=min(10.0, settings.coinpayments_timeout_seconds * 2),
            rate_limiter=self._ctx.rate_limits.for_client(client_id),
            now=self._now,
        )

    def _client(self, record: ConfigurationRecord) -> CoinPaymentsClient:
        return self._client_factory(record.client_id, SecretStr(record.client_secret), record.api_url)

    def _view(self, record: ConfigurationRecord) -> ConfigurationView:
        return ConfigurationView.of(record, coinpayments_notification_url(self._ctx.settings, record.id))

    def _repo(self, session: AsyncSession) -> ConfigurationRepository:
        return ConfigurationRepository(session, self._ctx.box)

    # ------------------------------------------------------------------------------------ reading

    async def installation(self, saleor_api_url: str) -> InstallationRecord | None:
        async with self._ctx.db.session() as session:
            return await InstallationRepository(session, self._ctx.box).get(saleor_api_url.strip())

    async def configurations(self, installation: InstallationRecord) -> list[ConfigurationView]:
        async with self._ctx.db.session() as session:
            records = await self._repo(session).list_for(installation.id)
        return [self._view(record) for record in records]

    async def get(self, installation: InstallationRecord, configuration_id: str) -> ConfigurationView | NotFound:
        async with self._ctx.db.session() as session:
            record = await self._repo(session).get(configuration_id)
        if record is None or record.installation_id != installation.id:
            return NotFound("No such configuration.")
        return self._view(record)

    # ------------------------------------------------------------------------------------ writing

    async def _unknown_channels(self, installation: InstallationRecord, slugs: Iterable[str]) -> str | None:
        """Why these channels cannot be mapped (not in this Saleor, or Saleor unreachable), or None."""
        wanted = list(slugs)
        if not wanted:
            return None
        try:
            known = await channel_slugs(self._ctx.saleor, installation)
        except SaleorError as exc:
            return f"Could not check the channels with Saleor ({exc.message}); try again in a moment."
        missing = [slug for slug in wanted if slug not in known]
        if not missing:
            return None
        listed = ", ".join(sorted(known)) or "none"
        return f"No channel {', '.join(repr(m) for m in missing)} in this Saleor (channels: {listed})."

    async def save(
        self,
        installation: InstallationRecord,
        data: v.ConfigurationInput,
        *,
        configuration_id: str | None = None,
        update_by_name: bool = False,
        add_channels_only: bool = False,
    ) -> Saved | v.Invalid | NotFound:
        """Create or update a configuration, then test it and register its notification webhook.

        `configuration_id` updates that configuration; without it a new one is made — or, with
        `update_by_name` (the CLI), the one of the same name is updated. `add_channels_only` maps the
        given channels without unmapping the others (the CLI adds one channel at a time).
        """
        moved: dict[str, str] = {}
        async with self._ctx.db.session() as session:
            repo = self._repo(session)
            existing: ConfigurationRecord | None = None
            if configuration_id is not None:
                existing = await repo.get(configuration_id)
                if existing is None or existing.installation_id != installation.id:
                    return NotFound("No such configuration.")
            elif update_by_name:
                name = v.check_name(data.name or "")
                if isinstance(name, str):
                    existing = await repo.get_by_name(installation.id, name)
            valid = v.validate_configuration(
                data, creating=existing is None, default_api_url=self._ctx.settings.coinpayments_api_url
            )
            if isinstance(valid, v.Invalid):
                return valid
            unknown = await self._unknown_channels(installation, valid.channels or ())
            if unknown:
                return v.Invalid({v.CHANNELS: unknown})
            same_name = await repo.get_by_name(installation.id, valid.name)
            if same_name is not None and (existing is None or same_name.id != existing.id):
                return v.Invalid({v.NAME: f"A configuration named {valid.name!r} exists already; pick another name."})
            try:
                record = await repo.upsert(
                    installation.id,
                    valid.name,
                    client_id=valid.client_id,
                    client_secret=valid.client_secret.get_secret_value() if valid.client_secret else None,
                    api_url=valid.api_url,
                    accepted_coins=list(valid.accepted_coins),
                    configuration_id=existing.id if existing else None,
                    billing=valid.billing,
                    checkout_page=valid.checkout_page,
                    name_chosen=name_is_chosen(data.name_chosen, valid.name, existing),
                )
            except IntegrityError:  # the same name created concurrently
                await session.rollback()
                return v.Invalid({v.NAME: f"A configuration named {valid.name!r} exists already; pick another name."})
            if valid.channels is not None:
                for slug in valid.channels:
                    holder = await repo.for_channel(installation.id, slug)
                    if holder is not None and holder.id != record.id:
                        moved[slug] = holder.name
                    await repo.map_channel(installation.id, slug, record.id)
                if not add_channels_only:
                    for slug in set(record.channels) - set(valid.channels):
                        await repo.map_channel(installation.id, slug, None)
        log.info(
            "configuration_saved",
            configuration_id=record.id,
            created=existing is None,
            channels=list(valid.channels or ()),
        )
        check = await self._check_and_register(record, previous=existing)
        view = await self.get(installation, record.id)
        assert not isinstance(view, NotFound)
        self._ctx.configurations.drop(view.id)
        return Saved(configuration=view, created=existing is None, check=check, moved_channels=moved)

    async def delete(self, installation: InstallationRecord, configuration_id: str) -> Deleted | v.Invalid | NotFound:
        """Delete a configuration that no payment refers to, then remove its webhook at CoinPayments."""
        async with self._ctx.db.session() as session:
            repo = self._repo(session)
            record = await repo.get(configuration_id)
            if record is None or record.installation_id != installation.id:
                return NotFound("No such configuration.")
            payments = await session.scalar(
                select(func.count()).select_from(Payment).where(Payment.configuration_id == record.id)
            )
            if payments:
                return v.Invalid(
                    {
                        v.GENERAL: f"{record.name!r} has {payments} payment(s) and is kept for their history. "
                        "Unmap its channels to stop using it."
                    }
                )
            await repo.delete(record.id)
        log.info("configuration_deleted", configuration_id=record.id)
        warning = await self._remove_webhook(record)
        self._ctx.configurations.drop(configuration_id)
        return Deleted(name=record.name, warning=warning)

    async def map_channel(
        self, installation: InstallationRecord, channel_slug: str, configuration_id: str | None
    ) -> ChannelMapped | v.Invalid | NotFound:
        """Point a channel at a configuration (moving it from another), or unmap it with None.

        NotFound when the channel (the route's resource) is not a channel slug or, to map it, not a
        channel of this Saleor, or when the configuration is not one of this shop's."""
        slug = v.check_channel_slug(channel_slug or "")
        if isinstance(slug, v.FieldError):
            return NotFound(slug.message)
        if configuration_id:
            unknown = await self._unknown_channels(installation, [slug])
            if unknown:
                return NotFound(unknown)
        async with self._ctx.db.session() as session:
            repo = self._repo(session)
            target: ConfigurationRecord | None = None
            if configuration_id:
                target = await repo.get(configuration_id)
                if target is None or target.installation_id != installation.id:
                    return NotFound("Choose one of this shop's configurations.")
            holder = await repo.for_channel(installation.id, slug)
            await repo.map_channel(installation.id, slug, target.id if target else None)
            fresh = await repo.get(target.id) if target else None
        for changed in {c.id for c in (target, holder) if c is not None}:
            self._ctx.configurations.drop(changed)
        log.info("channel_mapped", channel=slug, configuration_id=target.id if target else None)
        previous = holder.name if holder is not None and (target is None or holder.id != target.id) else None
        return ChannelMapped(channel=slug, configuration=self._view(fresh) if fresh else None, previous=previous)

    # ---------------------------------------------------------------------------- CoinPayments

    async def test_connection(self, installation: InstallationRecord, configuration_id: str) -> Checked | NotFound:
        """Test the stored credentials now (and register the webhook if that is still missing)."""
        async with self._ctx.db.session() as session:
            record = await self._repo(session).get(configuration_id)
        if record is None or record.installation_id != installation.id:
            return NotFound("No such configuration.")
        check = await self._check_and_register(record, previous=None)
        view = await self.get(installation, record.id)
        assert not isinstance(view, NotFound)
        return Checked(configuration=view, check=check)

    async def ensure_notifications(self) -> int:
        """Register the webhook of every configuration that still lacks one; returns how many now have it.

        For a periodic job: a save made while CoinPayments was down gets its webhook later.
        """
        async with self._ctx.db.session() as session:
            installations = await InstallationRepository(session, self._ctx.box).list_all()
            repo = self._repo(session)
            missing = [
                record
                for installation in installations
                for record in await repo.list_for(installation.id)
                if not record.client_webhook_id
            ]
        registered = 0
        for record in missing:
            if (await self._check_and_register(record, previous=None)).ok:
                registered += 1
        return registered

    async def _check_and_register(
        self, record: ConfigurationRecord, *, previous: ConfigurationRecord | None
    ) -> ConnectionVerdict:
        """Test the credentials; if they work, make CoinPayments' webhook point at us. Records the verdict."""
        webhook_id = record.client_webhook_id
        if (
            previous is not None
            and previous.client_webhook_id
            and (previous.client_id != record.client_id or previous.api_url != record.api_url)
        ):
            # The old subscription belongs to the old integration: remove it there, subscribe anew.
            warning = await self._remove_webhook(previous)
            if warning:
                log.warning("old_webhook_not_removed", configuration_id=record.id)
            webhook_id = None
        client = self._client(record)
        verdict = await diagnose(client, self._ctx.http, self._now)
        new_webhook_id = webhook_id
        if verdict.ok:
            url = coinpayments_notification_url(self._ctx.settings, record.id)
            try:
                new_webhook_id = await _subscribe(client, url, webhook_id)
            except CoinPaymentsError as exc:
                verdict = ConnectionVerdict(
                    False,
                    "webhook_not_registered",
                    "The credentials work, but registering the notification URL at CoinPayments failed: "
                    f"{exc.merchant_message} Payments are still followed by polling; test again to retry.",
                )
            else:
                verdict = ConnectionVerdict(True, "ok", f"{verdict.message} Invoice notifications are sent to {url}.")
        async with self._ctx.db.session() as session:
            repo = self._repo(session)
            if new_webhook_id != record.client_webhook_id:
                await repo.set_client_webhook_id(record.id, new_webhook_id)
            await repo.set_check_result(record.id, verdict.ok, verdict.message)
        log.info("configuration_checked", configuration_id=record.id, ok=verdict.ok, code=verdict.code)
        return verdict

    async def _remove_webhook(self, record: ConfigurationRecord) -> str | None:
        """Delete the record's webhook at CoinPayments; a warning for the admin if that failed."""
        if not record.client_webhook_id:
            return None
        try:
            await self._client(record).delete_client_webhook(record.client_webhook_id)
        except CoinPaymentsNotFoundError:
            return None
        except CoinPaymentsError as exc:
            return (
                f"The notification webhook {record.client_webhook_id} could not be removed at CoinPayments "
                f"({exc.merchant_message}). Remove it in the CoinPayments dashboard (API integrations → webhooks)."
            )
        return None


def _event_names(events: Sequence[WebhookEventType]) -> set[str]:
    return {event.value.lower() for event in events}


async def _subscribe(client: CoinPaymentsClient, url: str, known_id: str | None) -> str:
    """Make exactly one of the integration's webhooks send the six invoice events to `url`; its id."""
    hooks = await client.list_client_webhooks()
    mine = next((hook for hook in hooks if known_id and hook.id == known_id), None)
    mine = mine or next((hook for hook in hooks if hook.notifications_url == url), None)
    if mine is None:
        return await client.create_client_webhook(url, INVOICE_EVENTS)
    if mine.notifications_url != url or {name.lower() for name in mine.notifications} != _event_names(INVOICE_EVENTS):
        await client.update_client_webhook(mine.id, url, INVOICE_EVENTS)
    return mine.id
