"""Verifying what Saleor signs: webhook bodies (detached JWS) and Dashboard tokens (JWT).

Both use Saleor's RSA key, published at `<origin>/.well-known/jwks.json`. The actual
signature check is `saleor_sdk.crypto.utils` (PyJWT underneath); around it we add what
the SDK leaves out (PROTOCOL.md §3.3): the algorithm is pinned to RS256 instead of taken
from the header, the JWS header must be exactly the RFC 7797 unencoded-payload form
Saleor emits, a missing `kid` is an error rather than a silent `None`, and the key set is
always the one stored for the installation — never one chosen by an unverified claim.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from typing import Any

import jwt
from jwt import PyJWKSet
from jwt.exceptions import PyJWKSetError
from saleor_sdk.crypto.exceptions import JWKSKeyMissing, KeyIDMissing
from saleor_sdk.crypto.utils import decode_jwt, decode_webook_payload

ALGORITHM = "RS256"

__all__ = [
    "ALGORITHM",
    "SignatureError",
    "TokenError",
    "TokenExpiredError",
    "TokenForbiddenError",
    "UnknownKeyError",
    "UnknownTokenKeyError",
    "verify_dashboard_jwt",
    "verify_webhook_signature",
]


class SignatureError(Exception):
    """A `Saleor-Signature` that does not prove the body came from this Saleor.

    `reason` is one of ``malformed``, ``unknown_kid``, ``bad_signature``.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class UnknownKeyError(SignatureError):
    """The `kid` is not in the key set: refetch the JWKS once (Saleor may have rotated its key)."""

    def __init__(self, kid: str) -> None:
        super().__init__("unknown_kid", f"no key {kid!r} in the JWKS")
        self.kid = kid


class TokenError(Exception):
    """A Dashboard token that must not be accepted. `reason` says why, for logs."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class TokenExpiredError(TokenError):
    """Expired: the page should wait for Dashboard's `tokenRefresh` and retry (answer 401)."""


class TokenForbiddenError(TokenError):
    """Valid token, but for another app or Saleor, or the user lacks a permission (answer 403)."""


class UnknownTokenKeyError(TokenError):
    """The token's `kid` is not in the key set: refetch the JWKS once."""


def _b64url_decode(part: str) -> bytes:
    padded = part + "=" * (-len(part) % 4)
    return base64.urlsafe_b64decode(padded.encode("ascii"))


def _jose_header(token: str, *, what: str) -> dict[str, Any]:
    try:
        header = json.loads(_b64url_decode(token.split(".", 1)[0]))
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise ValueError(f"{what} header is not base64url JSON") from exc
    if not isinstance(header, dict):
        raise ValueError(f"{what} header is not an object")
    return header


_PARSED: dict[int, tuple[Mapping[str, Any], PyJWKSet]] = {}
_PARSED_MAX = 64


def _keyset(jwks: Mapping[str, Any]) -> PyJWKSet:
    """The parsed key set of `jwks`, kept while that same object is in use (installations are cached
    with their JWKS), so no request rebuilds RSA keys. Keyed by identity and holding the object, so
    an id is never reused for another set while its entry lives."""
    entry = _PARSED.get(id(jwks))
    if entry is not None and entry[0] is jwks:
        return entry[1]
    parsed = _parse_keyset(jwks)
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.clear()
    _PARSED[id(jwks)] = (jwks, parsed)
    return parsed


def _parse_keyset(jwks: Mapping[str, Any]) -> PyJWKSet:
    """Only RSA signing keys; an unusable set is an unknown key (the caller refetches)."""
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    usable = [
        key
        for key in (keys if isinstance(keys, list) else [])
        if isinstance(key, Mapping) and key.get("kty") == "RSA" and key.get("alg", ALGORITHM) == ALGORITHM
    ]
    try:
        return PyJWKSet.from_dict({"keys": usable})
    except PyJWKSetError:
        return _EmptyKeySet()


class _EmptyKeySet(PyJWKSet):
    """PyJWT refuses an empty set; a set with no usable key behaves as one that lacks every kid."""

    def __init__(self) -> None:
        self.keys = []

    def __getitem__(self, kid: str) -> Any:
        raise KeyError(kid)


def verify_webhook_signature(raw_body: bytes, signature: str, jwks: Mapping[str, Any]) -> None:
    """Check `Saleor-Signature` over the exact raw body bytes; return nothing or raise.

    Raises `UnknownKeyError` when the key id is not in `jwks` (refetch once and retry),
    `SignatureError` otherwise (``malformed`` or ``bad_signature``).
    """
    if not isinstance(signature, str) or not signature:
        raise SignatureError("malformed", "empty signature")
    parts = signature.split(".")
    if len(parts) != 3 or not parts[0] or parts[1] or not parts[2]:
        raise SignatureError("malformed", "not a detached compact JWS (<header>..<signature>)")
    try:
        header = _jose_header(signature, what="JWS")
    except ValueError as exc:
        raise SignatureError("malformed", str(exc)) from exc
    if header.get("alg") != ALGORITHM:
        raise SignatureError("malformed", f"algorithm {header.get('alg')!r} is not {ALGORITHM}")
    if header.get("b64") is not False or header.get("crit") != ["b64"]:
        raise SignatureError("malformed", "not an unencoded-payload JWS (b64:false, crit:[b64])")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise SignatureError("malformed", "no kid in the JWS header")
    try:
        decode_webook_payload(jws=signature, jwks=_keyset(jwks), webhook_payload=raw_body)
    except (JWKSKeyMissing, KeyIDMissing) as exc:
        raise UnknownKeyError(kid) from exc
    except jwt.InvalidSignatureError as exc:
        raise SignatureError("bad_signature", "signature does not match the body") from exc
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise SignatureError("malformed", f"{type(exc).__name__}: {exc}") from exc


def verify_dashboard_jwt(
    token: str,
    jwks: Mapping[str, Any],
    *,
    app_id: str,
    issuer: str,
    required_permissions: Iterable[str] = (),
) -> dict[str, Any]:
    """Verify the token Dashboard hands the app page (PROTOCOL.md §9) and return its claims.

    `jwks` must be the key set stored for the installation at `issuer` (the registered
    Saleor API URL); the token's own `iss` is only compared with it, never used to find keys.
    """
    if not isinstance(token, str) or token.count(".") != 2:
        raise TokenError("malformed", "not a compact JWT")
    try:
        header = _jose_header(token, what="JWT")
    except ValueError as exc:
        raise TokenError("malformed", str(exc)) from exc
    if header.get("alg") != ALGORITHM:
        raise TokenError("malformed", f"algorithm {header.get('alg')!r} is not {ALGORITHM}")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TokenError("malformed", "no kid in the JWT header")
    try:
        claims = decode_jwt(jwt=token, jwks=_keyset(jwks))
    except (JWKSKeyMissing, KeyIDMissing) as exc:
        raise UnknownTokenKeyError("unknown_kid", f"no key {kid!r} in the JWKS") from exc
    except jwt.ExpiredSignatureError as exc:
        raise TokenExpiredError("expired", "the token has expired") from exc
    except jwt.InvalidSignatureError as exc:
        raise TokenError("bad_signature", "signature does not match") from exc
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise TokenError("malformed", f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(claims, dict):
        raise TokenError("malformed", "claims are not an object")
    if "exp" not in claims:
        raise TokenError("malformed", "the token has no exp")
    if claims.get("iss") != issuer:
        raise TokenForbiddenError("wrong_issuer", f"issued by {claims.get('iss')!r}, not {issuer!r}")
    if claims.get("app") != app_id:
        raise TokenForbiddenError("wrong_app", "the token is for another app")
    granted = claims.get("user_permissions")
    if not isinstance(granted, list):
        granted = []
    missing = sorted(set(required_permissions) - {p for p in granted if isinstance(p, str)})
    if missing:
        raise TokenForbiddenError("missing_permissions", f"the user lacks {', '.join(missing)}")
    return claims
