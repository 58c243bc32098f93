"""What can go wrong when talking to CoinPayments, as one closed family of `AppError`s.

The client maps every httpx exception and every non-2xx answer into exactly one of these, once,
so callers decide on types instead of parsing status codes. Messages never carry the client secret:
bodies are redacted by the client before they reach an exception (see `client._redact`).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from saleor_coinpayments.errors import AppError

_PUBLIC_UNAVAILABLE = "The crypto payment provider is not available right now. Please try again in a moment."


class ProblemDetails(BaseModel):
    """RFC 7807 body of a 4xx (ASP.NET adds `errors` per field and `traceId`), coinpayments.md#errors."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    type: str | None = None
    title: str | None = None
    status: int | None = None
    detail: str | None = None
    instance: str | None = None
    errors: dict[str, list[str]] = Field(default_factory=dict)
    trace_id: str | None = Field(default=None, alias="traceId")

    def summary(self) -> str:
        """One line for logs and the dashboard: title, detail and each field error."""
        parts = [text for text in (self.title, self.detail) if text]
        parts += [f"{field}: {'; '.join(msgs)}" for field, msgs in self.errors.items()]
        return " — ".join(parts) or "no details given"

    @classmethod
    def from_json(cls, data: Any) -> ProblemDetails | None:
        """A problem object if `data` looks like one; CoinPayments does not always send one."""
        if not isinstance(data, dict):
            return None
        errors = data.get("errors")
        if isinstance(errors, dict):
            data = {
                **data,
                "errors": {str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in errors.items()},
            }
        elif errors is not None:
            data = {**data, "errors": {"": [str(errors)]}}
        try:
            return cls.model_validate(data)
        except ValueError:
            return None


class CoinPaymentsError(AppError):
    """Any failure talking to CoinPayments. `status` is the HTTP status when there was an answer."""

    code = "COINPAYMENTS_ERROR"
    public_message = _PUBLIC_UNAVAILABLE
    retryable: bool = False

    def __init__(self, message: str, *, status: int | None = None, merchant_message: str | None = None) -> None:
        super().__init__(message, merchant_message=merchant_message)
        self.status = status


class CoinPaymentsAuthError(CoinPaymentsError):
    """401: the signature or the credentials were refused (coinpayments.md#refused-signatures lists the causes)."""

    code = "COINPAYMENTS_AUTH"
    MERCHANT_HINT = (
        "CoinPayments refused our credentials (401). Check the client id and client secret, the API "
        "instance (a/b/c-api.coinpayments.net) the integration belongs to, the integration's Allowed IPs, "
        "and that this server's clock is correct (requests older than a minute are refused)."
    )

    def __init__(self, message: str, *, status: int | None = 401) -> None:
        super().__init__(message, status=status, merchant_message=self.MERCHANT_HINT)


class CoinPaymentsForbiddenError(CoinPaymentsError):
    """403: the integration exists but lacks the permission for this route."""

    code = "COINPAYMENTS_FORBIDDEN"
    MERCHANT_HINT = (
        "CoinPayments says this API integration is not allowed to do that (403). In the CoinPayments "
        "dashboard, give the integration the invoice and webhook permissions."
    )

    def __init__(self, message: str, *, status: int | None = 403) -> None:
        super().__init__(message, status=status, merchant_message=self.MERCHANT_HINT)


class CoinPaymentsValidationError(CoinPaymentsError):
    """400: CoinPayments refused the request's content; `problem` keeps the RFC 7807 details."""

    code = "COINPAYMENTS_VALIDATION"

    def __init__(self, message: str, *, problem: ProblemDetails | None, status: int | None = 400) -> None:
        self.problem = problem
        detail = problem.summary() if problem else "no details given"
        super().__init__(
            f"{message}: {detail}",
            status=status,
            merchant_message=f"CoinPayments refused the request ({status}): {detail}",
        )


class CoinPaymentsNotFoundError(CoinPaymentsError):
    """404: unknown invoice, currency or merchant."""

    code = "COINPAYMENTS_NOT_FOUND"

    def __init__(self, message: str, *, problem: ProblemDetails | None = None, status: int | None = 404) -> None:
        self.problem = problem
        super().__init__(
            message,
            status=status,
            merchant_message="CoinPayments does not know this object (404): "
            + (problem.summary() if problem else message),
        )


class CoinPaymentsRateLimitedError(CoinPaymentsError):
    """429: over 70 requests a second (coinpayments.md#rate-limit). `retry_after`: seconds, if the server said."""

    code = "COINPAYMENTS_RATE_LIMITED"
    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, status: int | None = 429) -> None:
        self.retry_after = retry_after
        super().__init__(
            message,
            status=status,
            merchant_message="CoinPayments is limiting our request rate (429); requests are being retried.",
        )


class CoinPaymentsServerError(CoinPaymentsError):
    """5xx: CoinPayments failed; the outcome of a write is unknown."""

    code = "COINPAYMENTS_SERVER_ERROR"
    retryable = True

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(
            message,
            status=status,
            merchant_message=f"CoinPayments had an internal error ({status}); try again later.",
        )


class CoinPaymentsTimeoutError(CoinPaymentsError):
    """No answer in time. `sent` is False when the request surely never left (connect/pool timeout)."""

    code = "COINPAYMENTS_TIMEOUT"
    retryable = True

    def __init__(self, message: str, *, sent: bool) -> None:
        self.sent = sent
        super().__init__(message, merchant_message="CoinPayments did not answer in time; try again later.")


class CoinPaymentsTransportError(CoinPaymentsError):
    """The connection failed (DNS, refused, TLS, reset). `sent` as for timeouts."""

    code = "COINPAYMENTS_TRANSPORT"
    retryable = True

    def __init__(self, message: str, *, sent: bool) -> None:
        self.sent = sent
        super().__init__(
            message,
            merchant_message="Could not reach CoinPayments; check the API URL and this server's network.",
        )


class CoinPaymentsUnexpectedResponseError(CoinPaymentsError):
    """A status or body this client does not understand (e.g. a 409, or JSON of the wrong shape)."""

    code = "COINPAYMENTS_UNEXPECTED"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(
            message,
            status=status,
            merchant_message=f"CoinPayments answered in a way this app does not understand ({status}): " + message,
        )


class InvoiceCreationUncertainError(CoinPaymentsError):
    """Creating an invoice timed out or failed server-side, and looking it up did not find it.

    The invoice may or may not exist; the caller decides (retry later with the same `invoiceId`,
    or report a failure). Creating blindly again could charge a buyer twice.
    """

    code = "COINPAYMENTS_CREATE_UNCERTAIN"
    retryable = True

    def __init__(self, message: str, *, our_invoice_id: str | None, cause: CoinPaymentsError) -> None:
        self.our_invoice_id = our_invoice_id
        self.cause = cause
        super().__init__(
            message,
            status=cause.status,
            merchant_message="CoinPayments did not confirm whether the invoice was created; check it again.",
        )


class CurrencyNotFoundError(CoinPaymentsError):
    """A currency we need is not in CoinPayments' list (never replaced by a different one)."""

    code = "COINPAYMENTS_CURRENCY_NOT_FOUND"
    public_message = "This currency cannot be paid with crypto here."

    def __init__(self, message: str) -> None:
        super().__init__(message, merchant_message=message)
