"""Writes the storefront example's translations, `examples/storefront/messages.js`, from the catalogs.

The example is static files served from anywhere, with no server to read a catalog: its script takes
its sentences from `window.STOREFRONT_MESSAGES` (language → English → translation). `make
i18n-compile` runs this; the file is committed, and tests/unit/test_translations.py fails when it
is not what the catalogs make.

    python -m saleor_coinpayments.locale.storefront_js examples/storefront
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from saleor_coinpayments.locale import DEFAULT, DIR, DOMAIN, LANGUAGES

SCRIPT = "storefront.js"
OUTPUT = "messages.js"


def script_messages(folder: Path) -> list[str]:
    """The messages the example's script marks with `_("…")`."""
    found = extract_from_file("javascript", str(folder / SCRIPT))
    return sorted({message for _line, message, _comments, _context in found if isinstance(message, str) and message})


def render(folder: Path) -> str:
    wanted = script_messages(folder)
    translated: dict[str, dict[str, str]] = {}
    for language in LANGUAGES:
        if language == DEFAULT:
            continue
        with (DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as file:
            catalog = read_po(file)
        translated[language] = {
            message: str(catalog[message].string)
            for message in wanted
            if catalog.get(message) is not None and catalog[message].string
        }
    body = json.dumps(translated, ensure_ascii=False, indent=1, sort_keys=True)
    return (
        "// The storefront example's sentences in each language, written from the app's catalogs\n"
        "// (saleor_coinpayments/locale) by `make i18n-compile`: do not edit.\n"
        f"window.STOREFRONT_MESSAGES = {body};\n"
    )


def main(argv: list[str]) -> int:
    folder = Path(argv[0]) if argv else Path("examples/storefront")
    (folder / OUTPUT).write_text(render(folder), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
