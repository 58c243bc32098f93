"""Issue #28 "Done when": the paid pay page is a receipt the buyer can keep, printed on one page.

Chromium prints the page (`page.pdf`, print media) and the test reads the PDF's text: the shop, the
date, the fiat amount, the coin and its amount with every decimal, CoinPayments' transaction ids and
the invoice number, on one page, without the page's buttons. The same receipt is at
`/pay/<token>/receipt` later. Over- and under-paid invoices say what came in and what happens next.
"""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.tables import Payment
from tests.browser.axe_core import axe_source, violations_everywhere
from tests.browser.chromium import chromium, screenshot, script_errors
from tests.browser.test_pay_page import PHONE, _in_thread, _pay_link
from tests.integration.e2e.world import World, eventually

pytestmark = pytest.mark.browser


@pytest.fixture
def browser(world: World) -> Iterator[Any]:
    with chromium() as started:
        yield started


def _invoice_number(world: World, invoice_id: str) -> str:
    async def read() -> str:
        db = Database(world.app.settings.database_url)
        try:
            async with db.session() as session:
                ref = await session.scalar(select(Payment.our_invoice_ref).where(Payment.invoice_id == invoice_id))
                assert ref is not None
                return ref
        finally:
            await db.dispose()

    return _in_thread(lambda: asyncio.run(read()))


def _pdf_text(page: Any) -> tuple[int, str]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(page.pdf(format="A4", print_background=True)))
    return len(reader.pages), "\n".join(p.extract_text() for p in reader.pages)


def _squeezed(text: str) -> str:
    """Text without white space: a long id wrapped over two lines still reads as one."""
    return "".join(text.split())


def _field(page: Any, name: str) -> str:
    return str(page.locator(f'#receipt dd[data-field="{name}"]:visible').inner_text())


def test_the_paid_page_is_a_receipt_that_prints_on_one_page(world: World, browser: Any) -> None:
    from playwright.sync_api import expect

    link, invoice_id = _pay_link(world)
    page = browser.new_page(viewport=PHONE)
    errors = script_errors(page)
    page.goto(link)
    expect(page.locator("#receipt")).to_be_hidden()
    page.locator(".coin", has_text="BTC").first.click()
    expect(page.locator("#pay-address")).not_to_be_empty()
    world.sim.pay(invoice_id, amount="full", confirmations=2, currency="1")
    expect(page.locator("#state")).to_have_text("paid", timeout=20_000)
    expect(page.locator("#receipt")).to_be_visible()
    expect(page.locator("#receipt-title")).to_have_text("Receipt", use_inner_text=True)

    [wallet] = [w for w in world.sim.invoice(invoice_id)["payment"]["wallets"] if w["currency"] == "1"]
    coin_amount = f"{wallet['seen']} BTC"
    assert re.fullmatch(r"0\.\d{8} BTC", coin_amount), coin_amount  # every one of BTC's 8 decimals
    [transfer] = wallet["transfers"]
    number = _invoice_number(world, invoice_id)
    today = datetime.now(UTC)
    expect(page.locator("#receipt [data-list=transactions] li")).to_have_text([transfer["txid"]], timeout=20_000)
    assert _field(page, "shop") == "Default Channel"
    assert _field(page, "date").startswith(f"{today:%b} {today.day}, {today.year}, ")
    assert _field(page, "amount") == "$20.00"
    assert _field(page, "received") == "$20.00"
    assert page.locator("#receipt [data-list=coins] li").all_inner_texts() == [coin_amount]
    assert _field(page, "invoiceNumber") == number
    assert invoice_id not in page.content(), "CoinPayments' own invoice id is not the buyer's"
    assert page.locator("#receipt a", has_text="Link to this receipt").evaluate("a => a.href") == f"{link}/receipt"
    screenshot(page, "receipt-1-pay-page")

    pages, text = _pdf_text(page)
    assert pages == 1
    for shown in ("Receipt", "Default Channel", f"{today:%b} {today.day}, {today.year}", "$20.00", coin_amount, number):
        assert shown in text, shown
    assert transfer["txid"] in _squeezed(text)
    for hidden in ("Print or save", "Copy address", "Back to the shop", "Pay $20.00"):
        assert hidden not in text, hidden
    page.emulate_media(media="print")
    screenshot(page, "receipt-1-printed")  # what the PDF shows, for a look
    page.emulate_media(media="screen")

    # Later, at its own address: the same receipt, made by the server alone (no script needed).
    later = browser.new_page(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    later.goto(f"{link}/receipt")
    expect(later.locator("h1#receipt-title")).to_have_text("Receipt", use_inner_text=True)
    assert _field(later, "amount") == "$20.00"
    assert later.locator("#receipt [data-list=coins] li").all_inner_texts() == [coin_amount]
    assert later.locator("#receipt [data-list=transactions] li").all_inner_texts() == [transfer["txid"]]
    assert _field(later, "invoiceNumber") == number
    screenshot(later, "receipt-2-own-page")
    pages, text = _pdf_text(later)
    assert pages == 1
    assert coin_amount in text
    assert number in text
    assert transfer["txid"] in _squeezed(text)
    assert errors == []


def test_no_receipt_until_money_came_in(world: World) -> None:
    link, invoice_id = _pay_link(world)
    answer = httpx.get(f"{link}/receipt")
    assert answer.status_code == 404
    assert answer.text.endswith("<p>Not found.</p>")
    assert answer.headers["content-security-policy"].startswith("default-src 'none'")
    assert httpx.get(f"{world.app.base_url}/pay/{'A' * 43}/receipt").status_code == 404
    assert httpx.get(f"{world.app.base_url}/pay/nope/receipt").status_code == 404
    world.sim.pay(invoice_id, amount="full", confirmations=2, currency="1002")
    assert eventually(lambda: httpx.get(f"{link}/receipt").status_code == 200, timeout=20)


def _pay_in_ltct(world: World, browser: Any, link: str, invoice_id: str, amount: str) -> Any:
    """The buyer's phone-width page (CSP bypassed for axe) picks LTCT; then `amount` of it is paid."""
    from playwright.sync_api import expect

    page = browser.new_context(bypass_csp=True, viewport=PHONE).new_page()
    page.goto(link)
    page.locator(".coin", has_text="LTCT").click()
    expect(page.locator("#pay-address")).not_to_be_empty()
    world.sim.pay(invoice_id, amount=amount, confirmations=2, currency="1002")
    return page


def test_an_overpaid_receipt_says_the_shop_refunds_the_surplus(world: World, browser: Any) -> None:
    from playwright.sync_api import expect

    link, invoice_id = _pay_link(world)
    page = _pay_in_ltct(world, browser, link, invoice_id, "over:0.1")
    expect(page.locator("#state")).to_have_text("paid", timeout=20_000)
    expect(page.locator("#receipt .note:visible")).to_have_text(
        "You sent more than was asked. The shop will refund the surplus to you."
    )
    assert _field(page, "amount") == "$20.00"
    assert _field(page, "received") == "$22.00"
    assert _field(page, "difference") == "$2.00"
    [wallet] = world.sim.invoice(invoice_id)["payment"]["wallets"]
    assert page.locator("#receipt [data-list=coins] li").all_inner_texts() == [f"{wallet['seen']} LTCT"]
    screenshot(page, "receipt-3-overpaid")
    assert violations_everywhere(page, axe_source(), "over-paid receipt") == []


def test_an_underpaid_invoice_that_ended_says_what_came_in_and_what_next(world: World, browser: Any) -> None:
    from playwright.sync_api import expect

    link, invoice_id = _pay_link(world)
    page = _pay_in_ltct(world, browser, link, invoice_id, "partial:0.5")
    expect(page.locator("#state")).to_have_text(re.compile("payment seen"), timeout=20_000)
    world.sim.advance(3700)
    expect(page.locator("#receipt-title")).to_have_text("Payment not completed", use_inner_text=True, timeout=20_000)
    expect(page.locator("#state")).to_contain_text("expired")
    [wallet] = world.sim.invoice(invoice_id)["payment"]["wallets"]
    assert page.locator("#receipt [data-list=coins] li").all_inner_texts() == [f"{wallet['seen']} LTCT"]
    assert _field(page, "received") == "$10.00"
    expect(page.locator("#receipt .note:visible")).to_contain_text("nothing was charged")
    expect(page.locator("#receipt .note:visible")).to_contain_text("back to your refund e-mail address")
    screenshot(page, "receipt-4-underpaid-ended")
    assert violations_everywhere(page, axe_source(), "under-paid, ended") == []
    answer = httpx.get(f"{link}/receipt")
    assert answer.status_code == 200
    assert "Payment not completed" in answer.text
    assert "$10.00" in answer.text


def test_an_underpaid_invoice_coinpayments_kept_says_what_is_still_to_pay(world: World, browser: Any) -> None:
    from playwright.sync_api import expect

    world.sim.control("PATCH", f"/clients/{world.sim.client_id}", {"partialAcceptAvailable": True})
    link, invoice_id = _pay_link(world)
    page = _pay_in_ltct(world, browser, link, invoice_id, "partial:0.5")
    expect(page.locator("#state")).to_have_text(re.compile("payment seen"), timeout=20_000)
    world.sim.advance(3700)  # the payment window closes: CoinPayments accepts the part that came in
    expect(page.locator("#state")).to_have_text("paid", timeout=20_000)
    expect(page.locator("#receipt-title")).to_have_text("Receipt", use_inner_text=True)
    assert _field(page, "received") == "$10.00"
    assert _field(page, "difference") == "$10.00"
    expect(page.locator("#receipt dt:visible", has_text="Still to pay")).to_be_visible()
    expect(page.locator("#receipt .note:visible")).to_contain_text("it will ask you to pay the rest")
    screenshot(page, "receipt-5-underpaid-kept")
    assert violations_everywhere(page, axe_source(), "under-paid, kept") == []
