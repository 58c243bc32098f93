"""One TLS context for the suite's short-lived HTTP clients.

httpx builds a new SSL context for every client it makes (it loads the whole CA bundle: about
25 ms of CPU), and `httpx.get(...)` makes a client per call. The helpers that make a client per
request (the fake Saleor's webhooks, the readiness poll of an app start, the Dashboard's calls)
pass this context instead: the same verification as httpx's default, built once per process.
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default context (the CA bundle, or SSL_CERT_FILE / SSL_CERT_DIR), made once."""
    return httpx.create_ssl_context()
