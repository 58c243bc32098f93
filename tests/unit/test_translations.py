"""Issue #28: the catalogs match the code, every language has every message, and the page's script
says nothing of its own.

The messages are extracted here the way `make i18n-extract` does (Babel, babel.cfg), so a message
added to the code without its twelve translations, or one the code dropped but a catalog still
carries, fails this file.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from saleor_coinpayments import locale
from saleor_coinpayments.locale import LANGUAGES, Speaker, from_accept_language, negotiate, storefront_js, supported
from saleor_coinpayments.web.i18n import pay_words

ROOT = Path(__file__).resolve().parents[2]
TRANSLATED = [code for code in LANGUAGES if code != locale.DEFAULT]
_PLACEHOLDER = re.compile(r"\{\w+\}|%\(\w+\)s")


def extracted() -> set[str]:
    with (ROOT / "babel.cfg").open() as file:
        method_map, options_map = parse_mapping_cfg(file)
    found = {
        message if isinstance(message, str) else message[0]
        for _path, _line, message, _comments, _context in extract_from_dir(str(ROOT), method_map, options_map)
    }
    return {message for message in found if message}


def catalog(language: str) -> dict[str, str]:
    with (locale.DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as file:
        read = read_po(file)
    fuzzy = [message.id for message in read if message.id and message.fuzzy]
    assert fuzzy == [], f"{language}: fuzzy entries {fuzzy}"
    return {str(message.id): str(message.string) for message in read if message.id}


def test_the_code_has_messages_to_translate() -> None:
    messages = extracted()
    assert "waiting for payment" in messages  # pay_view.py
    assert "Copy address" in messages  # pay.html
    assert "Time left to pay: {time}" in messages  # web/i18n.py, for pay.js
    assert "Continue to payment" in messages  # examples/storefront/storefront.js


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_has_a_translation_and_no_catalog_keeps_a_dropped_one(language: str) -> None:
    messages = extracted()
    translated = catalog(language)
    assert sorted(messages - set(translated)) == [], f"{language}: not in the catalog (make i18n-update)"
    assert sorted(set(translated) - messages) == [], f"{language}: the code no longer uses these"
    untranslated = [message for message, text in translated.items() if not text.strip()]
    assert untranslated == [], f"{language}: no translation"
    for message, text in translated.items():
        assert sorted(_PLACEHOLDER.findall(text)) == sorted(_PLACEHOLDER.findall(message)), (language, message)


def test_the_storefront_examples_messages_are_what_the_catalogs_make() -> None:
    """examples/storefront/messages.js is committed (the example is static files): it must be current."""
    folder = ROOT / "examples" / "storefront"
    assert "Buying: {product}" in storefront_js.script_messages(folder)
    assert (folder / "messages.js").read_text(encoding="utf-8") == storefront_js.render(folder), "make i18n-compile"


def test_the_twelve_languages() -> None:
    assert set(LANGUAGES) == {"en", "de", "fr", "es", "it", "pt_BR", "pl", "nl", "tr", "ja", "zh_Hans", "ar"}
    assert sorted(path.parent.parent.name for path in locale.DIR.glob("*/LC_MESSAGES/messages.po")) == sorted(
        TRANSLATED
    )
    assert Speaker("ar").direction == "rtl"
    assert {Speaker(code).direction for code in LANGUAGES if code != "ar"} == {"ltr"}


def test_compiled_catalogs_are_built_at_install_not_committed() -> None:
    ignored = (locale.DIR / ".gitignore").read_text().split()
    assert "*.mo" in ignored
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^install: .*\bi18n-compile\b", makefile, re.M)
    assert "pybabel -q compile -d $(LOCALE_DIR) -D messages" in makefile
    dockerfile = (ROOT / "Dockerfile").read_text()
    compiled = dockerfile.index("pybabel compile -d saleor_coinpayments/locale -D messages")
    assert compiled < dockerfile.index("pip install --no-compile --no-deps .")


def test_a_stale_or_missing_compiled_catalog_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from babel.messages.mofile import write_mo

    folder = tmp_path / "de" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    source = folder / "messages.po"
    source.write_bytes((locale.DIR / "de" / "LC_MESSAGES" / "messages.po").read_bytes())
    monkeypatch.setattr(locale, "DIR", tmp_path)
    locale.translations.cache_clear()
    try:
        assert locale.translations("de").gettext("waiting for payment") == "Warten auf Zahlung"  # no .mo
        with source.open("rb") as file:
            old = read_po(file)
        old["waiting for payment"].string = "Warten (alt)"
        with (folder / "messages.mo").open("wb") as file:
            write_mo(file, old)
        os.utime(folder / "messages.mo", (source.stat().st_mtime - 60,) * 2)
        locale.translations.cache_clear()
        assert locale.translations("de").gettext("waiting for payment") == "Warten auf Zahlung"  # stale .mo
        os.utime(folder / "messages.mo", (source.stat().st_mtime + 60,) * 2)
        locale.translations.cache_clear()
        assert locale.translations("de").gettext("waiting for payment") == "Warten (alt)"  # current .mo
    finally:
        monkeypatch.undo()
        locale.translations.cache_clear()


def test_pay_js_takes_every_sentence_from_the_page() -> None:
    script = (ROOT / "saleor_coinpayments" / "web" / "static" / "pay.js").read_text()
    code = "\n".join(line for line in script.splitlines() if not line.strip().startswith("//"))
    literals = re.findall(r'"([^"\n]*)"|`([^`\n]*)`', code)
    sentences = [text for pair in literals for text in pair if re.search(r"[A-Z][a-z]+,? [a-z]{2,}", text)]
    assert sentences == []
    for key in pay_words(Speaker("en")):
        assert f"words.{key}" in script or f'say("{key}"' in script, key


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("DE", "de"),
        ("DE_AT", "de"),
        ("de-CH", "de"),
        ("PT_BR", "pt_BR"),
        ("pt-PT", "pt_BR"),
        ("ZH_HANS", "zh_Hans"),
        ("ZH_HANS_CN", "zh_Hans"),
        ("zh-CN", "zh_Hans"),
        ("ZH_HANT", None),
        ("zh-TW", None),
        ("AR_EG", "ar"),
        ("EN_US", "en"),
        ("JA", "ja"),
        ("SW", None),
        ("", None),
        ("de;DROP", None),
    ],
)
def test_saleor_codes_and_browser_tags(code: str, expected: str | None) -> None:
    assert supported(code) == expected


def test_the_switch_wins_then_saleor_then_the_browser_then_english() -> None:
    assert negotiate("fr", "DE", "ja") == "fr"
    assert negotiate("xx", "DE", "ja") == "de"
    assert negotiate(None, None, "sw, ja;q=0.5, tr;q=0.8") == "tr"
    assert negotiate(None, "SW", "sw") == "en"
    assert from_accept_language("de;q=0, it") == "it"


def test_amounts_dates_and_digits_for_the_locale() -> None:
    assert Speaker("de").money(Decimal("1234.50"), "USD") == "1.234,50\xa0$"
    assert Speaker("en").money(Decimal("20.00"), "EUR") == "€20.00"
    assert Speaker("fr").coin(Decimal("0.000512340")) == "0,000512340"  # every decimal, trailing zero too
    assert Speaker("de").coin("12345.10000000") == "12.345,10000000"
    assert Speaker("ja").coin("1") == "1"
    assert len(Speaker("ar").digits()) == 10
    from datetime import UTC, datetime

    assert Speaker("de").datetime(datetime(2026, 12, 7, 14, 5, tzinfo=UTC)) == "07.12.2026, 14:05:00 UTC"
