"""Issue #9: the pay page's JSON endpoint and coin choice over HTTP (the browser test drives the page).

It reveals only this payment, refuses what is not a token with a bare 404, keeps to its rate, and
sends the headers that keep the page to itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.e2e.world import World, configure, running_world

GERMAN_SITE = "Bezahlen"  # the German catalog's word for the page's heading


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    with running_world(database_url, tmp_path, process_refresh_min_seconds=0, pay_page_requests_per_second=0.01) as w:
        configure(w.app.settings.database_url, w.saleor.api_url, w.sim, checkout_page="app")
        yield w


def test_the_status_reveals_only_this_payment_and_keeps_to_its_rate(world: World) -> None:
    checkout = world.checkout("20.00")
    started = world.initialize(checkout.id, {"successUrl": "https://shop.example.com/thanks"})
    link = started.event.external_url
    invoice_id = started.event.psp_reference
    assert link.startswith(f"{world.app.base_url}/pay/")
    polled = world.saleor.transaction_process(started.transaction.id)  # the same page on every answer
    assert polled.data["checkoutUrl"] == link
    other = world.initialize(world.checkout("5.00").id)  # one page per transaction
    assert other.event.external_url != link

    page = httpx.get(link)
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert "20.00" in page.text
    assert '<script src="/pay/assets/pay.js"' in page.text

    status = httpx.get(f"{link}/status")
    assert status.status_code == 200
    view = status.json()
    assert set(view) == {
        "shop", "amount", "amountText", "currency", "language", "state", "stateText", "expiresAt", "expiresAtText",
        "coins", "payment", "returnUrl", "now", "version", "receipt",
    }  # fmt: skip
    assert view["receipt"] is None  # nothing came in yet
    assert view["state"] == "waiting"
    assert view["stateText"] == "waiting for payment"
    assert view["language"] == "en"
    assert view["shop"] == "Default Channel"  # the channel's name in Saleor, not the slug the configuration took
    assert view["amount"] == "20.00"
    assert view["amountText"] == "$20.00"
    assert view["currency"] == "USD"
    assert {"BTC", "LTCT"} <= {coin["symbol"] for coin in view["coins"]}
    assert invoice_id not in status.text
    assert checkout.id not in status.text
    assert started.transaction.id not in status.text
    assert "checkout/?invoice-id" not in status.text  # not CoinPayments' hosted link either

    # The burst of one is used: the next request within the rate is refused, the page backs off.
    assert httpx.get(f"{link}/status").status_code == 429
    assert httpx.post(f"{link}/coin", json={"coin": "LTCT"}).status_code == 429


def test_choosing_a_coin_over_http(database_url: str, tmp_path: Path) -> None:
    with running_world(database_url, tmp_path, process_refresh_min_seconds=0) as world:
        configure(world.app.settings.database_url, world.saleor.api_url, world.sim, checkout_page="app")
        link = world.initialize(world.checkout("20.00").id).event.external_url
        refused = httpx.post(f"{link}/coin", json={"coin": "DOGE"})
        assert refused.status_code == 422
        assert refused.json()["error"]["code"] == "COIN_NOT_ACCEPTED"
        assert refused.json()["payment"] is None
        assert httpx.post(f"{link}/coin", content=b'{"coin":"LTCT"}').status_code == 415
        assert httpx.post(f"{link}/coin", json={"coin": ["LTCT"]}).status_code == 400
        chosen = httpx.post(f"{link}/coin", json={"coin": "LTCT"})
        assert chosen.status_code == 200
        assert chosen.json()["payment"]["currency"]["symbol"] == "LTCT"
        assert chosen.json()["payment"]["status"]["requiredConfirmations"] == 2


def test_a_hosted_configuration_hands_out_coinpayments_link(world: World) -> None:
    configure(world.app.settings.database_url, world.saleor.api_url, world.sim, checkout_page="hosted")
    started = world.initialize(world.checkout().id)
    assert "/pay/" not in started.event.external_url
    assert started.event.external_url.startswith(world.sim.base_url)


def test_a_checkout_in_german_opens_the_page_in_german(world: World) -> None:
    """Issue #28: the language Saleor knows for the checkout is the page's, with no `?lang`; the
    browser's own language comes second, and the page's switch (`?lang=`) wins over both."""
    checkout = world.saleor.create_checkout(language_code="DE")
    link = world.initialize(checkout.id).event.external_url
    page = httpx.get(link, headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert page.status_code == 200
    assert '<html lang="de" dir="ltr">' in page.text
    assert f"<h1>{GERMAN_SITE} " in page.text
    assert "20,00" in page.text  # the amount as German writes it
    assert page.headers["content-language"] == "de"
    status = httpx.get(f"{link}/status").json()
    assert status["stateText"] == "Warten auf Zahlung"
    assert status["amountText"] == "20,00\xa0$"
    switched = httpx.get(f"{link}?lang=ja")
    assert '<html lang="ja" dir="ltr">' in switched.text
    other = world.initialize(world.saleor.create_checkout(language_code="DE").id).event.external_url
    assert httpx.get(f"{other}/status?lang=ar").json()["stateText"] == "في انتظار الدفع"  # one request per link here

    english = world.initialize(world.checkout().id).event.external_url  # Saleor's default, EN_US
    assert '<html lang="en"' in httpx.get(english, headers={"Accept-Language": "pl"}).text


def test_the_browser_language_when_saleor_names_one_the_page_does_not_speak(world: World) -> None:
    checkout = world.saleor.create_checkout(language_code="SW")  # Swahili: not among the twelve
    link = world.initialize(checkout.id).event.external_url
    assert '<html lang="pl" dir="ltr">' in httpx.get(link, headers={"Accept-Language": "sw, pl;q=0.8"}).text
    assert '<html lang="ar" dir="rtl">' in httpx.get(link, headers={"Accept-Language": "ar-EG"}).text
    assert '<html lang="en" dir="ltr">' in httpx.get(link).text


def test_a_name_staff_chose_heads_the_page_instead_of_the_channel_name(world: World) -> None:
    """Issue #28 item 4: `config set` without --name shows Saleor's channel name; with one, that name."""
    done = world.cli(
        "config", "set", "--saleor-api-url", world.saleor.api_url, "--channel", "default-channel",
        "--name", "Acme Crypto Shop", "--client-id", world.sim.client_id, "--client-secret", world.sim.client_secret,
        "--api-url", world.sim.base_url, "--checkout-page", "app",
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    link = world.initialize(world.checkout().id).event.external_url
    assert httpx.get(f"{link}/status").json()["shop"] == "Acme Crypto Shop"
