"""The fake Saleor itself: install, transport, payloads and Saleor's rules, over real HTTP."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from saleor_coinpayments.money import parse_json
from saleor_coinpayments.saleor.schema import load_document
from saleor_coinpayments.saleor.signature import UnknownKeyError, verify_webhook_signature
from tests import shared_refs
from tests.fakes.saleor import FakeSaleor, InstallError
from tests.helpers.servers import serve_asgi
from tests.integration.fake_saleor.probe_app import IDENTIFIER, ProbeState, Reply, create_probe_app

Installed = tuple[FakeSaleor, ProbeState, Any]
ACTION_REQUIRED = {"result": "CHARGE_ACTION_REQUIRED", "pspReference": "INV-1", "amount": "20.00"}


def _report(saleor: FakeSaleor, token: str | None, transaction_id: str, **variables: Any) -> dict[str, Any]:
    body = saleor.graphql(load_document("transaction_event_report"), {"id": transaction_id, **variables}, token=token)
    return dict(body)


def _initialized(installed: Installed, reply: dict[str, Any] | None = None) -> tuple[Any, Any]:
    saleor, probe, app = installed
    checkout = saleor.create_checkout()
    probe.script("transaction_initialize_session", Reply(reply or ACTION_REQUIRED))
    result = saleor.transaction_initialize(checkout.id, gateway=app.identifier)
    return checkout, result


# --- install and transport -------------------------------------------------------------------


def test_install_registers_like_saleor(installed: Installed) -> None:
    saleor, probe, app = installed
    assert app.identifier == IDENTIFIER
    assert probe.token == app.token
    assert probe.app_id == app.id
    assert probe.jwks == saleor.jwks()
    headers = probe.register_headers
    assert headers["saleor-api-url"] == saleor.api_url
    assert saleor.api_url.endswith("/graphql/")
    assert headers["saleor-domain"] == headers["x-saleor-domain"] == saleor.domain
    assert headers["saleor-schema-version"] == saleor.schema_version
    assert {w.name for w in app.webhooks} >= {"transaction_initialize_session", "invoice_requested"}
    assert next(w for w in app.webhooks if w.name == "invoice_requested").async_events == ["INVOICE_REQUESTED"]


def test_failed_register_removes_the_app(fake_saleor: FakeSaleor) -> None:
    state = ProbeState()
    broken = create_probe_app(state)
    with serve_asgi(broken) as base:
        # a token the app cannot prove: make `{ app { id } }` fail by deactivating after creation
        original = fake_saleor.model.app_by_token
        fake_saleor.model.app_by_token = lambda token: None  # type: ignore[method-assign]
        with pytest.raises(InstallError, match="no app id"):
            fake_saleor.install_app(f"{base}/api/manifest")
        fake_saleor.model.app_by_token = original  # type: ignore[method-assign]
        assert fake_saleor.model.apps == []


def test_manifest_with_an_invalid_query_is_refused(fake_saleor: FakeSaleor) -> None:
    from fastapi import FastAPI

    bad = FastAPI()

    @bad.get("/manifest")
    async def manifest() -> dict[str, Any]:
        query = "subscription { event { ... on TransactionInitializeSession { nope } } }"
        hook = {
            "name": "x",
            "syncEvents": ["TRANSACTION_INITIALIZE_SESSION"],
            "query": query,
            "targetUrl": "http://x/y",
        }
        return {"id": "bad.app", "version": "1", "name": "Bad", "permissions": ["HANDLE_PAYMENTS"], "webhooks": [hook]}

    with serve_asgi(bad) as base, pytest.raises(InstallError, match="nope"):
        fake_saleor.install_app(f"{base}/manifest")
    assert fake_saleor.model.apps == []


def test_jwks_and_graphql_over_http(installed: Installed) -> None:
    saleor, _probe, app = installed
    jwks = httpx.get(saleor.base_url + "/.well-known/jwks.json").json()
    assert jwks["keys"][0]["kid"] == saleor.key.kid
    ok = httpx.post(
        saleor.api_url, json={"query": load_document("app_id")}, headers={"Authorization": f"Bearer {app.token}"}
    )
    assert ok.json() == {"data": {"app": {"id": app.id}}}
    anonymous = httpx.post(saleor.api_url, json={"query": load_document("app_id")}).json()
    assert anonymous["data"] == {"app": None}
    assert anonymous["errors"][0]["extensions"]["exception"]["code"] == "PermissionDenied"
    invalid = httpx.post(saleor.api_url, json={"query": "query { app { id name } }"})
    assert invalid.status_code == 400
    assert "name" in invalid.json()["errors"][0]["message"]


def test_webhook_headers_and_signature_match_a_real_capture(installed: Installed) -> None:
    saleor, probe, _app = installed
    _initialized(installed)
    received = probe.of("transaction_initialize_session")[-1]
    assert received.verified
    capture = shared_refs.load_capture("004-POST-transaction_initialize_session")
    real_names = {k.lower() for k, _ in capture["headers"]} - {
        "accept-encoding",
        "accept",
        "connection",
        "content-length",
        "host",
    }
    ours = {k.lower() for k in received.headers} - {"accept-encoding", "accept", "connection", "content-length", "host"}
    assert ours == real_names
    assert received.headers["saleor-event"] == "transaction_initialize_session"
    assert received.headers["user-agent"] == f"Saleor/{saleor.schema_version}"
    assert received.headers["saleor-signature"] == received.headers["x-saleor-signature"]
    assert "saleor-schema-version" not in received.headers
    verify_webhook_signature(received.body, received.headers["saleor-signature"], saleor.jwks())


def _shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value[:1]]
    return type(value).__name__


def _compare_shapes(ours: Any, real: Any, path: str = "") -> int:
    """Leaves compared; fails on a type mismatch where both payloads have the field."""
    if isinstance(ours, dict):
        assert isinstance(real, dict), path
        return sum(
            _compare_shapes(value, real[key], f"{path}.{key}")
            for key, value in ours.items()
            if key in real and real[key] != "NoneType" and value != "NoneType"
        )
    if isinstance(ours, list):
        assert isinstance(real, list), path
        return _compare_shapes(ours[0], real[0], f"{path}[]") if ours and real else 0
    assert ours == real, f"{path}: {ours} here, {real} in Saleor"
    return 1


def test_initialize_payload_has_the_real_shape(installed: Installed) -> None:
    """Every field of our payload sits where Saleor put it in capture 004, with the same JSON type."""
    _saleor, probe, _app = installed
    _initialized(installed)
    body = probe.of("transaction_initialize_session")[-1].body
    capture = shared_refs.load_capture("004-POST-transaction_initialize_session")
    ours, real = parse_json(body), parse_json(capture["body_raw"])
    assert set(ours) <= set(real)  # every top-level field is one Saleor sent
    assert _compare_shapes(_shape(ours), _shape(real)) >= 40
    assert list(ours)[:2] == ["issuedAt", "version"]
    assert '"amount": 20.0' in body.decode()  # money as JSON numbers, Saleor's separators
    assert ours["action"] == {"amount": Decimal("20.0"), "currency": "USD", "actionType": "CHARGE"}
    assert ours["recipient"]["id"] == installed[2].id
    assert ours["merchantReference"] == ours["transaction"]["id"]
    assert ours["transaction"]["pspReference"] == ""


def test_key_rotation_changes_the_kid(installed: Installed) -> None:
    saleor, probe, _app = installed
    old_jwks = saleor.jwks()
    new_kid = saleor.rotate_key()
    assert saleor.jwks()["keys"][0]["kid"] == new_kid != old_jwks["keys"][0]["kid"]
    delivery = saleor.send_webhook("transaction_initialize_session", b'{"x": 1}')
    with pytest.raises(UnknownKeyError):
        verify_webhook_signature(delivery.body, delivery.headers["Saleor-Signature"], old_jwks)
    verify_webhook_signature(delivery.body, delivery.headers["Saleor-Signature"], saleor.jwks())
    assert probe.received[-1].verified is False  # the probe still holds the old JWKS


def test_send_webhook_with_a_tampered_body(installed: Installed) -> None:
    saleor, probe, _app = installed
    signature = saleor.sign(b'{"amount": 20.0}')
    saleor.send_webhook("transaction_initialize_session", b'{"amount": 21.0}', signature=signature)
    assert probe.received[-1].verified is False
    assert probe.received[-1].problem == "bad_signature"


# --- session webhooks: Saleor's rules ------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(status=500, body={"x": 1}), "Failed to delivery request."),
        (Reply(raw=b"not json"), "Failed to delivery request."),
        (Reply({"result": "NOT_A_RESULT", "amount": 20}), "Missing or invalid value for `result`: NOT_A_RESULT."),
        (Reply({**ACTION_REQUIRED, "externalUrl": ""}), "Input should be a valid URL, input is empty"),
        (Reply({**ACTION_REQUIRED, "amount": "abc"}), "Incorrect value (abc) for field: amount."),
        (Reply({"result": "CHARGE_SUCCESS", "amount": "20.00"}), "pspReference"),
    ],
)
def test_bad_answers_become_charge_failure(installed: Installed, reply: Reply, message: str) -> None:
    saleor, probe, app = installed
    checkout = saleor.create_checkout()
    probe.script("transaction_initialize_session", reply)
    result = saleor.transaction_initialize(checkout.id, gateway=app.identifier)
    assert result.event is not None
    assert result.event.type == "CHARGE_FAILURE"
    assert message in result.event.message
    assert result.event.include_in_calculations is False
    assert result.transaction is not None
    assert result.transaction.psp_reference == ""
    # the session stays open: process still reaches the app
    probe.script("transaction_process_session", Reply(ACTION_REQUIRED))
    processed = saleor.transaction_process(result.transaction.id)
    assert processed.delivery is not None
    assert processed.event is not None
    assert processed.event.type == "CHARGE_ACTION_REQUIRED"


def test_timeout_is_a_failure(installed: Installed) -> None:
    saleor, probe, app = installed
    saleor.webhook_timeout = 0.3
    checkout = saleor.create_checkout()
    probe.script("transaction_initialize_session", Reply(ACTION_REQUIRED, delay=1.0))
    result = saleor.transaction_initialize(checkout.id, gateway=app.identifier)
    assert result.event is not None
    assert result.event.type == "CHARGE_FAILURE"
    assert result.delivery is not None
    assert result.delivery.error is not None


def test_process_does_not_call_the_app_after_a_counted_result(installed: Installed) -> None:
    saleor, probe, _app = installed
    _checkout, result = _initialized(installed, {"result": "CHARGE_SUCCESS", "pspReference": "P", "amount": "20.00"})
    sent = len(probe.received)
    processed = saleor.transaction_process(result.transaction.id)
    assert len(probe.received) == sent
    assert processed.event is not None
    assert processed.event.type == "CHARGE_SUCCESS"


def test_idempotency_key_reuse(installed: Installed) -> None:
    saleor, probe, app = installed
    checkout = saleor.create_checkout()
    probe.script("transaction_initialize_session", Reply(ACTION_REQUIRED), Reply(ACTION_REQUIRED))
    first = saleor.transaction_initialize(checkout.id, gateway=app.identifier, idempotency_key="k1")
    again = saleor.transaction_initialize(checkout.id, gateway=app.identifier, idempotency_key="k1")
    assert first.transaction is again.transaction
    assert len(probe.of("transaction_initialize_session")) == 2  # the webhook is sent again
    bodies = [parse_json(r.body) for r in probe.of("transaction_initialize_session")]
    assert bodies[0]["idempotencyKey"] == bodies[1]["idempotencyKey"] == "k1"
    other = saleor.transaction_initialize(checkout.id, gateway=app.identifier, idempotency_key="k1", amount="5")
    assert other.errors[0]["code"] == "UNIQUE"


def test_payment_gateway_initialize_needs_a_data_key(installed: Installed) -> None:
    saleor, probe, app = installed
    checkout = saleor.create_checkout()
    probe.script("payment_gateway_initialize_session", Reply({"data": {"ok": True}}), Reply({}))
    (good,) = saleor.payment_gateway_initialize(checkout.id)
    assert good.id == app.identifier
    assert good.data == {"ok": True}
    assert good.errors == []
    (bad,) = saleor.payment_gateway_initialize(checkout.id)
    assert bad.errors[0]["code"] == "INVALID"
    body = parse_json(probe.of("payment_gateway_initialize_session")[0].body)
    assert body["amount"] == Decimal("20.0")
    assert body["sourceObject"]["__typename"] == "Checkout"


# --- B6, B8, B9: orders, permissions ---------------------------------------------------------


def test_order_flows_b6_b8(installed: Installed) -> None:
    saleor, probe, app = installed
    order = saleor.create_order()
    created = saleor.graphql(
        load_document("transaction_create"),
        {
            "id": order.id,
            "transaction": {"name": "CoinPayments", "pspReference": "INV-O", "availableActions": []},
            "transactionEvent": {"pspReference": "INV-O", "message": "Invoice sent"},
        },
        token=app.token,
    )["data"]["transactionCreate"]
    assert created["errors"] == []
    transaction_id = created["transaction"]["id"]
    events = saleor.transaction(transaction_id).events
    assert [(e.type, e.amount_value) for e in events] == [("INFO", Decimal("0.00"))]
    report = _report(saleor, app.token, transaction_id, type="CHARGE_SUCCESS", pspReference="INV-O", amount="20.00")
    assert report["data"]["transactionEventReport"]["errors"] == []
    state = saleor.order(order.id)
    assert (state.charge_status, state.is_paid, state.payment_status, state.status) == (
        "FULL",
        True,
        "FULLY_CHARGED",
        "UNFULFILLED",
    )
    probe.script("transaction_initialize_session", Reply(ACTION_REQUIRED))
    saleor.transaction_initialize(order.id, gateway=app.identifier)
    body = parse_json(probe.of("transaction_initialize_session")[-1].body)
    assert body["action"]["amount"] == Decimal("0.0")  # B8: a fully paid order still asks, for 0
    assert body["sourceObject"]["__typename"] == "Order"
    assert body["sourceObject"]["number"] == order.number


def test_permissions_b9(installed: Installed) -> None:
    saleor, _probe, app = installed
    _checkout, result = _initialized(installed)
    other = saleor.model.apps[0].__class__(
        pk=99, identifier="other.app", name="Other", token="other-token", permissions={"HANDLE_PAYMENTS"}
    )
    saleor.model.apps.append(other)
    denied = _report(saleor, other.token, result.transaction.id, type="INFO", pspReference="INV-1")
    assert denied["data"] == {"transactionEventReport": None}
    assert denied["errors"][0]["message"].endswith("OWNER, HANDLE_PAYMENTS")
    anonymous = _report(saleor, None, result.transaction.id, type="INFO", pspReference="INV-1")
    assert anonymous["errors"][0]["message"].endswith("permissions: HANDLE_PAYMENTS")
    # another HANDLE_PAYMENTS app may read the transaction (B9)
    read = saleor.graphql(load_document("transaction"), {"id": result.transaction.id}, token=other.token)
    assert read["data"]["transaction"]["pspReference"] == "INV-1"


def test_invoice_flow_b7(installed: Installed) -> None:
    saleor, probe, app = installed
    order = saleor.create_order(discount="2.00", shipping="5.00")
    probe.script("invoice_requested", Reply({}))
    invoice = saleor.request_invoice(order.id)
    body = parse_json(probe.of("invoice_requested")[-1].body)
    assert body["invoice"] == {"id": invoice.id, "number": None, "status": "PENDING", "url": None}
    assert body["order"]["total"]["gross"]["amount"] == Decimal("23.0")
    assert body["order"]["undiscountedTotal"]["gross"]["amount"] == Decimal("25.0")
    variables = {"id": invoice.id, "input": {"number": "CP-1", "url": "https://pay.example.com/i/1"}}
    app.permissions.discard("MANAGE_ORDERS")
    denied = saleor.graphql(load_document("invoice_update"), variables, token=app.token)
    assert denied["errors"][0]["message"].endswith("MANAGE_ORDERS")
    app.permissions.add("MANAGE_ORDERS")
    done = saleor.graphql(load_document("invoice_update"), variables, token=app.token)["data"]["invoiceUpdate"]
    assert done["invoice"]["status"] == "SUCCESS"
    assert done["invoice"]["number"] == "CP-1"


# --- action webhooks ---------------------------------------------------------------------------


def test_refund_async_ack_then_success(installed: Installed) -> None:
    saleor, probe, app = installed
    _checkout, result = _initialized(installed, {"result": "CHARGE_SUCCESS", "pspReference": "P", "amount": "20.00"})
    probe.script("transaction_refund_requested", Reply({"pspReference": "RF-1"}))
    action = saleor.request_action(result.transaction.id, "REFUND", "5.00")
    assert action.event is None
    assert result.transaction.amounts["refund_pending"] == Decimal("5.00")
    assert result.transaction.amounts["charged"] == Decimal("15.00")
    body = parse_json(probe.of("transaction_refund_requested")[-1].body)
    assert body["action"] == {"actionType": "REFUND", "amount": Decimal("5.0"), "currency": "USD"}
    done = _report(saleor, app.token, result.transaction.id, type="REFUND_SUCCESS", pspReference="RF-1", amount="5.00")
    assert done["data"]["transactionEventReport"]["errors"] == []
    assert result.transaction.amounts["refunded"] == Decimal("5.00")
    assert result.transaction.amounts["refund_pending"] == Decimal("0")


def test_action_5xx_is_retried_with_an_empty_body(installed: Installed) -> None:
    saleor, probe, _app = installed
    _checkout, result = _initialized(installed, {"result": "CHARGE_SUCCESS", "pspReference": "P", "amount": "20.00"})
    probe.script("transaction_refund_requested", *[Reply(status=500, body={}) for _ in range(6)])
    action = saleor.request_action(result.transaction.id, "REFUND")
    assert [d.attempt for d in action.deliveries] == [1, 2, 3, 4, 5, 6]
    assert [len(d.body) > 0 for d in action.deliveries] == [True, False, False, False, False, False]
    assert all(r.verified for r in probe.of("transaction_refund_requested"))
    assert action.event is not None
    assert (action.event.type, action.event.message) == ("REFUND_FAILURE", "Failed to delivery request.")
    probe.script("transaction_refund_requested", Reply(status=400, body={}))
    again = saleor.request_action(result.transaction.id, "REFUND")
    assert len(again.deliveries) == 1  # 4xx: no retry


def test_refund_sync_answers(installed: Installed) -> None:
    saleor, probe, _app = installed
    _checkout, result = _initialized(installed, {"result": "CHARGE_SUCCESS", "pspReference": "P", "amount": "20.00"})
    probe.script(
        "transaction_refund_requested",
        Reply({"result": "REFUND_FAILURE", "message": "Crypto refunds are manual"}),
        Reply({"result": "REFUND_REQUEST", "pspReference": "RF"}),
        Reply({"result": "REFUND_SUCCESS", "pspReference": "RF-2", "amount": "4.00"}),
    )
    failed = saleor.request_action(result.transaction.id, "REFUND", "5")
    assert failed.event is not None
    assert failed.event.type == "REFUND_FAILURE"
    refused = saleor.request_action(result.transaction.id, "REFUND", "5")
    assert refused.event is not None
    assert "Missing or invalid value for `result`: REFUND_REQUEST" in refused.event.message
    ok = saleor.request_action(result.transaction.id, "REFUND", "4")
    assert ok.event is not None
    assert ok.event.type == "REFUND_SUCCESS"
    assert result.transaction.amounts["refunded"] == Decimal("4.00")
    assert json.loads(probe.of("transaction_refund_requested")[0].body)["transaction"]["pspReference"] == "P"
