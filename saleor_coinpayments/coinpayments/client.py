"""`CoinPaymentsClient`: every CoinPayments call the app makes, signed, rate-limited and bounded in time.

Three rules shape this file:
- A JSON body is serialised once; those exact bytes are signed and sent (coinpayments.md#signing).
- Every call fits a time budget that leaves room inside Saleor's 18 s webhook deadline.
- Creating an invoice is never retried blindly (there is no idempotency key,
  coinpayments.md#idempotency): after an answer that leaves the outcome unknown, the invoice is
  looked up by our `invoiceId` first.
Failures are mapped once, here, into the types of `coinpayments.errors`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import structlog
from pydantic import BaseModel, SecretStr, ValidationError

from saleor_coinpayments.money import dump_json, parse_json
from saleor_coinpayments.runtime.outgoing_http import outgoing_client

from . import errors as e
from . import metrics, send_lateness
from .currency_cache import CurrencyCache, shared_currency_cache
from .models import (
    ClientWebhook,
    ClientWebhookList,
    CreatedClientWebhook,
    CreatedInvoice,
    CreateInvoiceRequest,
    CreateInvoiceResponse,
    Currency,
    CurrencyList,
    Invoice,
    InvoiceList,
    InvoiceStatus,
    InvoiceSummary,
    PaymentAddress,
    PaymentStatus,
    WebhookEventType,
)
from .ratelimit import RateLimit, limiter_for
from .signing import signed_headers

log = structlog.get_logger(__name__)

ModelT = TypeVar("ModelT", bound=BaseModel)
Sleep = Callable[[float], Awaitable[None]]


DEFAULT_BUDGET_SECONDS = 15.0
"""Whole-call budget (all attempts, backoff and lookups): Saleor waits 18 s for a sync webhook."""

DEFAULT_RATE_PER_SECOND = 70.0
"""CoinPayments' documented limit per client id, for a client built without a shared limiter."""

_MIN_ATTEMPT_SECONDS = 0.5
_LOOKUP_PAGES = 5


@dataclass(frozen=True, slots=True)
class RecoveredInvoice:
    """Create-invoice's answer was lost, but the invoice was found by our `invoiceId`.

    The summary has no `link`/`checkoutLink` (the list does not return them); the caller decides
    whether it can go on without them (e.g. read the invoice again later).
    """

    id: str
    summary: InvoiceSummary


@dataclass(frozen=True, slots=True)
class CredentialCheck:
    """Verdict for a "Test connection" button: `ok`, a stable `code`, and a message for the merchant."""

    ok: bool
    code: str
    message: str


class _Deadline:
    """Monotonic end of a call's budget."""

    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self._end - time.monotonic())


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _segment(value: str) -> str:
    """A path segment; `:` stays literal because token ids look like `4:0xdac…` (coinpayments.md#amounts)."""
    if not value or value in {".", ".."}:
        raise ValueError(f"not a usable id: {value!r}")
    return quote(value, safe=":")


def _normalise_base_url(url: str) -> str:
    url = url.strip().rstrip("/")
    # The docs call `https://a-api.coinpayments.net/api` the base while routes start with /api/v1.
    return url[: -len("/api")] if url.endswith("/api") else url


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


MAX_LIST_LIMIT = 100  # the most invoices one page of the list may hold


class CoinPaymentsClient:
    """One CoinPayments API integration (client id + secret) on one API instance.

    Everything it needs comes from the caller (it reads no settings): the API's `base_url`, the
    per-attempt `timeout_seconds`, and, unless given, a `rate_limiter` shared per client id across
    the process at `rate_per_second`. `http` may be shared across clients (connection pooling); when
    not given the client owns one and closes it in `aclose`.
    """

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: SecretStr | str,
        base_url: str,
        timeout_seconds: float,
        http: httpx.AsyncClient | None = None,
        budget_seconds: float = DEFAULT_BUDGET_SECONDS,
        max_get_attempts: int = 3,
        backoff_seconds: float = 0.25,
        create_lookup_delay_seconds: float = 0.5,
        rate_limiter: RateLimit | None = None,
        rate_per_second: float = DEFAULT_RATE_PER_SECOND,
        currency_cache: CurrencyCache | None = None,
        now: Callable[[], datetime] = _utcnow,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not client_id.strip():
            raise ValueError("client_id is required")
        self.client_id = client_id.strip()
        self._secret = client_secret if isinstance(client_secret, SecretStr) else SecretStr(client_secret)
        self.base_url = _normalise_base_url(base_url)
        self.timeout_seconds = timeout_seconds
        self.budget_seconds = budget_seconds
        self.max_get_attempts = max(1, max_get_attempts)
        self.backoff_seconds = backoff_seconds
        self.create_lookup_delay_seconds = create_lookup_delay_seconds
        self.rate_limiter: RateLimit = rate_limiter or limiter_for(self.client_id, rate_per_second)
        self._currencies = currency_cache or shared_currency_cache
        self._now = now
        self._sleep = sleep
        self._owns_http = http is None
        self._http = http or outgoing_client()

    def __repr__(self) -> str:
        return f"CoinPaymentsClient(client_id={self.client_id!r}, base_url={self.base_url!r}, secret=**********)"

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> CoinPaymentsClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # ----------------------------------------------------------------------------------- invoices

    async def create_invoice(self, request: CreateInvoiceRequest) -> CreatedInvoice | RecoveredInvoice:
        """`POST /api/v2/merchant/invoices`, once. See the module docstring for the recovery rule.

        Raises `InvoiceCreationUncertainError` when the outcome stays unknown; any other
        `CoinPaymentsError` means the invoice was surely not created.
        """
        deadline = _Deadline(self.budget_seconds)
        body = request.to_json_bytes()
        try:
            response = await self._send("POST", "/api/v2/merchant/invoices", body=body, deadline=deadline)
        except (e.CoinPaymentsTimeoutError, e.CoinPaymentsTransportError) as exc:
            if not exc.sent:
                raise
            return await self._recover_created(request, exc, deadline)
        except e.CoinPaymentsServerError as exc:
            return await self._recover_created(request, exc, deadline)
        created = self._parse(CreateInvoiceResponse, response)
        return created.invoices[0]

    async def _recover_created(
        self, request: CreateInvoiceRequest, cause: e.CoinPaymentsError, deadline: _Deadline
    ) -> RecoveredInvoice:
        our_id = request.invoice_id
        log.warning(
            "coinpayments.create_invoice.outcome_unknown",
            invoice_id=our_id,
            error=cause.code,
            status=cause.status,
        )
        if our_id is None:
            raise e.InvoiceCreationUncertainError(
                f"create invoice failed ({cause.message}) and without an invoiceId it cannot be looked up",
                our_invoice_id=None,
                cause=cause,
            ) from cause
        delay = min(self.create_lookup_delay_seconds, max(0.0, deadline.remaining() - _MIN_ATTEMPT_SECONDS))
        if delay > 0:
            await self._sleep(delay)
        try:
            found = await self._find_by_our_id(our_id, deadline)
        except e.CoinPaymentsError as lookup_error:
            raise e.InvoiceCreationUncertainError(
                f"create invoice failed ({cause.message}); the lookup by invoiceId failed too ({lookup_error.message})",
                our_invoice_id=our_id,
                cause=cause,
            ) from lookup_error
        if found is None:
            raise e.InvoiceCreationUncertainError(
                f"create invoice failed ({cause.message}); no invoice with invoiceId {our_id!r} exists yet",
                our_invoice_id=our_id,
                cause=cause,
            ) from cause
        log.info("coinpayments.create_invoice.recovered", invoice_id=our_id, coinpayments_id=found.id)
        return RecoveredInvoice(id=found.id, summary=found)

    async def get_invoice(self, invoice_id: str, *, full_details: bool = False) -> Invoice:
        """`GET /api/v2/merchant/invoices/{id}`: status, amounts and payments as they are now."""
        params = {"include_full_details": "true"} if full_details else None
        return await self._get(Invoice, f"/api/v2/merchant/invoices/{_segment(invoice_id)}", params=params)

    async def get_payment_address(self, invoice_id: str, currency_id: str) -> PaymentAddress:
        """`GET /api/v1/invoices/{id}/payment-currencies/{currency}`: deposit address and amount.

        See coinpayments.md#payment-address.
        """
        path = f"/api/v1/invoices/{_segment(invoice_id)}/payment-currencies/{_segment(currency_id)}"
        return await self._get(PaymentAddress, path)

    async def get_payment_status(self, invoice_id: str, currency_id: str) -> PaymentStatus:
        """`GET …/payment-currencies/{currency}/status`: confirmations and amounts (coinpayments.md#payment-status)."""
        path = f"/api/v1/invoices/{_segment(invoice_id)}/payment-currencies/{_segment(currency_id)}/status"
        return await self._get(PaymentStatus, path)

    async def cancel_invoice(self, invoice_id: str) -> None:
        """`POST /api/v1/merchant/invoices/{id}/cancel` (no body). Not retried: cancel twice may 400."""
        deadline = _Deadline(self.budget_seconds)
        await self._send("POST", f"/api/v1/merchant/invoices/{_segment(invoice_id)}/cancel", deadline=deadline)

    async def list_invoices(
        self,
        *,
        q: str | None = None,
        status: InvoiceStatus | None = None,
        limit: int | None = None,
        after: str | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
    ) -> InvoiceList:
        """`GET /api/v1/merchant/invoices` (coinpayments.md#list-invoices), newest first: optional
        free-text `q`, one `status`, creation time from/to (inclusive), a page of `limit` (1–100)
        after the cursor `after`."""
        return await self._list_invoices(
            _Deadline(self.budget_seconds),
            q=q,
            status=status,
            limit=limit,
            after=after,
            created_from=created_from,
            created_to=created_to,
        )

    async def _list_invoices(
        self,
        deadline: _Deadline,
        *,
        q: str | None = None,
        status: InvoiceStatus | None = None,
        limit: int | None = None,
        after: str | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
    ) -> InvoiceList:
        if limit is not None and not 1 <= limit <= MAX_LIST_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_LIST_LIMIT}, not {limit}")
        params: dict[str, str] = {}
        if q is not None:
            params["q"] = q
        if status is not None:
            params["status"] = status.value
        for name, moment in (("from", created_from), ("to", created_to)):
            if moment is not None:
                if moment.tzinfo is None:
                    raise ValueError(f"{name} must be an aware date-time")
                params[name] = moment.astimezone(UTC).isoformat()
        if limit is not None:
            params["limit"] = str(limit)
        if after is not None:
            params["after"] = after
        return await self._get(InvoiceList, "/api/v1/merchant/invoices", params=params or None, deadline=deadline)

    async def find_invoice_by_our_id(self, our_invoice_id: str) -> InvoiceSummary | None:
        """The invoice whose `invoiceId` is exactly ours (newest if several), or None.

        `q` is free text and may match other invoices, so results are filtered by exact equality.
        """
        return await self._find_by_our_id(our_invoice_id, _Deadline(self.budget_seconds))

    async def _find_by_our_id(self, our_invoice_id: str, deadline: _Deadline) -> InvoiceSummary | None:
        matches: list[InvoiceSummary] = []
        after: str | None = None
        for _ in range(_LOOKUP_PAGES):
            page = await self._list_invoices(deadline, q=our_invoice_id, limit=100, after=after)
            matches += [item for item in page.items if item.invoice_id == our_invoice_id]
            after = page.paging.after
            if not page.items or not after:
                break
        if not matches:
            return None
        if len(matches) > 1:
            log.warning("coinpayments.invoice_id.ambiguous", invoice_id=our_invoice_id, count=len(matches))
        epoch = datetime.min.replace(tzinfo=UTC)
        return max(matches, key=lambda item: item.created or epoch)

    # --------------------------------------------------------------------------------- currencies

    async def currencies(self, *, refresh: bool = False) -> tuple[Currency, ...]:
        """`GET /api/v1/currencies`, cached per API instance for the cache's TTL."""
        cached = None if refresh else self._currencies.get(self.base_url)
        if cached is not None:
            return cached
        listed = await self._get(CurrencyList, "/api/v1/currencies")
        result = tuple(listed.items)
        self._currencies.put(self.base_url, result)
        return result

    async def fiat_currency_id(self, code: str) -> str:
        """CoinPayments' id of the fiat currency whose symbol is exactly `code` (e.g. USD → "5057").

        Never falls back to another currency: pricing an order in the wrong currency is worse
        than refusing it. Raises `CurrencyNotFoundError`.
        """
        wanted = code.strip().upper()
        matches = [c for c in await self.currencies() if c.is_fiat and c.symbol.upper() == wanted]
        if not matches:
            raise e.CurrencyNotFoundError(f"CoinPayments lists no fiat currency with the symbol {wanted!r}")
        if len({c.id for c in matches}) > 1:
            raise e.CurrencyNotFoundError(f"CoinPayments lists several fiat currencies with the symbol {wanted!r}")
        return matches[0].id

    async def get_currency(self, currency_id: str) -> Currency:
        """Metadata (symbol, decimal places, confirmations) of a coin or fiat by exact id."""
        wanted = currency_id.strip()
        for refresh in (False, True):
            for currency in await self.currencies(refresh=refresh):
                if currency.id == wanted:
                    return currency
        raise e.CurrencyNotFoundError(f"CoinPayments lists no currency with the id {wanted!r}")

    # ---------------------------------------------------------------------------- client webhooks

    def _webhooks_path(self, webhook_id: str | None = None) -> str:
        path = f"/api/v1/merchant/clients/{_segment(self.client_id)}/webhooks"
        return path if webhook_id is None else f"{path}/{_segment(webhook_id)}"

    async def list_client_webhooks(self) -> list[ClientWebhook]:
        """Webhook subscriptions of this integration."""
        return (await self._get(ClientWebhookList, self._webhooks_path())).items

    async def create_client_webhook(
        self, notifications_url: str, notifications: Sequence[WebhookEventType | str]
    ) -> str:
        """Subscribe `notifications_url` to events; returns the subscription id."""
        body = _json_bytes({"notificationsUrl": notifications_url, "notifications": _event_names(notifications)})
        response = await self._send("POST", self._webhooks_path(), body=body, deadline=_Deadline(self.budget_seconds))
        return self._parse(CreatedClientWebhook, response).id

    async def update_client_webhook(
        self, webhook_id: str, notifications_url: str, notifications: Sequence[WebhookEventType | str]
    ) -> None:
        body = _json_bytes({"notificationsUrl": notifications_url, "notifications": _event_names(notifications)})
        await self._send("PUT", self._webhooks_path(webhook_id), body=body, deadline=_Deadline(self.budget_seconds))

    async def delete_client_webhook(self, webhook_id: str) -> None:
        await self._send("DELETE", self._webhooks_path(webhook_id), deadline=_Deadline(self.budget_seconds))

    # -------------------------------------------------------------------------------- diagnostics

    async def check_credentials(self) -> CredentialCheck:
        """A cheap signed call (list one invoice) turned into a verdict a merchant can act on."""
        try:
            await self.list_invoices(limit=1)
        except e.CoinPaymentsAuthError as exc:
            return CredentialCheck(False, "bad_credentials", exc.merchant_message)
        except e.CoinPaymentsForbiddenError as exc:
            return CredentialCheck(False, "forbidden", exc.merchant_message)
        except e.CoinPaymentsTimeoutError:
            return CredentialCheck(False, "timeout", f"CoinPayments at {self.base_url} did not answer in time.")
        except e.CoinPaymentsTransportError:
            return CredentialCheck(
                False,
                "unreachable",
                f"Could not connect to {self.base_url}; check the API URL and the network.",
            )
        except e.CoinPaymentsRateLimitedError:
            return CredentialCheck(False, "rate_limited", "CoinPayments is rate limiting; try again in a minute.")
        except e.CoinPaymentsError as exc:
            return CredentialCheck(False, exc.code.lower(), exc.merchant_message)
        return CredentialCheck(True, "ok", f"Connected to CoinPayments at {self.base_url}.")

    # ---------------------------------------------------------------------------------- plumbing

    async def _get(
        self,
        model: type[ModelT],
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        deadline: _Deadline | None = None,
    ) -> ModelT:
        """A GET with bounded retries on 429, 5xx, timeouts and connection failures."""
        deadline = deadline or _Deadline(self.budget_seconds)
        attempt = 1
        while True:
            try:
                response = await self._send("GET", path, params=params, deadline=deadline)
                return self._parse(model, response)
            except e.CoinPaymentsError as exc:
                if not exc.retryable or attempt >= self.max_get_attempts:
                    raise
                delay = self.backoff_seconds * 2 ** (attempt - 1)
                if isinstance(exc, e.CoinPaymentsRateLimitedError) and exc.retry_after is not None:
                    delay = max(delay, exc.retry_after)
                if deadline.remaining() - delay < _MIN_ATTEMPT_SECONDS:
                    raise
                log.info("coinpayments.retry", path=path, attempt=attempt, error=exc.code, delay=delay)
                await self._sleep(delay)
                attempt += 1

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        deadline: _Deadline,
    ) -> httpx.Response:
        """One signed attempt; returns a 2xx response or raises the mapped error."""
        remaining = deadline.remaining()
        if remaining < _MIN_ATTEMPT_SECONDS / 2:
            raise e.CoinPaymentsTimeoutError(f"{method} {path}: no time left in the budget", sent=False)
        slot = await self.rate_limiter.acquire_slot()
        timeout = min(self.timeout_seconds, max(0.05, deadline.remaining()))
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        request = self._http.build_request(
            method,
            self.base_url + path,
            params=params,
            content=body,
            headers=headers,
            timeout=httpx.Timeout(timeout),
            extensions={"trace": send_lateness.tracer(slot)},
        )
        # Sign the URL exactly as httpx will put it on the wire, and exactly the body bytes.
        request.headers.update(
            signed_headers(
                method=method,
                url=str(request.url),
                client_id=self.client_id,
                client_secret=self._secret,
                body=body or b"",
                now=self._now(),
            )
        )
        started = time.monotonic()
        try:
            response = await self._http.send(request)
        except httpx.HTTPError as exc:
            error = self._map_transport(method, path, exc)
            metrics.observe(method, path, error.code.lower(), time.monotonic() - started)
            raise error from None
        elapsed = time.monotonic() - started
        log.debug(
            "coinpayments.request", method=method, path=path, status=response.status_code, ms=round(elapsed * 1000)
        )
        if response.is_success:
            metrics.observe(method, path, "ok", elapsed)
            return response
        error = self._map_status(method, path, response)
        metrics.observe(method, path, error.code.lower(), elapsed)
        raise error

    def _redact(self, text: str) -> str:
        secret = self._secret.get_secret_value()
        return text.replace(secret, "**********") if secret else text

    def _map_transport(self, method: str, path: str, exc: httpx.HTTPError) -> e.CoinPaymentsError:
        what = f"{method} {path}: {type(exc).__name__}"
        if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
            return e.CoinPaymentsTimeoutError(f"{what} (request not sent)", sent=False)
        if isinstance(exc, httpx.TimeoutException):
            return e.CoinPaymentsTimeoutError(f"{what} (request sent, no answer in time)", sent=True)
        if isinstance(exc, httpx.ConnectError | httpx.UnsupportedProtocol | httpx.InvalidURL):
            return e.CoinPaymentsTransportError(self._redact(f"{what}: {exc}"), sent=False)
        return e.CoinPaymentsTransportError(self._redact(f"{what}: {exc}"), sent=True)

    def _map_status(self, method: str, path: str, response: httpx.Response) -> e.CoinPaymentsError:
        status = response.status_code
        try:
            data: Any = parse_json(response.content) if response.content else None
        except ValueError:
            data = None
        problem = e.ProblemDetails.from_json(data)
        if problem is not None:
            problem = e.ProblemDetails.model_validate_json(self._redact(problem.model_dump_json()))
        detail = problem.summary() if problem else self._redact(response.text[:300])
        what = self._redact(f"{method} {path} → {status}")
        if status == 401:
            return e.CoinPaymentsAuthError(f"{what}: credentials or signature refused")
        if status == 403:
            return e.CoinPaymentsForbiddenError(f"{what}: integration lacks permission")
        if status in (400, 422):
            return e.CoinPaymentsValidationError(what, problem=problem, status=status)
        if status == 404:
            return e.CoinPaymentsNotFoundError(f"{what}: {detail}", problem=problem)
        if status == 429:
            return e.CoinPaymentsRateLimitedError(what, retry_after=_retry_after(response))
        if status >= 500:
            return e.CoinPaymentsServerError(f"{what}: {detail}", status=status)
        return e.CoinPaymentsUnexpectedResponseError(f"{what}: {detail}", status=status)

    def _parse(self, model: type[ModelT], response: httpx.Response) -> ModelT:
        try:
            return model.model_validate(parse_json(response.content))
        except (ValueError, ValidationError) as exc:
            # ValidationError messages quote input values; those never include our secret.
            raise e.CoinPaymentsUnexpectedResponseError(
                self._redact(f"{model.__name__} could not be read: {exc}")[:2000], status=response.status_code
            ) from None


def _event_names(events: Sequence[WebhookEventType | str]) -> list[str]:
    names = [event.value if isinstance(event, WebhookEventType) else str(event) for event in events]
    if not names:
        raise ValueError("a webhook needs at least one event (CoinPayments answers 400 otherwise)")
    return names


def _json_bytes(value: object) -> bytes:
    return dump_json(value).encode()
