"""Issue #28 "Done when": the pay page in each of its twelve languages, in headless Chromium.

Each checkout is created in the fake Saleor with its `languageCode`, and the buyer opens the link
with no `?lang` while the browser asks for English: the page must speak the checkout's language.
For each: `lang` and `dir` are set, no English message of the catalogs is left on a non-English page
(the switch, where each language names itself, aside), the amount is written the locale's way, the
Arabic page reads right to left without sideways scrolling, and nothing loads from another origin.
A screenshot of each is kept under artifacts/screenshots/ (pay-lang-<language>.png).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from babel.messages.pofile import read_po

from saleor_coinpayments import locale
from saleor_coinpayments.locale import LANGUAGES, Speaker
from tests.browser.chromium import chromium, screenshot, script_errors
from tests.helpers.waiting import eventually
from tests.integration.e2e.world import World

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
# The checkout's language as Saleor names it (LanguageCodeEnum).
SALEOR_CODES = {
    "en": "EN_US", "de": "DE", "fr": "FR", "es": "ES", "it": "IT", "pt_BR": "PT_BR", "pl": "PL", "nl": "NL",
    "tr": "TR", "ja": "JA", "zh_Hans": "ZH_HANS", "ar": "AR",
}  # fmt: skip
_PLACEHOLDER = re.compile(r"\{\w+\}|%\(\w+\)s")

# The receipt's text; the shop's name is data, not a message ("Default Channel").
RECEIPT_TEXT = """() => {
  const receipt = document.getElementById("receipt").cloneNode(true);
  const shop = receipt.querySelector("[data-field=shop]").textContent;
  for (const hidden of receipt.querySelectorAll("[hidden], [data-field=shop]")) hidden.remove();
  return (receipt.innerText + "\\n" + document.title).split(shop).join("");
}"""

# The page's text without the language switch (each language's own name is not a message) and
# without the shop's name (data: "Default Channel").
VISIBLE_TEXT = """() => {
  const main = document.getElementById("pay").cloneNode(true);
  const shop = main.querySelector("#shop").textContent;
  main.querySelector("nav.languages").remove();
  for (const hidden of main.querySelectorAll("[hidden], #shop")) hidden.remove();
  return (main.innerText + "\\n" + document.title).split(shop).join("");
}"""

# Where the heading's text starts and ends against its box: right to left starts at the right edge.
HEADING_SIDE = """() => {
  const heading = document.querySelector("h1");
  const range = document.createRange();
  range.selectNodeContents(heading);
  const text = range.getBoundingClientRect();
  const box = heading.getBoundingClientRect();
  return { left: text.left - box.left, right: box.right - text.right };
}"""


def english_fragments(language: str) -> list[str]:
    """The English of every message this language's catalog translates differently, cut at its
    placeholders, keeping the pieces long enough to mean something that the translation lacks."""
    with (locale.DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as file:
        catalog = read_po(file)
    pieces: list[str] = []
    for message in catalog:
        if not message.id or message.string == message.id:
            continue
        english = [piece.strip(" ():,") for piece in _PLACEHOLDER.split(str(message.id))]
        pieces += [piece for piece in english if piece not in str(message.string)]  # "confirmations" is French too
    return sorted({piece for piece in pieces if len(piece) >= 6 and re.search(r"[a-z]", piece)})


def test_english_fragments_find_english() -> None:
    fragments = english_fragments("de")
    assert "waiting for payment" in fragments
    assert "Time left to pay" in fragments


@pytest.fixture
def browser(world: World) -> Iterator[Any]:
    with chromium() as started:
        yield started


def test_the_page_speaks_the_checkouts_language(world: World, browser: Any) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport=PHONE, locale="en-US")  # the browser asks for English
    # One tab for all twelve (a new one per language was a new renderer process each time); what it
    # asked for and the errors it met are taken afresh for each language's page.
    page = context.new_page()
    errors = script_errors(page)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    for language in LANGUAGES:
        speak = Speaker(language)
        checkout = world.saleor.create_checkout(language_code=SALEOR_CODES[language])
        link = world.initialize(checkout.id).event.external_url
        assert "lang=" not in link
        page.goto("about:blank")  # the last page's script and requests end here
        errors.clear()
        asked.clear()
        page.goto(link)

        html = page.locator("html")
        expect(html).to_have_attribute("lang", speak.html_lang)
        expect(html).to_have_attribute("dir", "rtl" if language == "ar" else "ltr")
        expect(page.locator("#total")).to_have_text(speak.money(Decimal("20.00"), "USD"))
        expect(page.locator("#state")).to_have_text(speak.gettext("waiting for payment"))
        expect(page.locator("#shop")).to_have_text("Default Channel")
        page.locator(".coin", has_text="LTCT").click()
        expect(page.locator("#pay-address")).not_to_be_empty()
        expect(page.locator("#countdown")).to_contain_text(speak.gettext("Time left to pay: {time}").split("{")[0])
        send_exactly = speak.gettext("Send exactly ({symbol})").format(symbol="LTCT")
        expect(page.locator("#chosen-title")).to_have_text(send_exactly)
        expect(page.locator("#expires")).not_to_be_empty()
        coin_amount = page.locator(".coin .amount").first.inner_text()
        raw = page.locator("#pay-amount").inner_text()  # what the buyer copies into a wallet: as given
        assert re.fullmatch(r"\d+\.\d+", raw), raw
        if language in ("de", "fr", "es", "it", "pt_BR", "pl", "nl", "tr"):
            assert "," in coin_amount, (language, coin_amount)  # a decimal comma, every decimal kept
            assert "." not in coin_amount.split(" ")[0], (language, coin_amount)

        if language != "en":
            text = page.evaluate(VISIBLE_TEXT)
            left = [fragment for fragment in english_fragments(language) if fragment in text]
            assert left == [], f"{language}: English left on the page: {left}"
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), language
        side = page.evaluate(HEADING_SIDE)
        start, end = ("right", "left") if language == "ar" else ("left", "right")
        assert side[start] < 2, (language, side)  # the heading starts at its start edge…
        assert side[end] > 20, (language, side)  # …and leaves room at the other
        switch = page.locator("nav.languages a[aria-current='true']")
        expect(switch).to_have_attribute("href", f"?lang={language}")

        screenshot(page, f"pay-lang-{language}")
        foreign = [url for url in asked if not url.startswith((world.app.base_url, "data:"))]
        assert foreign == [], foreign
        assert errors == [], (language, errors)
    context.close()


def test_the_switch_changes_the_language(world: World, browser: Any) -> None:
    from playwright.sync_api import expect

    checkout = world.saleor.create_checkout(language_code="DE")
    link = world.initialize(checkout.id).event.external_url
    page = browser.new_page(viewport=PHONE)
    errors = script_errors(page)
    page.goto(link)
    expect(page.locator("#state")).to_have_text("Warten auf Zahlung")
    page.locator("nav.languages a[hreflang='ja']").click()
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.locator("#state")).to_have_text("お支払いをお待ちしています")  # the JSON speaks Japanese too
    assert page.url == f"{link}?lang=ja"
    assert errors == []


def test_the_receipt_speaks_each_language(world: World, browser: Any) -> None:
    """The receipt a buyer keeps (`/pay/<token>/receipt`), in each language: `lang` and `dir`, no
    English message left, the amounts written the locale's way."""
    from playwright.sync_api import expect

    checkout = world.saleor.create_checkout(language_code="DE")
    started = world.initialize(checkout.id)
    link, invoice_id = started.event.external_url, started.event.psp_reference
    page = browser.new_page(viewport=PHONE)
    page.goto(link)
    page.locator(".coin", has_text="LTCT").click()
    expect(page.locator("#pay-address")).not_to_be_empty()
    world.sim.pay(invoice_id, amount="full", confirmations=2, currency="1002")
    expect(page.locator("#state")).to_have_text("bezahlt", timeout=20_000)
    expect(page.locator("#receipt-title")).to_have_text("Zahlungsbeleg", use_inner_text=True)
    eventually(lambda: page.request.get(f"{link}/receipt").status == 200, what="the receipt")
    for language in LANGUAGES:
        speak = Speaker(language)
        page.goto(f"{link}/receipt?lang={language}")
        expect(page.locator("html")).to_have_attribute("lang", speak.html_lang)
        expect(page.locator("html")).to_have_attribute("dir", "rtl" if language == "ar" else "ltr")
        expect(page.locator("[data-field=amount]")).to_have_text(speak.money(Decimal("20.00"), "USD"))
        expect(page.locator("#receipt-title")).to_have_text(speak.gettext("Receipt"), use_inner_text=True)
        if language != "en":
            text = page.evaluate(RECEIPT_TEXT)
            left = [fragment for fragment in english_fragments(language) if fragment in text]
            assert left == [], f"{language}: English left on the receipt: {left}"
        screenshot(page, f"receipt-lang-{language}")
