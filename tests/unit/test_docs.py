"""The docs agree with the code: every setting is on the Settings page with its default, and every
citation of the CoinPayments reference in the code, the tests and the benchmarks names a section
that exists."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import SecretStr

from saleor_coinpayments.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SETTINGS_PAGE = DOCS / "operators" / "settings.md"
COINPAYMENTS_PAGE = DOCS / "reference" / "coinpayments.md"

_ROW = re.compile(r"^\| `([A-Z0-9_]+)` \| ([^|]+?) \|", re.MULTILINE)
# Defaults the code computes at start-up; the page says how, in these words.
_COMPUTED_DEFAULTS = {
    "APP_PUBLIC_URL": "`http://localhost:<PORT>`",
    "DATA_DIR": "`./data`",
    "DATABASE_URL": "SQLite `DATA_DIR/app.db`",
    "SECRET_KEY": "generated into `DATA_DIR/secret_key` with a warning",
}
# Where the CoinPayments reference is cited: the app, its tests and its benchmarks.
CITING_TREES = ("saleor_coinpayments", "tests", "bench")
_CITATION = re.compile(r"coinpayments\.md#([a-z0-9-]+)((?:,\s*#[a-z0-9-]+)*)")
_ANCHOR = re.compile(r"\{#([a-z0-9-]+)\}")


def documented_settings(page: str) -> dict[str, str]:
    """Setting name → the default written in its row of the settings table."""
    return {name: default.strip() for name, default in _ROW.findall(page)}


def written_default(value: object) -> str:
    """A code default as the page writes it: `72` for 72.0, `true`, `empty` for "" or []."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if value in ("", []):
        return "empty"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"`{value}`"


def test_every_setting_is_on_the_settings_page_with_its_default() -> None:
    documented = documented_settings(SETTINGS_PAGE.read_text())
    in_code = {name.upper(): field for name, field in Settings.model_fields.items()}
    assert sorted(set(in_code) - set(documented)) == [], "settings missing from docs/operators/settings.md"
    assert sorted(set(documented) - set(in_code)) == [], "rows for settings the code does not have"
    for name, field in in_code.items():
        expected = _COMPUTED_DEFAULTS.get(name) or written_default(field.get_default(call_default_factory=True))
        assert documented[name] == expected, name


def test_the_settings_check_reads_rows_and_defaults_as_written() -> None:
    page = "| setting | default | meaning |\n| `PORT` | `8000` | x |\n| `OPERATOR_TOKEN` | empty | y |\n"
    assert documented_settings(page) == {"PORT": "`8000`", "OPERATOR_TOKEN": "empty"}
    assert [written_default(v) for v in (72.0, 0.5, True, "", SecretStr(""), [], "INFO")] == [
        "`72`",
        "`0.5`",
        "`true`",
        "empty",
        "empty",
        "empty",
        "`INFO`",
    ]


def cited_sections(text: str) -> list[str]:
    """Anchors cited as `coinpayments.md#a` or `coinpayments.md#a, #b`."""
    sections = []
    for match in _CITATION.finditer(text):
        sections.append(match.group(1))
        sections.extend(re.findall(r"#([a-z0-9-]+)", match.group(2)))
    return sections


def citing_files() -> list[Path]:
    """The source and documentation files that may cite the reference (this test file aside)."""
    return [
        path
        for tree in CITING_TREES
        for path in sorted((ROOT / tree).rglob("*"))
        if path.suffix in {".py", ".md"}
        and path != Path(__file__).resolve()
        and "node_modules" not in path.parts  # installed packages (axe-core for the browser tests)
    ]


def test_every_citation_of_the_coinpayments_reference_names_one_of_its_sections() -> None:
    anchors = set(_ANCHOR.findall(COINPAYMENTS_PAGE.read_text()))
    cited: dict[str, list[str]] = {}
    for path in citing_files():
        for section in cited_sections(path.read_text()):
            cited.setdefault(section, []).append(str(path.relative_to(ROOT)))
    assert len(cited) >= 20  # the code does cite the page
    assert {section: files for section, files in cited.items() if section not in anchors} == {}


def test_the_citation_check_reads_lists_of_sections() -> None:
    text = "(coinpayments.md#signing, #simulator) and See coinpayments.md#rate-limit. `coinpayments.md#x`"
    assert cited_sections(text) == ["signing", "simulator", "rate-limit", "x"]


def test_the_code_cites_nothing_outside_the_repository_for_coinpayments_facts() -> None:
    citing = [str(path.relative_to(ROOT)) for path in citing_files() if "API.md" in path.read_text()]
    assert citing == []
