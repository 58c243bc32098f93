"""Saleor's signing key, as the fake Saleor holds it: RS256, kid = RFC 7638 thumbprint.

Signs webhook bodies as detached JWS with an unencoded payload (RFC 7797) exactly in the
layout Saleor 3.23 uses, and issues Dashboard-style app tokens (JWT).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def rfc7638_thumbprint(n: str, e: str) -> str:
    canonical = json.dumps({"e": e, "kty": "RSA", "n": n}, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class SigningKey:
    """One RSA key pair with its JWK and key id."""

    def __init__(self, bits: int = 2048) -> None:
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        numbers = self.private_key.public_key().public_numbers()
        self.n = _b64url_uint(numbers.n)
        self.e = _b64url_uint(numbers.e)
        self.kid = rfc7638_thumbprint(self.n, self.e)

    def public_jwk(self) -> dict[str, Any]:
        """As Saleor publishes it (captures/jwks.json layout)."""
        return {
            "kty": "RSA",
            "key_ops": ["verify"],
            "n": self.n,
            "e": self.e,
            "use": "sig",
            "kid": self.kid,
            "alg": "RS256",
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk()]}

    def sign_detached(self, body: bytes) -> str:
        """`<b64url(header)>..<b64url(sig)>` over `b64url(header) + "." + body`."""
        header = {"alg": "RS256", "b64": False, "crit": ["b64"], "kid": self.kid, "typ": "JWT"}
        header_b64 = base64.urlsafe_b64encode(json.dumps(header, separators=(",", ":")).encode()).rstrip(b"=").decode()
        signing_input = header_b64.encode("ascii") + b"." + body
        signature = RSAAlgorithm(RSAAlgorithm.SHA256).sign(signing_input, self.private_key)
        return f"{header_b64}..{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"

    def issue_jwt(self, claims: dict[str, Any], *, ttl_seconds: int = 300) -> str:
        """A Saleor-style RS256 token (e.g. the Dashboard app token of PROTOCOL.md §9)."""
        now = int(time.time())
        body = {"iat": now, "exp": now + ttl_seconds, **claims}
        return jwt.encode(body, self.private_key, algorithm="RS256", headers={"kid": self.kid})
