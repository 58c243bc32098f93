"""Issue #28 item 4: which configuration names the pay page may show (a name staff chose, never the
channel slug `config set` takes when no --name is given)."""

from __future__ import annotations

from saleor_coinpayments.configuration.service import name_is_chosen
from saleor_coinpayments.payments.checkout.pay_link import shop_name
from saleor_coinpayments.store.configurations import ConfigurationRecord


def record(name: str, chosen: bool) -> ConfigurationRecord:
    return ConfigurationRecord(
        id="c1", installation_id="i1", name=name, client_id="x", client_secret="y", api_url="https://a",
        accepted_coins=[], client_webhook_id=None, channels=[], name_chosen=chosen,
    )  # fmt: skip


def test_the_cli_without_a_name_is_not_a_choice() -> None:
    assert name_is_chosen(False, "default-channel", None) is False
    assert name_is_chosen(False, "default-channel", record("default-channel", False)) is False


def test_a_name_given_on_purpose_is_a_choice() -> None:
    assert name_is_chosen(True, "Acme", None) is True  # --name
    assert name_is_chosen(True, "default-channel", record("default-channel", False)) is True  # --name, same text
    assert name_is_chosen(None, "Main shop", None) is True  # the Dashboard's form, a new configuration
    assert name_is_chosen(None, "Main shop", record("default-channel", False)) is True  # renamed on the page


def test_an_unchanged_name_keeps_its_standing() -> None:
    assert name_is_chosen(None, "default-channel", record("default-channel", False)) is False  # saved as it was
    assert name_is_chosen(False, "Acme", record("Acme", True)) is True  # the CLI's default takes nothing away


def test_the_page_names_the_shop() -> None:
    assert shop_name(record("default-channel", False), "Acme Store") == "Acme Store"
    assert shop_name(record("default-channel", False), None) == ""  # never the slug
    assert shop_name(record("Acme Crypto", True), "Default Channel") == "Acme Crypto"
