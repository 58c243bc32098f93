"""`CoinPaymentsClient` over real HTTP against a scripted fake that checks every signature itself."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal

import pytest
import pytest_asyncio

from saleor_coinpayments.coinpayments import errors as e
from saleor_coinpayments.coinpayments.client import CoinPaymentsClient, RecoveredInvoice
from saleor_coinpayments.coinpayments.currency_cache import CurrencyCache
from saleor_coinpayments.coinpayments.models import (
    INVOICE_EVENTS,
    CreatedInvoice,
    CreateInvoiceRequest,
    InvoiceStatus,
    Line,
    PaymentRequest,
    build_lines,
)
from saleor_coinpayments.coinpayments.ratelimit import TokenBucket
from tests.helpers.servers import free_port, serve_asgi

from .fake_coinpayments import CLIENT_ID, SECRET, Canned, FakeState, create_fake_app

CREATE = "/api/v2/merchant/invoices"
LIST = "/api/v1/merchant/invoices"
INVOICE = "/api/v2/merchant/invoices/7c9e6679-7425-40de-944b-e07fc1f90ae7"


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[str, FakeState]]:
    state = FakeState()
    state.reset()
    with serve_asgi(create_fake_app(state)) as url:
        yield url, state


@pytest.fixture
def state(fake: tuple[str, FakeState]) -> FakeState:
    fake[1].reset()
    return fake[1]


def make_client(base_url: str, *, secret: str = SECRET, timeout: float = 0.5) -> CoinPaymentsClient:
    return CoinPaymentsClient(
        client_id=CLIENT_ID,
        client_secret=secret,
        base_url=base_url,
        timeout_seconds=timeout,
        budget_seconds=6.0,
        max_get_attempts=3,
        backoff_seconds=0.01,
        create_lookup_delay_seconds=0.05,
        rate_limiter=TokenBucket(1000),
        currency_cache=CurrencyCache(ttl_seconds=600),
    )


@pytest_asyncio.fixture
async def client(fake: tuple[str, FakeState], state: FakeState) -> AsyncIterator[CoinPaymentsClient]:
    async with make_client(fake[0]) as cp:
        yield cp


def invoice_request(our_id: str = "ORDER-1001") -> CreateInvoiceRequest:
    items, amount = build_lines(
        [Line(name="T-shirt", amount=Decimal("36.00"), quantity=2, tax=Decimal("2.88"))],
        decimals=2,
        shipping=Decimal("5.00"),
    )
    return CreateInvoiceRequest(
        currency="5057",
        invoice_id=our_id,
        items=items,
        amount=amount,
        payment=PaymentRequest(refund_email="buyer@example.com"),
    )


# ------------------------------------------------------------------------------- happy paths


@pytest.mark.asyncio
async def test_create_invoice_sends_exactly_the_signed_bytes(client: CoinPaymentsClient, state: FakeState) -> None:
    request = invoice_request()
    created = await client.create_invoice(request)
    assert isinstance(created, CreatedInvoice)
    assert created.id == state.invoices[0]["id"]
    assert created.payment is not None
    assert created.payment.payment_currencies[0].amount == Decimal("0.00051240")
    (seen,) = state.seen
    assert seen.signature_ok
    assert seen.body == request.to_json_bytes()
    assert seen.headers["content-type"] == "application/json"
    assert json.loads(seen.body)["amount"]["total"] == "43.88"


@pytest.mark.asyncio
async def test_reads_invoice_address_status_and_cancel(client: CoinPaymentsClient, state: FakeState) -> None:
    invoice = await client.get_invoice("7c9e6679-7425-40de-944b-e07fc1f90ae7")
    assert invoice.status is InvoiceStatus.COMPLETED
    full = await client.get_invoice("7c9e6679-7425-40de-944b-e07fc1f90ae7", full_details=True)
    assert full.id == invoice.id
    address = await client.get_payment_address(invoice.id, "4:0xdac17f958d2ee523a2206206994597c13d831ec7")
    assert address.amount_due == Decimal("45.012345")
    status = await client.get_payment_status(invoice.id, "1")
    assert status.payment is not None
    assert status.payment.confirmations == 1
    await client.cancel_invoice(invoice.id)
    assert all(s.signature_ok for s in state.seen)
    assert state.seen[1].query == "include_full_details=true"
    assert state.seen[2].raw_path.endswith("/payment-currencies/4:0xdac17f958d2ee523a2206206994597c13d831ec7")
    assert state.seen[3].raw_path.endswith("/payment-currencies/1/status")
    assert (state.seen[4].method, state.seen[4].body) == ("POST", b"")


@pytest.mark.asyncio
async def test_query_strings_are_signed_as_sent(client: CoinPaymentsClient, state: FakeState) -> None:
    page = await client.list_invoices(q="ORDER 1/ä&x=y", status=InvoiceStatus.PAID, limit=5, after="abc")
    assert page.items == []
    (seen,) = state.seen
    assert seen.signature_ok
    assert "status=paid" in seen.query
    assert "limit=5" in seen.query


@pytest.mark.asyncio
async def test_find_invoice_by_our_id_is_an_exact_match(client: CoinPaymentsClient, state: FakeState) -> None:
    decoy = await client.create_invoice(invoice_request("ORDER-1001-2"))
    assert await client.find_invoice_by_our_id("ORDER-1001") is None  # `q` matched the decoy only
    mine = await client.create_invoice(invoice_request("ORDER-1001"))
    found = await client.find_invoice_by_our_id("ORDER-1001")
    assert found is not None
    assert found.id == mine.id != decoy.id


@pytest.mark.asyncio
async def test_currencies_cached_and_fiat_lookup_is_exact(client: CoinPaymentsClient, state: FakeState) -> None:
    assert await client.fiat_currency_id("usd") == "5057"
    assert (await client.get_currency("1")).decimal_places == 8
    assert state.count("GET", "/api/v1/currencies") == 1  # cached
    with pytest.raises(e.CurrencyNotFoundError):
        await client.fiat_currency_id("XYZ")  # exists, but as a crypto: never used as a fiat
    with pytest.raises(e.CurrencyNotFoundError):
        await client.fiat_currency_id("EUR")
    await client.currencies(refresh=True)
    assert state.count("GET", "/api/v1/currencies") == 2


@pytest.mark.asyncio
async def test_client_webhooks_crud(client: CoinPaymentsClient, state: FakeState) -> None:
    url = "https://app.example.com/coinpayments/webhook?config=1"
    hook_id = await client.create_client_webhook(url, INVOICE_EVENTS)
    (hook,) = await client.list_client_webhooks()
    assert (hook.id, hook.notifications_url) == (hook_id, url)
    assert hook.notifications == [event.value for event in INVOICE_EVENTS]
    await client.update_client_webhook(hook_id, url, ["invoicePaid"])
    assert (await client.list_client_webhooks())[0].notifications == ["invoicePaid"]
    await client.delete_client_webhook(hook_id)
    assert await client.list_client_webhooks() == []
    assert all(s.signature_ok for s in state.seen)


# ---------------------------------------------------------------------------- error mapping


@pytest.mark.asyncio
async def test_400_keeps_problem_details_and_is_not_retried(client: CoinPaymentsClient, state: FakeState) -> None:
    problem = {
        "type": "https://tools.ietf.org/html/rfc7231#section-6.5.1",
        "title": "One or more validation errors occurred.",
        "status": 400,
        "errors": {"Items[0].Quantity.Value": ["The field Value must be between 1 and 999999999."]},
        "traceId": "00-4bf9-00",
    }
    state.push("POST", CREATE, Canned(400, problem))
    with pytest.raises(e.CoinPaymentsValidationError) as caught:
        await client.create_invoice(invoice_request())
    assert caught.value.problem is not None
    assert caught.value.problem.errors == {
        "Items[0].Quantity.Value": ["The field Value must be between 1 and 999999999."]
    }
    assert caught.value.problem.trace_id == "00-4bf9-00"
    assert "Items[0].Quantity.Value" in caught.value.merchant_message
    assert state.count("POST", CREATE) == 1
    assert state.count("GET", LIST) == 0  # a refusal is certain: no lookup


@pytest.mark.asyncio
async def test_401_from_a_wrong_secret(fake: tuple[str, FakeState], state: FakeState) -> None:
    async with make_client(fake[0], secret="wrong-secret") as cp:
        with pytest.raises(e.CoinPaymentsAuthError) as caught:
            await cp.get_invoice("7c9e6679-7425-40de-944b-e07fc1f90ae7")
        verdict = await cp.check_credentials()
    assert state.count("GET", INVOICE) == 1  # 401 is not retried
    for text in (caught.value.message, caught.value.merchant_message):
        assert "wrong-secret" not in text
    assert "Allowed IPs" in caught.value.merchant_message
    assert "clock" in caught.value.merchant_message
    assert (verdict.ok, verdict.code) == (False, "bad_credentials")
    assert "client id" in verdict.message


@pytest.mark.asyncio
async def test_403_and_404(client: CoinPaymentsClient, state: FakeState) -> None:
    state.push("GET", LIST, Canned(403))
    verdict = await client.check_credentials()
    assert (verdict.ok, verdict.code) == (False, "forbidden")
    with pytest.raises(e.CoinPaymentsNotFoundError) as caught:
        await client.get_invoice("00000000-0000-0000-0000-000000000000")
    assert caught.value.status == 404
    assert "Invoice not found" in caught.value.message
    assert state.count("GET", "/api/v2/merchant/invoices/0000") == 1
    assert (await client.check_credentials()).ok


@pytest.mark.asyncio
async def test_get_retries_429_and_5xx_then_succeeds(client: CoinPaymentsClient, state: FakeState) -> None:
    state.push("GET", INVOICE, Canned(429, headers={"Retry-After": "0"}), Canned(503, {"title": "busy"}))
    invoice = await client.get_invoice("7c9e6679-7425-40de-944b-e07fc1f90ae7")
    assert invoice.invoice_id == "ORDER-1001"
    assert state.count("GET", INVOICE) == 3


@pytest.mark.asyncio
async def test_get_gives_up_after_bounded_attempts(client: CoinPaymentsClient, state: FakeState) -> None:
    state.push("GET", INVOICE, *(Canned(500, {"title": "boom"}) for _ in range(5)))
    with pytest.raises(e.CoinPaymentsServerError) as caught:
        await client.get_invoice("7c9e6679-7425-40de-944b-e07fc1f90ae7")
    assert caught.value.status == 500
    assert state.count("GET", INVOICE) == 3
    state.script.clear()
    state.push("GET", INVOICE, *(Canned(429) for _ in range(5)))
    with pytest.raises(e.CoinPaymentsRateLimitedError):
        await client.get_invoice("7c9e6679-7425-40de-944b-e07fc1f90ae7")
    assert state.count("GET", INVOICE) == 6


@pytest.mark.asyncio
async def test_slow_get_times_out_and_is_retried(client: CoinPaymentsClient, state: FakeState) -> None:
    state.push("GET", INVOICE, Canned(200, {}, delay=1.5))
    invoice = await client.get_invoice("7c9e6679-7425-40de-944b-e07fc1f90ae7")
    assert invoice.status is InvoiceStatus.COMPLETED
    assert state.count("GET", INVOICE) == 2
    state.push("GET", INVOICE, *(Canned(200, {}, delay=1.5) for _ in range(3)))
    with pytest.raises(e.CoinPaymentsTimeoutError) as caught:
        await client.get_invoice("7c9e6679-7425-40de-944b-e07fc1f90ae7")
    assert caught.value.sent is True
    assert state.count("GET", INVOICE) == 5


@pytest.mark.asyncio
async def test_unreadable_body_is_an_unexpected_response(client: CoinPaymentsClient, state: FakeState) -> None:
    state.push("GET", INVOICE, Canned(200, {"id": "x", "status": "paid"}))
    with pytest.raises(e.CoinPaymentsUnexpectedResponseError):
        await client.get_invoice("7c9e6679-7425-40de-944b-e07fc1f90ae7")
    state.push("GET", INVOICE, Canned(200, b"<html>"))
    with pytest.raises(e.CoinPaymentsUnexpectedResponseError):
        await client.get_invoice("7c9e6679-7425-40de-944b-e07fc1f90ae7")
    state.push("GET", INVOICE, Canned(409, {"title": "Conflict"}))
    with pytest.raises(e.CoinPaymentsUnexpectedResponseError) as caught:
        await client.get_invoice("7c9e6679-7425-40de-944b-e07fc1f90ae7")
    assert caught.value.status == 409


@pytest.mark.asyncio
async def test_secret_echoed_by_the_server_is_redacted(client: CoinPaymentsClient, state: FakeState) -> None:
    state.push("POST", CREATE, Canned(400, {"title": "bad", "detail": f"secret was {SECRET}"}))
    with pytest.raises(e.CoinPaymentsValidationError) as caught:
        await client.create_invoice(invoice_request())
    assert SECRET not in str(caught.value)
    assert SECRET not in caught.value.merchant_message
    assert caught.value.problem is not None
    assert SECRET not in caught.value.problem.model_dump_json()
    assert SECRET not in repr(client)


@pytest.mark.asyncio
async def test_unreachable_server() -> None:
    async with make_client(f"http://127.0.0.1:{free_port()}") as cp:
        with pytest.raises(e.CoinPaymentsTransportError) as caught:
            await cp.create_invoice(invoice_request())
        assert caught.value.sent is False  # refused before sending: surely not created, no lookup
        verdict = await cp.check_credentials()
    assert (verdict.ok, verdict.code) == (False, "unreachable")


# ---------------------------------------------------------------- create: never blindly retried


@pytest.mark.asyncio
async def test_create_timeout_finds_the_invoice_by_our_id(client: CoinPaymentsClient, state: FakeState) -> None:
    await client.create_invoice(invoice_request("ORDER-1001-2"))  # a decoy `q` also matches
    state.seen.clear()
    state.push("POST", CREATE, Canned(200, {}, delay=1.5, create_invoice_first=True))
    result = await client.create_invoice(invoice_request("ORDER-1001"))
    assert isinstance(result, RecoveredInvoice)
    mine = [i for i in state.invoices if i["invoiceId"] == "ORDER-1001"]
    assert result.id == mine[0]["id"]
    assert result.summary.invoice_id == "ORDER-1001"
    assert state.count("POST", CREATE) == 1  # never sent twice
    assert [s.query for s in state.seen if s.method == "GET"] == ["q=ORDER-1001&limit=100"]


@pytest.mark.asyncio
async def test_create_500_after_storing_is_recovered(client: CoinPaymentsClient, state: FakeState) -> None:
    state.push("POST", CREATE, Canned(502, None, create_invoice_first=True))
    result = await client.create_invoice(invoice_request())
    assert isinstance(result, RecoveredInvoice)
    assert result.id == state.invoices[0]["id"]
    assert state.count("POST", CREATE) == 1


@pytest.mark.asyncio
async def test_create_500_with_nothing_stored_is_uncertain(client: CoinPaymentsClient, state: FakeState) -> None:
    state.push("POST", CREATE, Canned(500, {"title": "boom"}))
    with pytest.raises(e.InvoiceCreationUncertainError) as caught:
        await client.create_invoice(invoice_request())
    assert caught.value.our_invoice_id == "ORDER-1001"
    assert isinstance(caught.value.cause, e.CoinPaymentsServerError)
    assert state.count("POST", CREATE) == 1
    assert state.count("GET", LIST) == 1


@pytest.mark.asyncio
async def test_create_timeout_and_failed_lookup_is_uncertain(client: CoinPaymentsClient, state: FakeState) -> None:
    state.push("POST", CREATE, Canned(200, {}, delay=1.5))
    state.push("GET", LIST, *(Canned(503) for _ in range(3)))
    with pytest.raises(e.InvoiceCreationUncertainError) as caught:
        await client.create_invoice(invoice_request())
    assert isinstance(caught.value.cause, e.CoinPaymentsTimeoutError)
    assert state.count("POST", CREATE) == 1
    assert state.count("GET", LIST) == 3


@pytest.mark.asyncio
async def test_create_without_our_id_cannot_be_recovered(client: CoinPaymentsClient, state: FakeState) -> None:
    state.push("POST", CREATE, Canned(500, None, create_invoice_first=True))
    request = invoice_request().model_copy(update={"invoice_id": None})
    with pytest.raises(e.InvoiceCreationUncertainError):
        await client.create_invoice(request)
    assert state.count("GET", LIST) == 0


@pytest.mark.asyncio
async def test_create_429_is_not_retried(client: CoinPaymentsClient, state: FakeState) -> None:
    state.push("POST", CREATE, Canned(429, headers={"Retry-After": "1"}))
    with pytest.raises(e.CoinPaymentsRateLimitedError) as caught:
        await client.create_invoice(invoice_request())
    assert caught.value.retry_after == 1.0
    assert state.count("POST", CREATE) == 1
    assert state.count("GET", LIST) == 0
