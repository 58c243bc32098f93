"""What a person may type into a configuration, checked field by field.

Validation never raises for bad input: it returns every field's problem at once (`Invalid`), so the
page can show each message next to its field and nothing is saved until all of them are right.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pydantic import SecretStr

from saleor_coinpayments.configuration import billing as b
from saleor_coinpayments.store.configurations import BillingSettings

NAME_MAX = 120
SECRET_MAX = 512
API_URL_MAX = 500
COINS_MAX = 100
CHANNEL_SLUG_MAX = 255

_HEX32 = re.compile(r"[0-9a-f]{32}")
_CHANNEL_SLUG = re.compile(r"[A-Za-z0-9_-]+")
_COIN_SYMBOL = re.compile(r"[A-Z0-9][A-Z0-9._-]{0,31}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# Field names, shared by the CLI (as --flags) and the page (as JSON keys).
NAME = "name"
CLIENT_ID = "client_id"
CLIENT_SECRET = "client_secret"
API_URL = "api_url"
ACCEPTED_COINS = "accepted_coins"
CHANNELS = "channels"
CHANNEL = "channel"
CONFIGURATION = "configuration_id"
CHECKOUT_PAGE = "checkout_page"
CHECKOUT_PAGES = ("hosted", "app")
GENERAL = "_"


@dataclass(frozen=True)
class Invalid:
    """Field → message for everything that is wrong; nothing was changed."""

    errors: dict[str, str]

    def __bool__(self) -> bool:  # an `Invalid` is never a success
        return False


@dataclass(frozen=True)
class FieldError:
    """Why one field's value cannot be used, in words for the person who typed it."""

    message: str


@dataclass(frozen=True)
class ConfigurationInput:
    """A configuration as typed. `client_secret` None or empty keeps the stored one (write-only field).

    `channels` None leaves the mapping alone; a list is the exact set of channels this configuration
    serves afterwards (channels mapped to another configuration move here).
    """

    name: str
    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    api_url: str | None = None
    accepted_coins: str | Iterable[str] | None = None
    channels: Iterable[str] | None = None
    # Sent-out invoices; None keeps the stored value (see configuration/billing.py).
    invoice_new_orders: bool | str | None = None
    invoice_due_days: int | str | None = None
    invoice_reminders: str | Iterable[int | str] | None = None
    checkout_page: str | None = None
    # Whether the name was given on purpose: True (`config set --name`), False (the CLI's default,
    # the channel slug), None (the Dashboard's form: chosen unless it is the stored name, unchanged).
    name_chosen: bool | None = None


@dataclass(frozen=True)
class ValidConfiguration:
    name: str
    client_id: str
    client_secret: SecretStr | None
    api_url: str
    accepted_coins: tuple[str, ...]
    channels: tuple[str, ...] | None
    billing: BillingSettings = field(default_factory=BillingSettings)
    checkout_page: str | None = None


def normalise_client_id(value: str) -> str | None:
    """`dc6a16e5-45c3-…` and `DC6A16E545C3…` both become `dc6a16e545c3…`; None if not a 32-hex id."""
    candidate = value.strip().replace("-", "").lower()
    return candidate if _HEX32.fullmatch(candidate) else None


def check_name(value: str) -> str | FieldError:
    name = " ".join(value.split())
    if not name:
        return FieldError("Give the configuration a name.")
    if len(name) > NAME_MAX:
        return FieldError(f"Use at most {NAME_MAX} characters.")
    return name


def check_channel_slug(value: str) -> str | FieldError:
    slug = value.strip()
    if not slug:
        return FieldError("Enter a channel slug.")
    if len(slug) > CHANNEL_SLUG_MAX or not _CHANNEL_SLUG.fullmatch(slug):
        return FieldError(f"{slug[:60]!r} is not a channel slug (letters, digits, '-' and '_').")
    return slug


def check_api_url(value: str) -> str | FieldError:
    url = value.strip().rstrip("/")
    if url.endswith("/api"):
        url = url[: -len("/api")]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return FieldError("Enter the API URL as http(s)://host, e.g. https://a-api.coinpayments.net.")
    if parts.query or parts.fragment or parts.username or parts.password or _CONTROL.search(url):
        return FieldError("The API URL takes no query, fragment or user name.")
    if len(url) > API_URL_MAX:
        return FieldError(f"The API URL is longer than {API_URL_MAX} characters.")
    return url


def split_list(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    items = re.split(r"[\s,;]+", value) if isinstance(value, str) else list(value)
    return [str(item).strip() for item in items if str(item).strip()]


def check_coins(value: str | Iterable[str] | None) -> tuple[str, ...] | FieldError:
    coins: list[str] = []
    for raw in split_list(value):
        symbol = raw.upper()
        if not _COIN_SYMBOL.fullmatch(symbol):
            return FieldError(f"{raw[:40]!r} is not a coin symbol (e.g. BTC, LTCT, USDT.ERC20).")
        if symbol not in coins:
            coins.append(symbol)
    if len(coins) > COINS_MAX:
        return FieldError(f"List at most {COINS_MAX} coins.")
    return tuple(coins)


def validate_configuration(
    data: ConfigurationInput, *, creating: bool, default_api_url: str
) -> ValidConfiguration | Invalid:
    """Every field checked; all problems reported together."""
    errors: dict[str, str] = {}

    name = check_name(data.name or "")
    if isinstance(name, FieldError):
        errors[NAME] = name.message

    client_id = normalise_client_id(data.client_id or "")
    if client_id is None:
        errors[CLIENT_ID] = (
            "Enter the client id of the CoinPayments API integration: 32 hexadecimal characters (dashes allowed)."
        )

    secret_text = (data.client_secret or "").strip()
    secret: SecretStr | None = SecretStr(secret_text) if secret_text else None
    if secret is None and creating:
        errors[CLIENT_SECRET] = "Enter the client secret (CoinPayments shows it once, when the integration is made)."
    elif len(secret_text) > SECRET_MAX or _CONTROL.search(secret_text) or " " in secret_text:
        errors[CLIENT_SECRET] = "This does not look like a client secret (no spaces, at most 512 characters)."

    api_url = check_api_url(data.api_url or default_api_url)
    if isinstance(api_url, FieldError):
        errors[API_URL] = api_url.message

    coins = check_coins(data.accepted_coins)
    if isinstance(coins, FieldError):
        errors[ACCEPTED_COINS] = coins.message

    checkout_page = (data.checkout_page or "").strip().lower() or None
    if checkout_page is not None and checkout_page not in CHECKOUT_PAGES:
        errors[CHECKOUT_PAGE] = "Choose hosted (CoinPayments' checkout window) or app (the app's own pay page)."

    channels: list[str] | None = None
    if data.channels is not None:
        channels = []
        for raw in data.channels:
            slug = check_channel_slug(str(raw))
            if isinstance(slug, FieldError):
                errors[CHANNELS] = slug.message
                break
            if slug not in channels:
                channels.append(slug)

    billing = b.check_billing(data.invoice_new_orders, data.invoice_due_days, data.invoice_reminders)
    if isinstance(billing, dict):
        errors.update(billing)

    if (
        errors
        or isinstance(billing, dict)
        or isinstance(name, FieldError)
        or isinstance(api_url, FieldError)
        or isinstance(coins, FieldError)
    ):
        return Invalid(errors)
    assert client_id is not None
    return ValidConfiguration(
        name=name,
        client_id=client_id,
        client_secret=secret,
        api_url=api_url,
        accepted_coins=coins,
        channels=tuple(channels) if channels is not None else None,
        billing=billing,
        checkout_page=checkout_page,
    )


def input_from_mapping(body: Mapping[str, object]) -> ConfigurationInput | Invalid:
    """A JSON body → `ConfigurationInput`, refusing values of the wrong JSON type per field."""
    errors: dict[str, str] = {}

    def text(key: str, *, optional: bool = False) -> str | None:
        value = body.get(key)
        if value is None:
            return None if optional else ""
        if not isinstance(value, str):
            errors[key] = "Expected text."
            return None
        return value

    def text_list(key: str) -> list[str] | str | None:
        value = body.get(key)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return list(value)
        errors[key] = "Expected a list of text."
        return None

    name = text(NAME)
    client_id = text(CLIENT_ID)
    secret = text(CLIENT_SECRET, optional=True)
    api_url = text(API_URL, optional=True)
    coins = text_list(ACCEPTED_COINS)
    channels = text_list(CHANNELS)
    new_orders = body.get(b.INVOICE_NEW_ORDERS)
    if new_orders is not None and not isinstance(new_orders, bool | str):
        errors[b.INVOICE_NEW_ORDERS] = "Expected true or false."
    due_days = body.get(b.INVOICE_DUE_DAYS)
    if due_days is not None and (isinstance(due_days, bool) or not isinstance(due_days, int | str)):
        errors[b.INVOICE_DUE_DAYS] = "Expected a number of days."
    reminders = body.get(b.INVOICE_REMINDERS)
    if reminders is not None and not (
        isinstance(reminders, str)
        or (
            isinstance(reminders, list) and all(isinstance(i, int | str) and not isinstance(i, bool) for i in reminders)
        )
    ):
        errors[b.INVOICE_REMINDERS] = "Expected a list of day offsets."
    checkout_page = text(CHECKOUT_PAGE, optional=True)
    if errors:
        return Invalid(errors)
    return ConfigurationInput(
        name=name or "",
        client_id=client_id or "",
        client_secret=secret,
        api_url=api_url,
        accepted_coins=coins,
        channels=split_list(channels) if isinstance(channels, str) else channels,
        invoice_new_orders=new_orders if isinstance(new_orders, bool | str) else None,
        invoice_due_days=due_days if isinstance(due_days, int | str) else None,
        invoice_reminders=reminders if isinstance(reminders, str | list) else None,
        checkout_page=checkout_page,
    )
