"""Encryption of stored secrets (app tokens, CoinPayments client secrets) with SECRET_KEY."""

from __future__ import annotations

import base64
import hashlib
import secrets
from pathlib import Path

import structlog
from cryptography.fernet import Fernet, InvalidToken

log = structlog.get_logger(__name__)

KEY_FILE_NAME = "secret_key"


class SecretBoxError(RuntimeError):
    """A stored secret cannot be decrypted: SECRET_KEY changed or the data is damaged."""


class SecretBox:
    """Fernet (AES-128-CBC + HMAC-SHA256) keyed by a hash of SECRET_KEY, so any string works as a key."""

    def __init__(self, secret_key: str) -> None:
        if not secret_key:
            raise ValueError("an empty SECRET_KEY cannot encrypt anything")
        digest = hashlib.sha256(b"saleor-coinpayments:" + secret_key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise SecretBoxError("stored secret cannot be decrypted; was SECRET_KEY changed?") from exc


def resolve_secret_key(configured: str, data_dir: Path) -> str:
    """SECRET_KEY if set; otherwise one generated once and kept in DATA_DIR (with a warning)."""
    if configured:
        return configured
    path = data_dir / KEY_FILE_NAME
    if path.exists():
        key = path.read_text().strip()
        if key:
            return key
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key + "\n")
    path.chmod(0o600)
    log.warning(
        "secret_key_generated",
        path=str(path),
        hint="set SECRET_KEY for production and keep it safe: stored secrets cannot be read without it",
    )
    return key
