"""FastAPI dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import JSONResponse

from saleor_coinpayments.context import AppContext


def get_ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


async def _ctx_dependency(request: Request) -> AppContext:
    """`get_ctx` as a coroutine: FastAPI runs a plain `def` dependency in its thread pool, a thread
    round trip per request for one attribute read."""
    return get_ctx(request)


Ctx = Annotated[AppContext, Depends(_ctx_dependency)]


# No session dependency on purpose: FastAPI runs the code after a dependency's `yield` once the
# response is sent, so a commit there would come after the caller heard success. Routes open no
# session at all: the use case they call ends its own unit of work before it returns.


class HttpError(Exception):
    """An expected refusal rendered as `{"error": {"code", "message"}}` with a status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def read_limited_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing anything over `limit` bytes before reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise HttpError(413, "BODY_TOO_LARGE", f"Request body over {limit} bytes.")
        except ValueError:
            raise HttpError(400, "BAD_CONTENT_LENGTH", "Content-Length is not a number.") from None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HttpError(413, "BODY_TOO_LARGE", f"Request body over {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)
