"""Request bodies as Saleor and CoinPayments send them, signed the way they sign them.

Saleor: the body of our TRANSACTION_*_SESSION subscriptions (saleor/subscriptions/*.graphql) for a
checkout with two lines, signed as a detached RS256 JWS with an unencoded payload (RFC 7797) — the
same layout as tests/fakes/saleor_keys.py, copied so the benchmark does not depend on tests/.
CoinPayments: a notification envelope (docs/reference/coinpayments.md#webhook-body) with the `X-CoinPayments-*`
HMAC headers.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from saleor_coinpayments.coinpayments.signing import signed_headers

CHANNEL = "default-channel"


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64url_uint(value: int) -> str:
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8 or 1, "big"))


class SaleorKey:
    """Saleor's RSA signing key: its JWKS (kid = RFC 7638 thumbprint) and detached signatures."""

    def __init__(self, bits: int = 2048) -> None:
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        numbers = self.private_key.public_key().public_numbers()
        self.n, self.e = _b64url_uint(numbers.n), _b64url_uint(numbers.e)
        canonical = json.dumps({"e": self.e, "kty": "RSA", "n": self.n}, separators=(",", ":"), sort_keys=True)
        self.kid = _b64url(hashlib.sha256(canonical.encode()).digest())
        header = {"alg": "RS256", "b64": False, "crit": ["b64"], "kid": self.kid, "typ": "JWT"}
        self._header_b64 = _b64url(json.dumps(header, separators=(",", ":")).encode())
        self._algorithm = RSAAlgorithm(RSAAlgorithm.SHA256)

    def jwks(self) -> dict[str, Any]:
        jwk = {"kty": "RSA", "key_ops": ["verify"], "n": self.n, "e": self.e, "use": "sig", "kid": self.kid}
        return {"keys": [{**jwk, "alg": "RS256"}]}

    def sign_detached(self, body: bytes) -> str:
        """`<b64url(header)>..<b64url(signature)>` over `b64url(header) + "." + body`."""
        signature = self._algorithm.sign(self._header_b64.encode("ascii") + b"." + body, self.private_key)
        return f"{self._header_b64}..{_b64url(signature)}"


def transaction_id() -> str:
    return base64.b64encode(f"TransactionItem:{uuid.uuid4()}".encode()).decode()


def _money(amount: float, currency: str = "USD") -> dict[str, Any]:
    return {"amount": amount, "currency": currency}


def _taxed(amount: float) -> dict[str, Any]:
    return {"currency": "USD", "gross": _money(amount), "net": _money(amount), "tax": _money(0.0)}


_ADDRESS = {
    "firstName": "Jan",
    "lastName": "Kowalski",
    "companyName": "",
    "streetAddress1": "1470 Pinewood Avenue",
    "streetAddress2": "",
    "city": "MICHIGAN CITY",
    "postalCode": "49360",
    "country": {"code": "US"},
    "countryArea": "MI",
    "phone": "+12025550123",
}


def _checkout(checkout_id: str) -> dict[str, Any]:
    lines = [
        ("T-shirt", "L", "TSHIRT-L", 2, 15.0),
        ("Mug", "Blue", "MUG-BLUE", 1, 12.5),
    ]
    return {
        "__typename": "Checkout",
        "id": checkout_id,
        "email": "buyer@example.com",
        "channel": {"id": "Q2hhbm5lbDox", "slug": CHANNEL, "currencyCode": "USD"},
        "user": None,
        "billingAddress": _ADDRESS,
        "totalPrice": _taxed(42.5),
        "subtotalPrice": _taxed(42.5),
        "shippingPrice": _taxed(0.0),
        "discount": None,
        "lines": [
            {
                "id": base64.b64encode(f"CheckoutLine:{uuid.uuid4()}".encode()).decode(),
                "quantity": quantity,
                "variant": {
                    "id": base64.b64encode(f"ProductVariant:{index + 1}".encode()).decode(),
                    "name": variant,
                    "sku": sku,
                    "product": {"name": product},
                },
                "unitPrice": _taxed(price),
                "totalPrice": _taxed(price * quantity),
            }
            for index, (product, variant, sku, quantity, price) in enumerate(lines)
        ],
    }


def session_body(event: str, app_id: str, transaction: str, psp_reference: str = "") -> bytes:
    """A TRANSACTION_INITIALIZE_SESSION / TRANSACTION_PROCESS_SESSION body (Saleor sends floats)."""
    checkout_id = base64.b64encode(f"Checkout:{uuid.uuid4()}".encode()).decode()
    now = datetime.now(UTC).isoformat()
    zero = _money(0.0)
    payload: dict[str, Any] = {
        "issuedAt": now,
        "version": "3.23.28",
        "recipient": {"id": app_id, "identifier": "saleor.coinpayments"},
        "issuingPrincipal": None,
        "action": {"amount": 42.5, "currency": "USD", "actionType": "CHARGE"},
        "data": None,
        "merchantReference": transaction,
        "customerIpAddress": "127.0.0.1",
        "transaction": {
            "id": transaction,
            "token": str(uuid.uuid4()),
            "pspReference": psp_reference,
            "chargedAmount": zero,
            "chargePendingAmount": zero,
            "authorizedAmount": zero,
            "refundedAmount": zero,
        },
        "sourceObject": _checkout(checkout_id),
    }
    if event == "initialize":
        payload["idempotencyKey"] = str(uuid.uuid4())
    return json.dumps(payload).encode()


def saleor_headers(event: str, saleor_api_url: str, signature: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "Saleor-Event": event,
        "Saleor-Domain": saleor_api_url.split("/")[2],
        "Saleor-Api-Url": saleor_api_url,
        "Saleor-Signature": signature,
        "User-Agent": "Saleor/3.23",
    }


def notification_body(invoice_id: str, our_invoice_id: str | None, client_id: str) -> bytes:
    """An `InvoicePending` delivery for an existing invoice, with a fresh notification id."""
    now = datetime.now(UTC)
    envelope = {
        "id": uuid.uuid4().hex,
        "type": "InvoicePending",
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond:06d}0+00:00",
        "invoice": {
            "invoiceId": our_invoice_id,
            "id": invoice_id,
            "merchantClientId": client_id,
            "createdAt": int(now.timestamp()),
            "state": "Pending",
            "amount": {
                "currency": {"id": 5057, "smartContract": None},
                "subtotal": 4250,
                "shippingTotal": 0,
                "handlingTotal": 0,
                "discountTotal": 0,
                "taxTotal": 0,
                "total": 4250,
            },
            "payments": [],
        },
    }
    return json.dumps(envelope).encode()


def notification_headers(url: str, client_id: str, client_secret: str, body: bytes) -> dict[str, str]:
    headers = signed_headers(
        method="POST", url=url, client_id=client_id, client_secret=client_secret, body=body, now=datetime.now(UTC)
    )
    return {"Content-Type": "application/json", "User-Agent": "CoinPayments", **headers}
