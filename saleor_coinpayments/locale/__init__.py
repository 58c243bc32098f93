"""The buyer's language: which one a page speaks, its gettext catalog, and numbers and dates in it.

The catalogs are `<lang>/LC_MESSAGES/messages.po` beside this file, handled with Babel
(`make i18n-extract`, `make i18n-update`, `make i18n-compile`); the install compiles them to `.mo`.
A tree where nobody compiled them, or where a `.po` changed since, still speaks every language:
the `.po` is then read instead (slower to load, once per process).

The language comes from, in order: the page's own switch (`?lang=`), the `languageCode` Saleor
sent with the checkout or order, the browser's `Accept-Language`, English.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from babel import Locale
from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import NullTranslations, Translations

DIR = Path(__file__).resolve().parent
DOMAIN = "messages"
DEFAULT = "en"
#: The languages the pay page speaks, in the order the switch lists them.
LANGUAGES: tuple[str, ...] = ("en", "de", "fr", "es", "it", "pt_BR", "pl", "nl", "tr", "ja", "zh_Hans", "ar")
_BY_LOWER = {code.lower(): code for code in LANGUAGES}
# What else a Saleor code or a browser tag may say for one of them (lower case, "_" for "-").
_ALIASES = {"pt": "pt_BR", "zh": "zh_Hans", "zh_cn": "zh_Hans", "zh_sg": "zh_Hans", "zh_hans_cn": "zh_Hans"}
_NOT_SIMPLIFIED = ("zh_hant", "zh_tw", "zh_hk", "zh_mo")
_TAG = re.compile(r"^[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*$")


def supported(code: str | None) -> str | None:
    """One of LANGUAGES for a Saleor language code (`DE`, `PT_BR`, `ZH_HANS`) or a browser tag
    (`de-AT`, `zh-Hans-CN`), or None when the page does not speak it."""
    if not code or not _TAG.match(code.strip()):
        return None
    key = code.strip().replace("-", "_").lower()
    if key.startswith(_NOT_SIMPLIFIED):
        return None
    while key:
        found = _BY_LOWER.get(key) or _ALIASES.get(key)
        if found:
            return found
        key = key.rpartition("_")[0]
    return None


def from_accept_language(header: str | None) -> str | None:
    """The first language of an `Accept-Language` header (highest q first) the page speaks."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((header or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        match = re.search(r"q=([0-9.]+)", params)
        if match:
            try:
                quality = float(match.group(1))
            except ValueError:
                quality = 0.0
        if quality > 0:
            ranked.append((-quality, index, tag))
    for _q, _i, tag in sorted(ranked):
        found = supported(tag)
        if found:
            return found
    return None


def negotiate(asked: str | None, saleor_code: str | None, accept_language: str | None) -> str:
    """The page's language: the switch's `?lang=`, else Saleor's, else the browser's, else English."""
    return supported(asked) or supported(saleor_code) or from_accept_language(accept_language) or DEFAULT


@functools.cache
def translations(language: str) -> NullTranslations:
    """The compiled catalog of a language (English: the messages themselves)."""
    if language == DEFAULT or language not in LANGUAGES:
        return NullTranslations()
    folder = DIR / language / "LC_MESSAGES"
    compiled, source = folder / f"{DOMAIN}.mo", folder / f"{DOMAIN}.po"
    if compiled.exists() and compiled.stat().st_mtime >= source.stat().st_mtime:
        with compiled.open("rb") as file:
            return Translations(file, domain=DOMAIN)
    return _from_po(source)


def _from_po(path: Path) -> Translations:
    import io

    with path.open("rb") as file:
        catalog = read_po(file)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


@dataclass(frozen=True)
class Speaker:
    """One language's words and formats, handed to a template or a view."""

    language: str

    @property
    def locale(self) -> Locale:
        return Locale.parse(self.language)

    @property
    def html_lang(self) -> str:
        """BCP 47, as `<html lang>` wants it (`pt-BR`, `zh-Hans`)."""
        return self.language.replace("_", "-")

    @property
    def direction(self) -> str:
        return "rtl" if self.locale.character_order == "right-to-left" else "ltr"

    def gettext(self, message: str) -> str:
        return translations(self.language).gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return translations(self.language).ngettext(singular, plural, n)

    def money(self, amount: Decimal, currency: str) -> str:
        """A fiat amount with its currency, as the locale writes it (`20,00 $`)."""
        return format_currency(amount, currency, locale=self.language)

    def coin(self, amount: Decimal | str) -> str:
        """A coin amount with every decimal it has (never rounded, trailing zeros kept)."""
        value = Decimal(str(amount))
        places = max(0, -int(value.as_tuple().exponent))
        pattern = "#,##0" + ("." + "0" * places if places else "")
        return format_decimal(value, format=pattern, locale=self.language, decimal_quantization=False)

    def number(self, value: int) -> str:
        return format_decimal(value, locale=self.language)

    def datetime(self, moment: datetime) -> str:
        """A moment in UTC, said the locale's way, with the zone named."""
        return format_datetime(moment, "medium", tzinfo=UTC, locale=self.language) + " UTC"

    def digits(self) -> list[str]:
        """The locale's digits 0–9, for the page's ticking countdown."""
        return [format_decimal(digit, locale=self.language) for digit in range(10)]


def speaker(language: str) -> Speaker:
    return Speaker(language if language in LANGUAGES else DEFAULT)


def native_name(language: str) -> str:
    """A language's name in itself, for the switch."""
    name = Locale.parse(language).get_display_name(language) or language
    return name[:1].upper() + name[1:]
