"""The Dashboard page's API for the books: the ledger's totals and its download.

Routes only parse and map; `payments/books/service.py` (shared with `saleor-coinpayments report
ledger`) does the work. The download streams: rows are read in batches and sent as they are made.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, StreamingResponse

from saleor_coinpayments.payments.books.export import MEDIA_TYPES
from saleor_coinpayments.payments.books.service import export_ledger, ledger_totals, parse_request
from saleor_coinpayments.web.dashboard import API_PREFIX
from saleor_coinpayments.web.dashboard_auth import AuthorisedUser
from saleor_coinpayments.web.deps import Ctx

router = APIRouter()

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": 'A bad period, channel or format: `{"errors": {field: message}}`.'},
    401: {"description": "No valid Dashboard token for an installed Saleor."},
    403: {"description": "The staff user lacks MANAGE_APPS."},
}
_PERIOD = Query(None, alias="from", description="First day, YYYY-MM-DD (UTC)")
_LAST = Query(None, alias="to", description="Last day, included, YYYY-MM-DD (UTC)")


@router.get(
    f"{API_PREFIX}/ledger",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The ledger: CSV (RFC 4180, header row, totals as `total:*` rows) or JSON Lines.",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        },
        **_ERRORS,
    },
)
async def ledger_download(
    ctx: Ctx,
    user: AuthorisedUser,
    first: str | None = _PERIOD,
    last: str | None = _LAST,
    channel: str | None = Query(None, description="Only this channel's movements"),
    format: str | None = Query(None, description="csv (default) or json"),  # noqa: A002 - the API's name
) -> Any:
    """Every money movement of the period, streamed."""
    request = parse_request(first, last, channel, format, user.installation.id)
    if isinstance(request, dict):
        return JSONResponse({"errors": request}, status_code=400)
    return StreamingResponse(
        export_ledger(ctx, request),
        media_type=MEDIA_TYPES[request.format],
        headers={
            "Content-Disposition": f'attachment; filename="{request.filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get(f"{API_PREFIX}/ledger/totals", responses={200: {"description": "The period's totals."}, **_ERRORS})
async def ledger_summary(
    ctx: Ctx,
    user: AuthorisedUser,
    first: str | None = _PERIOD,
    last: str | None = _LAST,
    channel: str | None = Query(None, description="Only this channel's movements"),
) -> JSONResponse:
    """The totals the download would end with, for the Books section."""
    request = parse_request(first, last, channel, "json", user.installation.id)
    if isinstance(request, dict):
        return JSONResponse({"errors": request}, status_code=400)
    totals = await ledger_totals(ctx, request.where)
    return JSONResponse(totals.to_json())
