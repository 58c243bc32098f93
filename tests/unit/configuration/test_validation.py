"""Configuration input: every field checked, all problems reported at once, nothing raised."""

from __future__ import annotations

import pytest

from saleor_coinpayments.configuration import validation as v

DEFAULT_API = "https://a-api.coinpayments.net"
CLIENT_ID = "dc6a16e545c34187ba21a9edbbe484a5"


def _input(**overrides: object) -> v.ConfigurationInput:
    fields: dict[str, object] = {
        "name": "Main shop",
        "client_id": CLIENT_ID,
        "client_secret": "9ZFHcnGMxawADeXRfDtNkQDCjFUK5998oOMhl51QvzM=",
        "api_url": None,
        "accepted_coins": None,
        "channels": None,
    }
    fields.update(overrides)
    return v.ConfigurationInput(**fields)  # type: ignore[arg-type]


def test_valid_input_is_normalised() -> None:
    result = v.validate_configuration(
        _input(
            name="  Main   shop ",
            client_id="DC6A16E5-45C3-4187-BA21-A9EDBBE484A5",
            api_url="https://b-api.coinpayments.net/api/",
            accepted_coins="btc, ltct;USDT.ERC20 btc",
            channels=["default-channel", "eu_shop", "default-channel"],
        ),
        creating=True,
        default_api_url=DEFAULT_API,
    )
    assert isinstance(result, v.ValidConfiguration)
    assert result.name == "Main shop"
    assert result.client_id == CLIENT_ID
    assert result.api_url == "https://b-api.coinpayments.net"
    assert result.accepted_coins == ("BTC", "LTCT", "USDT.ERC20")
    assert result.channels == ("default-channel", "eu_shop")
    assert result.client_secret is not None
    assert "9ZFH" not in repr(result)


def test_default_api_url_when_none_given() -> None:
    result = v.validate_configuration(_input(), creating=True, default_api_url=DEFAULT_API)
    assert isinstance(result, v.ValidConfiguration)
    assert result.api_url == DEFAULT_API
    assert result.channels is None


def test_every_bad_field_is_reported_together() -> None:
    result = v.validate_configuration(
        _input(
            name="   ",
            client_id="not-a-client-id",
            client_secret="",
            api_url="ftp://example.com",
            accepted_coins="BTC, b@d",
            channels=["ok", "no spaces allowed"],
        ),
        creating=True,
        default_api_url=DEFAULT_API,
    )
    assert isinstance(result, v.Invalid)
    assert set(result.errors) == {"name", "client_id", "client_secret", "api_url", "accepted_coins", "channels"}
    assert "32 hexadecimal" in result.errors["client_id"]
    assert "b@d" in result.errors["accepted_coins"]
    assert "no spaces allowed" in result.errors["channels"]
    assert not result


def test_empty_secret_keeps_the_stored_one_on_update() -> None:
    result = v.validate_configuration(_input(client_secret="  "), creating=False, default_api_url=DEFAULT_API)
    assert isinstance(result, v.ValidConfiguration)
    assert result.client_secret is None


@pytest.mark.parametrize(
    "client_id",
    ["", "dc6a16e545c34187ba21a9edbbe484a", "dc6a16e545c34187ba21a9edbbe484a5ff", "zc6a16e545c34187ba21a9edbbe484a5"],
)
def test_client_id_must_be_32_hex(client_id: str) -> None:
    assert v.normalise_client_id(client_id) is None


def test_secret_with_spaces_or_control_characters_is_refused() -> None:
    for secret in ("two words", "tab\there", "x" * 513):
        result = v.validate_configuration(_input(client_secret=secret), creating=True, default_api_url=DEFAULT_API)
        assert isinstance(result, v.Invalid)
        assert set(result.errors) == {"client_secret"}


@pytest.mark.parametrize(
    "url",
    ["a-api.coinpayments.net", "https://", "https://host/?q=1", "https://user:pw@host", "javascript:alert(1)"],
)
def test_api_url_must_be_plain_http_url(url: str) -> None:
    assert isinstance(v.check_api_url(url), v.FieldError)


def test_name_length_limit() -> None:
    assert isinstance(v.check_name("x" * 121), v.FieldError)
    assert v.check_name("x" * 120) == "x" * 120


def test_channel_slug() -> None:
    assert v.check_channel_slug(" default-channel ") == "default-channel"
    assert isinstance(v.check_channel_slug(""), v.FieldError)
    assert isinstance(v.check_channel_slug("a/b"), v.FieldError)
    assert isinstance(v.check_channel_slug("x" * 256), v.FieldError)


def test_json_body_with_wrong_types_is_refused_per_field() -> None:
    result = v.input_from_mapping({"name": 5, "client_id": CLIENT_ID, "accepted_coins": [1, 2], "channels": "a, b"})
    assert isinstance(result, v.Invalid)
    assert set(result.errors) == {"name", "accepted_coins"}


def test_json_body_channels_as_text_are_split() -> None:
    result = v.input_from_mapping({"name": "n", "client_id": CLIENT_ID, "channels": "a, b"})
    assert isinstance(result, v.ConfigurationInput)
    assert list(result.channels or []) == ["a", "b"]


def test_an_overlong_api_url_is_refused_before_it_reaches_the_database() -> None:
    from saleor_coinpayments.configuration import validation

    result = validation.check_api_url("https://a-api.coinpayments.net/" + "x" * 600)
    assert isinstance(result, validation.FieldError)
    assert "longer than" in result.message
