"""Saleor webhook signatures (detached JWS) and Dashboard tokens (JWT)."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest

from saleor_coinpayments.saleor.signature import (
    SignatureError,
    TokenError,
    TokenExpiredError,
    TokenForbiddenError,
    UnknownKeyError,
    UnknownTokenKeyError,
    verify_dashboard_jwt,
    verify_webhook_signature,
)
from tests import shared_refs
from tests.fakes.saleor_keys import SigningKey, rfc7638_thumbprint

BODY = b'{"issuedAt": "2026-11-25T15:07:52.150012+00:00", "action": {"amount": 20.0}}'


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _header_of(signature: str) -> dict[str, Any]:
    part = signature.split(".")[0]
    result: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return result


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey()


# --- the real captures ------------------------------------------------------------------------


def _signed_captures() -> list[dict[str, Any]]:
    signed = []
    for path in shared_refs.capture_paths():
        data = json.loads(path.read_text(encoding="utf-8"))
        if shared_refs.header(data, "Saleor-Signature"):
            signed.append(data)
    return signed


def test_every_captured_signature_verifies_and_fails_once_a_byte_changes() -> None:
    jwks = shared_refs.load_captured_jwks()
    signed = _signed_captures()
    assert len(signed) >= 40, "expected the captured webhooks of captures/README.md"
    for data in signed:
        body = data["body_raw"].encode("utf-8")
        signature = shared_refs.header(data, "Saleor-Signature")
        assert signature is not None
        verify_webhook_signature(body, signature, jwks)
        tampered = (body[:-1] + bytes([body[-1] ^ 1])) if body else b" "
        with pytest.raises(SignatureError) as caught:
            verify_webhook_signature(tampered, signature, jwks)
        assert caught.value.reason == "bad_signature", data["seq"]
        assert not isinstance(caught.value, UnknownKeyError)


def test_captured_empty_body_retries_are_signed_over_empty_bytes() -> None:
    data = shared_refs.load_capture("016-POST-transaction_refund_requested")
    assert data["body_raw"] == ""
    signature = shared_refs.header(data, "Saleor-Signature")
    assert signature is not None
    verify_webhook_signature(b"", signature, shared_refs.load_captured_jwks())
    with pytest.raises(SignatureError):
        verify_webhook_signature(b"{}", signature, shared_refs.load_captured_jwks())


def test_captured_signature_with_another_key_set_is_an_unknown_key(key: SigningKey) -> None:
    data = shared_refs.load_capture("004-POST-transaction_initialize_session")
    signature = shared_refs.header(data, "Saleor-Signature")
    assert signature is not None
    with pytest.raises(UnknownKeyError) as caught:
        verify_webhook_signature(data["body_raw"].encode(), signature, key.jwks())
    assert caught.value.kid == _header_of(signature)["kid"]


def test_our_signing_matches_the_captured_layout(key: SigningKey) -> None:
    """The fake Saleor's signatures look exactly like the real ones (so tests mean something)."""
    data = shared_refs.load_capture("004-POST-transaction_initialize_session")
    real = shared_refs.header(data, "Saleor-Signature")
    assert real is not None
    ours = key.sign_detached(BODY)
    real_header, our_header = _header_of(real), _header_of(ours)
    assert list(real_header) == list(our_header)
    assert {k: v for k, v in real_header.items() if k != "kid"} == {k: v for k, v in our_header.items() if k != "kid"}
    # the same compact serialisation: header, empty payload, signature of the same length
    assert real.split(".")[0] != ""
    assert ours.split(".")[1] == real.split(".")[1] == ""
    assert len(ours.split(".")[2]) == len(real.split(".")[2])
    # and the kid is the RFC 7638 thumbprint, as in Saleor's JWKS
    captured_key = shared_refs.load_captured_jwks()["keys"][0]
    assert rfc7638_thumbprint(captured_key["n"], captured_key["e"]) == captured_key["kid"]
    assert set(key.public_jwk()) == set(captured_key)


# --- our own key ------------------------------------------------------------------------------


def test_valid_signature_passes_and_any_change_fails(key: SigningKey) -> None:
    signature = key.sign_detached(BODY)
    verify_webhook_signature(BODY, signature, key.jwks())
    for tampered in (BODY + b" ", BODY[1:], BODY.replace(b"20.0", b"21.0"), b""):
        with pytest.raises(SignatureError) as caught:
            verify_webhook_signature(tampered, signature, key.jwks())
        assert caught.value.reason == "bad_signature"


def test_unknown_kid_is_a_distinct_error(key: SigningKey) -> None:
    other = SigningKey()
    with pytest.raises(UnknownKeyError) as caught:
        verify_webhook_signature(BODY, other.sign_detached(BODY), key.jwks())
    assert caught.value.reason == "unknown_kid"
    assert caught.value.kid == other.kid
    # a rotated key set that holds both keys verifies both
    both = {"keys": [key.public_jwk(), other.public_jwk()]}
    verify_webhook_signature(BODY, other.sign_detached(BODY), both)
    verify_webhook_signature(BODY, key.sign_detached(BODY), both)


def test_empty_or_unusable_key_set_is_an_unknown_key(key: SigningKey) -> None:
    for jwks in ({"keys": []}, {}, {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": key.kid}]}):
        with pytest.raises(UnknownKeyError):
            verify_webhook_signature(BODY, key.sign_detached(BODY), jwks)


def _forge(header: dict[str, Any], signature: bytes) -> str:
    return f"{_b64(json.dumps(header).encode())}..{_b64(signature)}"


def test_alg_none_is_rejected(key: SigningKey) -> None:
    forged = _forge({"alg": "none", "b64": False, "crit": ["b64"], "kid": key.kid, "typ": "JWT"}, b"")
    with pytest.raises(SignatureError) as caught:
        verify_webhook_signature(BODY, forged + "x", key.jwks())
    assert caught.value.reason == "malformed"
    with pytest.raises(SignatureError):
        verify_webhook_signature(BODY, forged, key.jwks())


def test_hs256_with_the_public_key_as_secret_is_rejected(key: SigningKey) -> None:
    """The classic algorithm-confusion forgery: HMAC keyed with the (public) JWK."""
    import hashlib
    import hmac

    header = {"alg": "HS256", "b64": False, "crit": ["b64"], "kid": key.kid, "typ": "JWT"}
    header_b64 = _b64(json.dumps(header).encode())
    for secret in (json.dumps(key.public_jwk()).encode(), key.n.encode()):
        mac = hmac.new(secret, header_b64.encode() + b"." + BODY, hashlib.sha256).digest()
        with pytest.raises(SignatureError) as caught:
            verify_webhook_signature(BODY, f"{header_b64}..{_b64(mac)}", key.jwks())
        assert caught.value.reason == "malformed"


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "not-a-jws",
        "a.b",
        "!!!..abc",
        "e30..abc",  # {} header: no alg
    ],
)
def test_malformed_signatures(key: SigningKey, signature: str) -> None:
    with pytest.raises(SignatureError) as caught:
        verify_webhook_signature(BODY, signature, key.jwks())
    assert caught.value.reason == "malformed"


def test_attached_payload_and_b64_true_are_rejected(key: SigningKey) -> None:
    attached = jwt.api_jws.encode(BODY, key.private_key, algorithm="RS256", headers={"kid": key.kid})
    with pytest.raises(SignatureError) as caught:
        verify_webhook_signature(BODY, attached, key.jwks())
    assert caught.value.reason == "malformed"
    # RFC 7515 detached form with an encoded payload (b64 true): not what Saleor signs
    head, _, sig = attached.split(".")
    with pytest.raises(SignatureError) as caught:
        verify_webhook_signature(BODY, f"{head}..{sig}", key.jwks())
    assert caught.value.reason == "malformed"


def test_missing_kid_is_malformed_not_silently_accepted(key: SigningKey) -> None:
    signature = key.sign_detached(BODY)
    header = _header_of(signature)
    del header["kid"]
    forged = _forge(header, base64.urlsafe_b64decode(signature.split(".")[2] + "=="))
    with pytest.raises(SignatureError) as caught:
        verify_webhook_signature(BODY, forged, key.jwks())
    assert caught.value.reason == "malformed"
    assert not isinstance(caught.value, UnknownKeyError)


# --- Dashboard tokens ----------------------------------------------------------------------------

API_URL = "https://shop.example.com/graphql/"
APP_ID = "QXBwOjE0"


def _claims(**overrides: Any) -> dict[str, Any]:
    claims = {
        "iss": API_URL,
        "owner": "saleor",
        "type": "thirdparty",
        "token": "x",
        "email": "staff@example.com",
        "user_id": "VXNlcjox",
        "is_staff": True,
        "app": APP_ID,
        "permissions": ["MANAGE_APPS"],
        "user_permissions": ["MANAGE_APPS", "HANDLE_PAYMENTS", "MANAGE_ORDERS"],
    }
    claims.update(overrides)
    return claims


def _verify(token: str, jwks: dict[str, Any], required: set[str] | None = None) -> dict[str, Any]:
    return verify_dashboard_jwt(
        token, jwks, app_id=APP_ID, issuer=API_URL, required_permissions=required or {"MANAGE_APPS"}
    )


def test_valid_dashboard_token(key: SigningKey) -> None:
    claims = _verify(key.issue_jwt(_claims()), key.jwks(), {"MANAGE_APPS", "HANDLE_PAYMENTS"})
    assert claims["app"] == APP_ID
    assert claims["email"] == "staff@example.com"


def test_expired_token(key: SigningKey) -> None:
    token = key.issue_jwt(_claims(exp=int(time.time()) - 60, iat=int(time.time()) - 400))
    with pytest.raises(TokenExpiredError):
        _verify(token, key.jwks())


def test_token_for_another_app_or_saleor_is_forbidden(key: SigningKey) -> None:
    with pytest.raises(TokenForbiddenError) as caught:
        _verify(key.issue_jwt(_claims(app="QXBwOjk5")), key.jwks())
    assert caught.value.reason == "wrong_app"
    with pytest.raises(TokenForbiddenError) as caught:
        _verify(key.issue_jwt(_claims(iss="https://evil.example.com/graphql/")), key.jwks())
    assert caught.value.reason == "wrong_issuer"


def test_missing_permission_is_forbidden(key: SigningKey) -> None:
    token = key.issue_jwt(_claims(user_permissions=["MANAGE_ORDERS"], permissions=["MANAGE_APPS"]))
    with pytest.raises(TokenForbiddenError) as caught:
        _verify(token, key.jwks())
    assert caught.value.reason == "missing_permissions"
    assert "MANAGE_APPS" in caught.value.detail


def test_forged_tokens_are_rejected(key: SigningKey) -> None:
    none_token = jwt.encode(_claims(exp=int(time.time()) + 60), None, algorithm="none", headers={"kid": key.kid})
    hs_token = jwt.encode(_claims(exp=int(time.time()) + 60), key.n, algorithm="HS256", headers={"kid": key.kid})
    for token in (none_token, hs_token):
        with pytest.raises(TokenError) as caught:
            _verify(token, key.jwks())
        assert not isinstance(caught.value, TokenForbiddenError | TokenExpiredError)
    other = SigningKey()
    with pytest.raises(UnknownTokenKeyError):
        _verify(other.issue_jwt(_claims()), key.jwks())
    good = key.issue_jwt(_claims())
    head, payload, sig = good.split(".")
    evil_payload = _b64(json.dumps(_claims(exp=int(time.time()) + 60, app=APP_ID, is_staff=False)).encode())
    with pytest.raises(TokenError) as caught:
        _verify(f"{head}.{evil_payload}.{sig}", key.jwks())
    assert caught.value.reason == "bad_signature"


def test_token_without_exp_is_rejected(key: SigningKey) -> None:
    token = jwt.encode(_claims(), key.private_key, algorithm="RS256", headers={"kid": key.kid})
    with pytest.raises(TokenError):
        _verify(token, key.jwks())
