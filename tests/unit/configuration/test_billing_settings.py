"""Sent-out invoice settings of a configuration (issue 11): on/off, due days, reminder offsets."""

from __future__ import annotations

import pytest

from saleor_coinpayments.configuration import billing as b
from saleor_coinpayments.configuration import validation as v
from saleor_coinpayments.store.configurations import BillingSettings

CLIENT_ID = "dc6a16e545c34187ba21a9edbbe484a5"
SECRET = "9ZFHcnGMxawADeXRfDtNkQDCjFUK5998oOMhl51QvzM="


def _validate(**billing: object) -> v.ValidConfiguration | v.Invalid:
    data = v.ConfigurationInput(name="Shop", client_id=CLIENT_ID, client_secret=SECRET, **billing)  # type: ignore[arg-type]
    return v.validate_configuration(data, creating=True, default_api_url="https://a-api.coinpayments.net")


def test_nothing_given_keeps_every_setting() -> None:
    valid = _validate()
    assert isinstance(valid, v.ValidConfiguration)
    assert valid.billing == BillingSettings(None, None, None)


@pytest.mark.parametrize(("typed", "expected"), [("on", True), ("OFF", False), (True, True), ("yes", True)])
def test_switch(typed: object, expected: bool) -> None:
    valid = _validate(invoice_new_orders=typed)
    assert isinstance(valid, v.ValidConfiguration)
    assert valid.billing.invoice_new_orders is expected


def test_reminders_are_sorted_signed_days_without_repeats() -> None:
    valid = _validate(invoice_reminders="+3, -3,0 0", invoice_due_days="14")
    assert isinstance(valid, v.ValidConfiguration)
    assert valid.billing == BillingSettings(None, 14, (-3, 0, 3))
    assert b.check_reminders([]) == ()
    assert b.check_reminders(["-1", 2]) == (-1, 2)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("invoice_new_orders", "maybe"),
        ("invoice_due_days", "0"),
        ("invoice_due_days", "366"),
        ("invoice_due_days", "7.5"),
        ("invoice_due_days", True),
        ("invoice_reminders", "-3,soon"),
        ("invoice_reminders", "1000"),
        ("invoice_reminders", ",".join(str(i) for i in range(11))),
        ("invoice_reminders", [True]),
    ],
)
def test_bad_values_are_refused_with_every_other_field_kept_apart(field: str, value: object) -> None:
    invalid = _validate(**{field: value})
    assert isinstance(invalid, v.Invalid)
    assert list(invalid.errors) == [field]


def test_json_body_types_are_checked() -> None:
    body = {"name": "Shop", "client_id": CLIENT_ID, "invoice_new_orders": 3, "invoice_reminders": {"a": 1}}
    parsed = v.input_from_mapping(body)
    assert isinstance(parsed, v.Invalid)
    assert set(parsed.errors) == {"invoice_new_orders", "invoice_reminders"}
    ok = v.input_from_mapping(
        {"name": "Shop", "client_id": CLIENT_ID, "invoice_new_orders": True, "invoice_reminders": [-3, "0"]}
    )
    assert isinstance(ok, v.ConfigurationInput)
    assert (ok.invoice_new_orders, ok.invoice_reminders) == (True, [-3, "0"])
