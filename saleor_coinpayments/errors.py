"""One error base for expected failures, with a text for each reader.

`message` is for logs, `public_message` for a buyer or storefront, `merchant_message` for
the shop admin. None of them may carry a secret.
"""

from __future__ import annotations


class AppError(Exception):
    """An expected failure the app knows how to explain."""

    code: str = "APP_ERROR"
    public_message: str = "The payment could not be processed."

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        public_message: str | None = None,
        merchant_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if public_message is not None:
            self.public_message = public_message
        self.merchant_message = merchant_message or message
