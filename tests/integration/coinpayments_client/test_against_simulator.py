"""Every `CoinPaymentsClient` call against the project's CoinPayments simulator, over real HTTP.

The simulator checks signatures and request shapes as strictly as docs/reference/coinpayments.md#simulator
describes, and signs its notifications; those are verified here with `verify_notification` against the exact URL
registered, so both directions of the signing scheme are proven end to end.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI, Request, Response

from saleor_coinpayments.coinpayments import errors as e
from saleor_coinpayments.coinpayments.client import CoinPaymentsClient, RecoveredInvoice
from saleor_coinpayments.coinpayments.currency_cache import CurrencyCache
from saleor_coinpayments.coinpayments.models import (
    INVOICE_EVENTS,
    CreatedInvoice,
    CreateInvoiceRequest,
    EmailDelivery,
    InvoiceStatus,
    InvoiceWebhook,
    Line,
    PaymentRequest,
    WebhookEventType,
    build_lines,
)
from saleor_coinpayments.coinpayments.ratelimit import TokenBucket
from saleor_coinpayments.coinpayments.webhooks import WebhookRejection, WebhookVerificationError, verify_notification
from saleor_coinpayments.simulator.app import create_simulator_app
from tests.helpers.servers import serve_asgi

CLIENT_ID = "5d41402abc4b2a76b9719d911017c592"
SECRET = "aW50ZWdyYXRpb24tdGVzdC1zZWNyZXQtZm9yLWNsaWVudA=="


@dataclass
class Receiver:
    """Our side of the notifications: records raw bodies and headers exactly as they arrived."""

    received: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/cp/webhook")
        async def hook(request: Request) -> Response:
            self.received.append((await request.body(), dict(request.headers)))
            return Response(status_code=200)

        return app


@dataclass
class Env:
    sim_url: str
    hook_url: str
    receiver: Receiver
    control: httpx.AsyncClient

    async def sim(self, method: str, path: str, body: Any = None) -> Any:
        response = await self.control.request(method, f"{self.sim_url}/__sim{path}", json=body)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    async def faults(self, method: str, body: Any = None) -> None:
        """Set or clear simulator faults. The faults apply before the answer is rendered, and the
        answer itself may be a 500 (the simulator's JSON encoder refuses the float fault fields)."""
        await self.control.request(method, f"{self.sim_url}/__sim/faults", json=body)


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[str, str, Receiver]]:
    receiver = Receiver()
    with (
        serve_asgi(receiver.app()) as receiver_url,
        serve_asgi(create_simulator_app({CLIENT_ID: SECRET}, tick_interval=None, webhook_retry_delay=0.05)) as sim,
    ):
        yield sim, f"{receiver_url}/cp/webhook?config=42", receiver


@pytest_asyncio.fixture
async def env(servers: tuple[str, str, Receiver]) -> AsyncIterator[Env]:
    sim_url, hook_url, receiver = servers
    receiver.received.clear()
    async with httpx.AsyncClient(timeout=20) as control:
        environment = Env(sim_url, hook_url, receiver, control)
        await environment.sim("POST", "/reset")
        yield environment


def make_client(env: Env, *, secret: str = SECRET, timeout: float = 2.0) -> CoinPaymentsClient:
    return CoinPaymentsClient(
        client_id=CLIENT_ID,
        client_secret=secret,
        base_url=env.sim_url,
        timeout_seconds=timeout,
        budget_seconds=8.0,
        backoff_seconds=0.01,
        create_lookup_delay_seconds=0.05,
        rate_limiter=TokenBucket(70),
        currency_cache=CurrencyCache(),
    )


@pytest_asyncio.fixture
async def client(env: Env) -> AsyncIterator[CoinPaymentsClient]:
    async with make_client(env) as cp:
        yield cp


async def white_label(client: CoinPaymentsClient, env: Env, our_id: str, **extra: Any) -> CreateInvoiceRequest:
    items, amount = build_lines(
        [
            Line(name="T-shirt", amount=Decimal("36.00"), quantity=2, tax=Decimal("2.88"), sku="TS-01"),
            Line(name="Mug", amount=Decimal("9.99")),
        ],
        decimals=2,
        shipping=Decimal("5.00"),
        discount=Decimal("1.00"),
    )
    return CreateInvoiceRequest(
        currency=await client.fiat_currency_id("USD"),
        invoice_id=our_id,
        items=items,
        amount=amount,
        custom_data={"transaction": our_id},
        payment=PaymentRequest(refund_email="buyer@example.com"),
        success_url="https://shop.example.com/thanks",
        cancel_url="https://shop.example.com/cancelled",
        hide_shopping_cart=True,
        webhooks=[InvoiceWebhook.for_events(env.hook_url, INVOICE_EVENTS)],
        **extra,
    )


@pytest.mark.asyncio
async def test_credentials_and_currencies(client: CoinPaymentsClient, env: Env) -> None:
    assert (await client.check_credentials()).ok
    assert await client.fiat_currency_id("usd") == "5057"
    assert await client.fiat_currency_id("EUR") == "5058"
    ltct = await client.get_currency("1002")
    assert (ltct.symbol, ltct.decimal_places, ltct.is_fiat) == ("LTCT", 8, False)
    with pytest.raises(e.CurrencyNotFoundError):
        await client.fiat_currency_id("LTCT")  # a coin, never a fiat stand-in
    async with make_client(env, secret="not-the-secret") as wrong:
        verdict = await wrong.check_credentials()
    assert (verdict.ok, verdict.code) == (False, "bad_credentials")


@pytest.mark.asyncio
async def test_white_label_invoice_lifecycle_with_signed_notifications(client: CoinPaymentsClient, env: Env) -> None:
    request = await white_label(client, env, "txn-lifecycle-1")
    created = await client.create_invoice(request)
    assert isinstance(created, CreatedInvoice)
    assert created.link.startswith("http")
    assert created.payment is not None
    assert created.payment.refund_email == "buyer@example.com"
    assert {o.currency.id for o in created.payment.payment_currencies} >= {"1002"}

    invoice = await client.get_invoice(created.id)
    assert invoice.status is InvoiceStatus.UNPAID
    assert invoice.invoice_id == "txn-lifecycle-1"
    assert invoice.amount.total == Decimal("52.87") == request.amount.total
    assert invoice.custom_data == {"transaction": "txn-lifecycle-1"}
    assert (await client.get_invoice(created.id, full_details=True)).id == created.id

    address = await client.get_payment_address(created.id, "1002")
    assert address.addresses.address
    assert address.amount_due > 0
    assert address.amount_due.as_tuple().exponent >= -8  # LTCT has 8 decimals

    status = await client.get_payment_status(created.id, "1002")
    assert status.status is InvoiceStatus.UNPAID
    assert status.payment is not None
    assert status.payment.confirmed_amount.to_decimal(8) == 0

    await env.sim("POST", f"/invoices/{created.id}/pay", {"currency": "1002", "amount": "full", "confirmations": 0})
    status = await client.get_payment_status(created.id, "1002")
    assert status.payment is not None
    assert status.payment.unconfirmed_amount.to_decimal(8) == address.amount_due
    await env.sim("POST", f"/invoices/{created.id}/confirm", {"blocks": 10})
    paid = await client.get_invoice(created.id)
    assert paid.status in (InvoiceStatus.PAID, InvoiceStatus.COMPLETED)
    assert paid.native_amount_received() == Decimal("52.87")
    await env.sim("POST", f"/invoices/{created.id}/complete")
    assert (await client.get_invoice(created.id)).status is InvoiceStatus.COMPLETED

    await env.sim("POST", "/deliveries/wait", {"timeoutSeconds": 10})
    assert env.receiver.received, "the simulator delivered no notification"
    types = []
    for body, headers in env.receiver.received:
        notification = verify_notification(
            body=body, headers=headers, registered_url=env.hook_url, client_id=CLIENT_ID, client_secret=SECRET,
            window_seconds=300,
        )  # fmt: skip
        assert notification.invoice_id == created.id
        assert notification.our_invoice_id == "txn-lifecycle-1"
        types.append(notification.type)
        with pytest.raises(WebhookVerificationError) as caught:
            verify_notification(
                body=body, headers=headers, registered_url=env.hook_url.replace("config=42", "config=43"),
                client_id=CLIENT_ID, client_secret=SECRET, window_seconds=300,
            )  # fmt: skip
        assert caught.value.reason is WebhookRejection.BAD_SIGNATURE
    assert WebhookEventType.INVOICE_CREATED in types
    assert WebhookEventType.INVOICE_COMPLETED in types
    assert WebhookEventType.UNKNOWN not in types


@pytest.mark.asyncio
async def test_sent_out_invoice_list_find_and_cancel(client: CoinPaymentsClient, env: Env) -> None:
    items, amount = build_lines([Line(name="Pro plan", amount=Decimal("49.00"))], decimals=2)
    request = CreateInvoiceRequest(
        currency="5057",
        invoice_id="INV-2025-0001",
        items=items,
        amount=amount,
        is_email_delivery=True,
        email_delivery=EmailDelivery(to="ada@example.com", cc="billing@example.com"),
        due_date=datetime(2030, 3, 15, tzinfo=UTC),
        notes_to_recipient="Thank you.",
    )
    created = await client.create_invoice(request)
    assert isinstance(created, CreatedInvoice)
    assert created.payment is None
    other = await client.create_invoice(request.model_copy(update={"invoice_id": "INV-2025-0001-B"}))

    found = await client.find_invoice_by_our_id("INV-2025-0001")
    assert found is not None
    assert found.id == created.id != other.id
    assert await client.find_invoice_by_our_id("INV-2025-0002") is None
    page = await client.list_invoices(status=InvoiceStatus.UNPAID, limit=1)
    assert len(page.items) == 1
    assert page.paging.after is not None
    rest = await client.list_invoices(status=InvoiceStatus.UNPAID, limit=1, after=page.paging.after)
    assert {page.items[0].id, rest.items[0].id} == {created.id, other.id}

    await client.cancel_invoice(created.id)
    assert (await client.get_invoice(created.id)).status is InvoiceStatus.CANCELLED
    with pytest.raises(e.CoinPaymentsError):
        await client.cancel_invoice(created.id)  # a final invoice cannot be cancelled again


@pytest.mark.asyncio
async def test_list_by_status_and_creation_window_pages_with_a_cursor(client: CoinPaymentsClient, env: Env) -> None:
    """What the sweep asks (payments/sweep.py): one status, invoices made from/to, pages of a limit."""

    async def pay(invoice_id: str) -> None:
        await env.sim("POST", f"/invoices/{invoice_id}/pay", {"currency": "1002", "amount": "full", "confirmations": 9})

    early = await client.create_invoice(await white_label(client, env, "txn-early"))
    await pay(early.id)
    await env.sim("POST", "/clock/advance", {"seconds": 600})
    window_start = datetime.fromisoformat((await env.sim("GET", "/clock"))["now"])
    later = [await client.create_invoice(await white_label(client, env, f"txn-later-{n}")) for n in range(3)]
    for created in later[:2]:
        await pay(created.id)
    # The control clock shows whole seconds: the window ends a second later to hold the last invoice.
    now = datetime.fromisoformat((await env.sim("GET", "/clock"))["now"]) + timedelta(seconds=1)

    seen: list[str] = []
    after: str | None = None
    while True:
        page = await client.list_invoices(
            status=InvoiceStatus.PAID, created_from=window_start, created_to=now, limit=1, after=after
        )
        seen += [item.id for item in page.items]
        assert all(item.status is InvoiceStatus.PAID for item in page.items)
        assert all(item.total == Decimal("52.87") for item in page.items)  # Decimal money, major units
        after = page.paging.after
        if after is None:
            break
    assert seen == [later[1].id, later[0].id]  # newest first; not the paid one made before the window
    unpaid = await client.list_invoices(status=InvoiceStatus.UNPAID, created_from=window_start, created_to=now)
    assert [item.id for item in unpaid.items] == [later[2].id]
    with pytest.raises(e.CoinPaymentsValidationError):  # a window that ends before it starts
        await client.list_invoices(created_from=now, created_to=window_start)
    with pytest.raises(ValueError, match="limit"):  # refused before anything is sent
        await client.list_invoices(limit=101)


@pytest.mark.asyncio
async def test_client_webhooks_crud(client: CoinPaymentsClient, env: Env) -> None:
    hook_id = await client.create_client_webhook(env.hook_url, INVOICE_EVENTS)
    hooks = await client.list_client_webhooks()
    assert [(h.id, h.notifications_url) for h in hooks] == [(hook_id, env.hook_url)]
    await client.update_client_webhook(hook_id, env.hook_url, [WebhookEventType.INVOICE_PAID])
    assert (await client.list_client_webhooks())[0].notifications == ["invoicePaid"]
    await client.delete_client_webhook(hook_id)
    assert await client.list_client_webhooks() == []


@pytest.mark.asyncio
async def test_validation_and_not_found_errors(client: CoinPaymentsClient, env: Env) -> None:
    request = await white_label(client, env, "txn-bad-coin")
    bad = request.model_copy(update={"currency": "999999"})
    with pytest.raises(e.CoinPaymentsValidationError) as caught:
        await client.create_invoice(bad)
    assert caught.value.problem is not None
    assert caught.value.problem.errors
    assert await client.find_invoice_by_our_id("txn-bad-coin") is None
    with pytest.raises(e.CoinPaymentsNotFoundError):
        await client.get_invoice("00000000-0000-4000-8000-000000000000")


@pytest.mark.asyncio
async def test_injected_5xx_on_get_is_retried(client: CoinPaymentsClient, env: Env) -> None:
    created = await client.create_invoice(await white_label(client, env, "txn-retry"))
    await env.faults("POST", {"failNext": 2, "failStatus": 503, "failPath": "/merchant/invoices/"})
    assert (await client.get_invoice(created.id)).invoice_id == "txn-retry"
    await env.faults("POST", {"failNext": 4, "failStatus": 500, "failPath": "/merchant/invoices/"})
    with pytest.raises(e.CoinPaymentsServerError):
        await client.get_invoice(created.id)  # 3 attempts, all failed: the retries are bounded
    assert (await client.get_invoice(created.id)).invoice_id == "txn-retry"  # 4th failure, then a success


@pytest.mark.asyncio
async def test_create_failing_with_5xx_is_looked_up_not_retried(client: CoinPaymentsClient, env: Env) -> None:
    request = await white_label(client, env, "txn-5xx")
    await env.faults("POST", {"failNext": 1, "failStatus": 502, "failPath": "/api/v2/merchant/invoices"})
    with pytest.raises(e.InvoiceCreationUncertainError) as caught:
        await client.create_invoice(request)
    assert caught.value.our_invoice_id == "txn-5xx"
    assert await client.find_invoice_by_our_id("txn-5xx") is None  # nothing was created, nothing re-sent


@pytest.mark.asyncio
async def test_create_after_a_timeout_recovers_or_stays_uncertain(env: Env) -> None:
    async with make_client(env, timeout=0.3) as slow:
        request = await white_label(slow, env, "txn-timeout")
        await env.faults("POST", {"latencySeconds": 1.0, "latencyPath": "/api/v2/merchant/invoices"})
        uncertain: e.InvoiceCreationUncertainError | None = None
        result: object = None
        try:
            result = await slow.create_invoice(request)
        except e.InvoiceCreationUncertainError as exc:
            uncertain = exc
        # A sentinel through the same delay, sent after every POST of that create: once it is
        # answered, any POST sent before it (a repeat, were there one) has been applied too.
        async with make_client(env, timeout=10.0) as patient:
            await patient.create_invoice(await white_label(patient, env, "txn-sentinel"))
        await env.faults("DELETE")
        found = await slow.find_invoice_by_our_id("txn-timeout")
    if uncertain is not None:
        assert isinstance(uncertain.cause, e.CoinPaymentsTimeoutError)
    else:
        assert isinstance(result, RecoveredInvoice)
        assert found is not None
        assert result.id == found.id
    # either way the invoice exists at most once: the POST was never repeated
    async with make_client(env) as fresh:
        page = await fresh.list_invoices(q="txn-timeout")
    assert len([i for i in page.items if i.invoice_id == "txn-timeout"]) <= 1


@pytest.mark.asyncio
async def test_rate_limit_answer_is_mapped(client: CoinPaymentsClient, env: Env) -> None:
    await env.faults("POST", {"rateLimitPerSecond": 0.001})
    try:
        with pytest.raises(e.CoinPaymentsRateLimitedError):
            await client.list_invoices(limit=1)
    finally:
        await env.faults("DELETE")


@pytest.mark.asyncio
async def test_permissions_and_disabled_integration(client: CoinPaymentsClient, env: Env) -> None:
    await env.sim("PATCH", f"/clients/{CLIENT_ID}", {"permissions": []})
    with pytest.raises(e.CoinPaymentsForbiddenError):
        await client.list_invoices(limit=1)
    await env.sim("PATCH", f"/clients/{CLIENT_ID}", {"permissions": None, "disabled": True})
    assert (await client.check_credentials()).code == "bad_credentials"
