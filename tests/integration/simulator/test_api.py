"""The API routes over HTTP: the shapes of the routes in docs/reference/coinpayments.md#endpoints, problem details,
links that open."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlsplit

import httpx
import pytest

from tests.integration.simulator.conftest import Sim
from tests.integration.simulator.signer import CLIENT_ID, compact, invoice_body, white_label


def test_invoice_link_flow_has_no_payment(sim: Sim) -> None:
    created = sim.create(invoice_body())
    assert set(created) == {"id", "link", "checkoutLink"}


def test_white_label_has_payment_but_no_hot_wallet(sim: Sim) -> None:
    created = sim.create(white_label("44.88"))
    assert "hotWallet" not in created
    payment = created["payment"]
    assert payment["refundEmail"] == "buyer@example.com"
    by_symbol = {pc["currency"]["symbol"]: pc for pc in payment["paymentCurrencies"]}
    assert by_symbol["BTC"]["amount"] == "0.00051243"
    assert by_symbol["LTCT"]["amount"] == "0.56100000"
    assert by_symbol["USDT.ERC20"]["currency"]["id"] == "4:0xdac17f958d2ee523a2206206994597c13d831ec7"
    assert "LTC" not in by_symbol  # under maintenance


def test_preset_coin_has_hot_wallet(sim: Sim) -> None:
    created = sim.create(white_label("1.45", coin="1002"))
    wallet = created["hotWallet"]
    assert wallet["currency"]["id"] == "1002"
    assert wallet["amount"] == "0.01812500"
    assert wallet["addresses"]["biP21"] == f"litecoin:{wallet['addresses']['address']}?amount=0.018125"


def test_links_are_real_urls_that_open(sim: Sim) -> None:
    created = sim.create(white_label())
    for key in ("link", "checkoutLink"):
        parts = urlsplit(created[key])
        assert parts.scheme == "http"
        assert parts.hostname == "127.0.0.1"
        assert parts.port
        page = httpx.get(created[key])
        assert page.status_code == 200
        assert "text/html" in page.headers["content-type"]
        assert "10.00" in page.text


def test_validation_problem_details_over_http(sim: Sim) -> None:
    body = invoice_body()
    body["amount"]["total"] = "10.01"
    response = sim.signer.create(body)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 400
    assert problem["type"] == "https://tools.ietf.org/html/rfc7231#section-6.5.1"
    assert problem["title"]
    assert "Amount.Total" in problem["detail"]
    assert list(problem["errors"]) == ["Amount.Total"]


def test_empty_payment_is_400(sim: Sim) -> None:
    response = sim.signer.create(invoice_body(payment={}))
    assert response.status_code == 400
    assert "Payment" in response.json()["errors"]


def test_json_body_must_be_declared_and_valid(sim: Sim) -> None:
    url = sim.base + "/api/v2/merchant/invoices"
    body = compact(invoice_body())
    headers = sim.signer.headers("POST", url, body)
    headers["Content-Type"] = "text/plain"
    assert httpx.post(url, content=body, headers=headers).status_code == 415
    broken = b'{"currency":'
    response = httpx.post(url, content=broken, headers=sim.signer.headers("POST", url, broken))
    assert response.status_code == 400


def test_duplicate_po_number(sim: Sim) -> None:
    assert sim.signer.create(invoice_body(poNumber="PO-42")).status_code == 200
    response = sim.signer.create(invoice_body(poNumber="PO-42"))
    assert response.status_code == 400
    assert "PoNumber" in response.json()["errors"]


def test_get_invoice_v2_and_v1(sim: Sim) -> None:
    created = sim.create(white_label("44.88", invoiceId="ORDER-1001"))
    v2 = sim.signer.get(f"/api/v2/merchant/invoices/{created['id']}").json()
    assert v2["status"] == "unpaid"
    assert v2["invoiceId"] == "ORDER-1001"
    assert v2["amount"] == {
        "breakdown": {"subtotal": "44.88", "shipping": "0.00", "handling": "0.00", "taxTotal": "0.00",
                      "discount": "0.00"},
        "total": "44.88",
    }  # fmt: skip
    v1 = sim.signer.get(f"/api/v1/merchant/invoices/{created['id']}").json()
    assert v1["amount"]["value"] == "4488"
    assert v1["amount"]["valueAsDecimal"] == 4488


def test_unknown_and_foreign_invoices_are_404(sim: Sim) -> None:
    missing = sim.signer.get("/api/v2/merchant/invoices/7c9e6679-7425-40de-944b-e07fc1f90ae7")
    assert missing.status_code == 404
    assert missing.json()["title"] == "Not Found"
    assert sim.signer.get("/api/v2/merchant/invoices/not-a-guid").status_code == 404
    created = sim.create(invoice_body())
    other = sim.control("POST", "/clients", {}).json()
    from tests.integration.simulator.signer import Signer

    stranger = Signer(sim.base, other["clientId"], other["clientSecret"])
    assert stranger.get(f"/api/v2/merchant/invoices/{created['id']}").status_code == 404


def test_list_with_filters_and_paging(sim: Sim) -> None:
    ids = [sim.create(invoice_body(invoiceId=f"ORDER-{n}"))["id"] for n in range(5)]
    sim.signer.post(f"/api/v1/merchant/invoices/{ids[0]}/cancel")
    first = sim.signer.get("/api/v1/merchant/invoices?limit=2").json()
    assert [i["id"] for i in first["items"]] == [ids[4], ids[3]]
    after = first["paging"]["cursors"]["after"]
    second = sim.signer.get(f"/api/v1/merchant/invoices?limit=2&after={after}").json()
    assert [i["id"] for i in second["items"]] == [ids[2], ids[1]]
    cancelled = sim.signer.get("/api/v1/merchant/invoices?status=cancelled").json()
    assert [i["id"] for i in cancelled["items"]] == [ids[0]]
    found = sim.signer.get("/api/v1/merchant/invoices?q=order-3").json()
    assert [i["id"] for i in found["items"]] == [ids[3]]
    assert sim.signer.get("/api/v1/merchant/invoices?status=bogus").status_code == 400
    assert sim.signer.get("/api/v1/merchant/invoices?limit=0").status_code == 400


def test_cancel(sim: Sim) -> None:
    created = sim.create(white_label())
    response = sim.signer.post(f"/api/v1/merchant/invoices/{created['id']}/cancel")
    assert response.status_code == 200
    assert response.content == b""
    assert sim.status(created["id"]) == "cancelled"
    again = sim.signer.post(f"/api/v1/merchant/invoices/{created['id']}/cancel")
    assert again.status_code == 400


def test_cancel_after_payment_detected_is_400(sim: Sim) -> None:
    created = sim.create(white_label(coin="1"))
    sim.pay(created["id"], amount="partial:0.5", confirmations=0)
    response = sim.signer.post(f"/api/v1/merchant/invoices/{created['id']}/cancel")
    assert response.status_code == 400
    assert sim.status(created["id"]) == "unpaid"


def test_payment_address_needs_a_payment_and_is_stable(sim: Sim) -> None:
    link_only = sim.create(invoice_body())
    assert httpx.get(f"{sim.base}/api/v1/invoices/{link_only['id']}/payment-currencies/1").status_code == 400
    created = sim.create(white_label("44.88"))
    url = f"{sim.base}/api/v1/invoices/{created['id']}/payment-currencies/1"
    first, second = httpx.get(url).json(), httpx.get(url).json()
    assert first["addresses"] == second["addresses"]
    assert first["amount"]["value"] == "51243"
    assert first["amount"]["displayValue"] == "0.00051243"
    assert Decimal(str(first["amount"]["rate"])) > 0
    token = httpx.get(
        f"{sim.base}/api/v1/invoices/{created['id']}/payment-currencies/4:0xdac17f958d2ee523a2206206994597c13d831ec7"
    ).json()
    assert token["addresses"]["biP21"] is None
    assert token["amount"]["value"] == "44880000"
    assert httpx.get(f"{sim.base}/api/v1/invoices/{created['id']}/payment-currencies/777").status_code == 404
    assert httpx.get(f"{sim.base}/api/v1/invoices/{created['id']}/payment-currencies/2").status_code == 400


def test_payment_status_tracks_confirmed_and_unconfirmed(sim: Sim) -> None:
    created = sim.create(white_label("44.88", coin="1"))
    url = f"{sim.base}/api/v1/invoices/{created['id']}/payment-currencies/1/status"
    before = httpx.get(url).json()
    assert before["status"] == "unpaid"
    assert before["payment"]["unconfirmedAmount"]["value"] == "0"
    sim.pay(created["id"], amount="full", confirmations=1)
    pending = httpx.get(url).json()
    assert pending["status"] == "pending"
    assert pending["payment"]["confirmations"] == 1
    assert pending["payment"]["unconfirmedAmount"]["value"] == "51243"
    assert pending["payment"]["confirmedAmount"]["value"] == "0"
    sim.confirm(created["id"])
    paid = httpx.get(url).json()
    assert paid["status"] == "paid"
    assert paid["payment"]["confirmedAmount"]["displayValue"] == "0.00051243"


def test_currencies_and_rates(sim: Sim) -> None:
    fiat = httpx.get(sim.base + "/api/v1/currencies?types=fiat&q=USD").json()
    assert [c["id"] for c in fiat] == ["5057"]
    assert fiat[0]["decimalPlaces"] == 2
    assert httpx.get(sim.base + "/api/v1/currencies/1002").json()["symbol"] == "LTCT"
    assert httpx.get(sim.base + "/api/v1/currencies/99999").status_code == 404
    rates = httpx.get(sim.base + "/api/v1/rates?from=1,4&to=5057").json()
    assert rates["items"][0] == {
        "baseCurrencyId": 1, "baseToken": None, "quoteCurrencyId": 5057, "quoteToken": None,
        "rate": "87584.120000000000000",
    }  # fmt: skip
    sim.control("PUT", "/rates", {"1": "50000"})
    assert httpx.get(sim.base + "/api/v2/rates?from=1&to=5057").json()["items"][0]["rate"] == "50000.000000000000000"


def test_client_webhooks_crud(sim: Sim) -> None:
    path = f"/api/v1/merchant/clients/{CLIENT_ID}/webhooks"
    hook = {"notificationsUrl": "https://merchant.example.com/cp", "notifications": ["invoicePaid"]}
    created = sim.signer.post(path, hook)
    assert created.status_code == 200
    hook_id = created.json()["id"]
    listed = sim.signer.get(path).json()["items"]
    assert listed == [{"id": hook_id, **hook, "createdFromUI": False}]
    put_url = sim.base + f"{path}/{hook_id}"
    body = compact({"notifications": ["invoicePaid", "invoiceCompleted"]})
    updated = httpx.put(put_url, content=body, headers=sim.signer.headers("PUT", put_url, body))
    assert updated.status_code == 200
    assert sim.signer.get(path).json()["items"][0]["notifications"] == ["invoicePaid", "invoiceCompleted"]
    assert sim.signer.post(path, {"notificationsUrl": "https://x.example/h", "notifications": []}).status_code == 400
    assert sim.signer.request("DELETE", f"{path}/{hook_id}").status_code == 204
    assert sim.signer.request("DELETE", f"{path}/{hook_id}").status_code == 404


@pytest.mark.parametrize("status", [500, 503])
def test_injected_server_errors(sim: Sim, status: int) -> None:
    sim.control("POST", "/faults", {"failNext": 2, "failStatus": status})
    assert sim.signer.create(invoice_body()).status_code == status
    assert httpx.get(sim.base + "/api/v1/currencies").status_code == status
    assert sim.signer.create(invoice_body()).status_code == 200


def test_injected_latency_and_rate_limit(sim: Sim) -> None:
    sim.control("POST", "/faults", {"latencySeconds": 0.3, "latencyPath": "/currencies"})
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(sim.base + "/api/v1/currencies", timeout=0.1)
    sim.control("DELETE", "/faults")
    sim.control("POST", "/faults", {"rateLimitPerSecond": 2})
    codes = [httpx.get(sim.base + "/api/v1/currencies").status_code for _ in range(6)]
    assert 429 in codes
    assert codes[0] == 200
