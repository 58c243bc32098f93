"""Signed routes reject every kind of bad signature with an empty 401
(docs/reference/coinpayments.md#signing, #refused-signatures)."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest

from saleor_coinpayments.simulator import create_simulator_app
from tests.helpers.servers import serve_asgi
from tests.integration.simulator.conftest import Sim
from tests.integration.simulator.signer import CLIENT_ID, SECRET, Signer, compact, invoice_body

CREATE = "/api/v2/merchant/invoices"


def assert_empty(response: httpx.Response, status: int = 401) -> None:
    assert response.status_code == status, response.text
    assert response.content == b""


def test_correctly_signed_create_is_accepted(sim: Sim) -> None:
    assert sim.signer.create(invoice_body()).status_code == 200


def test_without_bom(sim: Sim) -> None:
    assert_empty(sim.signer.post(CREATE, invoice_body(), bom=False))


@pytest.mark.parametrize("skew", [timedelta(seconds=-75), timedelta(seconds=75)])
def test_stale_or_future_timestamp(sim: Sim, skew: timedelta) -> None:
    assert_empty(sim.signer.post(CREATE, invoice_body(), skew=skew))


def test_timestamp_within_a_minute_is_fine(sim: Sim) -> None:
    assert sim.signer.post(CREATE, invoice_body(), skew=timedelta(seconds=-40)).status_code == 200


@pytest.mark.parametrize("stamp", ["2025-03-01T02:30:00Z", "2025-03-01T02:30:00.000", "1740796200"])
def test_unparsable_timestamp(sim: Sim, stamp: str) -> None:
    assert_empty(sim.signer.post(CREATE, invoice_body(), timestamp=stamp))


def test_wrong_secret(sim: Sim) -> None:
    assert_empty(sim.signer.post(CREATE, invoice_body(), secret="not-the-secret"))


def test_unknown_client(sim: Sim) -> None:
    other = Signer(sim.base, client_id="ffffffffffffffffffffffffffffffff")
    assert_empty(other.create(invoice_body()))


def test_re_serialised_body(sim: Sim) -> None:
    """Signing compact JSON but sending pretty JSON (same data) must fail."""
    url = sim.base + CREATE
    signed = compact(invoice_body())
    sent = json.dumps(invoice_body(), indent=2).encode()
    response = httpx.post(url, content=sent, headers=sim.signer.headers("POST", url, signed))
    assert_empty(response)


def test_query_string_is_part_of_the_signature(sim: Sim) -> None:
    path = "/api/v1/merchant/invoices?status=paid&limit=10"
    assert sim.signer.get(path).status_code == 200
    url = sim.base + path
    signed_without_query = sim.signer.headers("GET", sim.base + "/api/v1/merchant/invoices")
    assert_empty(httpx.get(url, headers=signed_without_query))


def test_lower_case_method_in_signature(sim: Sim) -> None:
    url = sim.base + "/api/v1/merchant/invoices"
    headers = sim.signer.headers("get", url)
    assert_empty(httpx.get(url, headers=headers))


@pytest.mark.parametrize("missing", ["X-CoinPayments-Client", "X-CoinPayments-Timestamp", "X-CoinPayments-Signature"])
def test_missing_header(sim: Sim, missing: str) -> None:
    url = sim.base + "/api/v1/merchant/invoices"
    headers = sim.signer.headers("GET", url)
    del headers[missing]
    assert_empty(httpx.get(url, headers=headers))


def test_failures_are_explained_on_the_control_side(sim: Sim) -> None:
    sim.signer.post(CREATE, invoice_body(), bom=False)
    failures = sim.control("GET", "/auth-failures").json()
    assert failures[-1]["reason"] == "signature mismatch"
    assert failures[-1]["url"] == sim.base + CREATE


def test_anonymous_routes_need_no_signature(sim: Sim) -> None:
    assert httpx.get(sim.base + "/api/v1/currencies").status_code == 200
    assert httpx.get(sim.base + "/api/v2/rates?from=1&to=5057").status_code == 200
    # headers with a wrong signature are ignored there
    headers = sim.signer.headers("GET", "https://elsewhere.invalid/x", secret="wrong")
    assert httpx.get(sim.base + "/api/v1/currencies/1", headers=headers).status_code == 200


def test_public_url_is_what_clients_sign() -> None:
    public = "https://a-api.coinpayments.net"
    app = create_simulator_app({CLIENT_ID: SECRET}, public)
    with serve_asgi(app) as base:
        body = compact(invoice_body())
        # the client talks to the loopback address but signs the public URL (DNS-override style)
        headers = Signer(public).headers("POST", public + CREATE, body)
        response = httpx.post(base + CREATE, content=body, headers=headers)
        assert response.status_code == 200, response.text
        created = response.json()["invoices"][0]
        assert created["checkoutLink"].startswith(public + "/checkout/?invoice-id=")
        # signing the listening address instead is refused
        assert_empty(Signer(base).create(invoice_body()))


def test_disabled_integration_gets_401_and_missing_permission_403(sim: Sim) -> None:
    sim.control("PATCH", f"/clients/{CLIENT_ID}", {"disabled": True})
    assert_empty(sim.signer.create(invoice_body()))
    sim.control("PATCH", f"/clients/{CLIENT_ID}", {"disabled": False, "permissions": ["readInvoices"]})
    assert_empty(sim.signer.create(invoice_body()), 403)
    assert sim.signer.get("/api/v1/merchant/invoices").status_code == 200


def test_allowed_ips(sim: Sim) -> None:
    sim.control("PATCH", f"/clients/{CLIENT_ID}", {"allowedIps": ["10.0.0.0/8"]})
    assert_empty(sim.signer.get("/api/v1/merchant/invoices"))
    sim.control("PATCH", f"/clients/{CLIENT_ID}", {"allowedIps": ["127.0.0.1"]})
    assert sim.signer.get("/api/v1/merchant/invoices").status_code == 200


def test_client_webhooks_only_for_the_callers_client_id(sim: Sim) -> None:
    other = sim.control("POST", "/clients", {}).json()
    assert_empty(sim.signer.get(f"/api/v1/merchant/clients/{other['clientId']}/webhooks"), 403)
