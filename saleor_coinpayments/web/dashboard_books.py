"""The Dashboard page's API for the books: the ledger's totals and its download.

Routes only parse and map; `payments/books/service.py` (shared with `saleor-coinpayments report
ledger`) does the work. The download streams: rows are read in batches and sent as they are made.

The query is read as text and checked by `parse_request` (a refused request gets 400 with the
fields, never FastAPI's 422), so the parameters are declared here by hand, exactly as that parser
reads them: a document that called `from` optional or any text would promise what the app refuses.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from saleor_coinpayments.configuration.validation import CHANNEL_SLUG_MAX
from saleor_coinpayments.payments.books.export import MEDIA_TYPES
from saleor_coinpayments.payments.books.service import export_ledger, ledger_totals, parse_request
from saleor_coinpayments.web.answers import WHITESPACE
from saleor_coinpayments.web.dashboard import API_PREFIX
from saleor_coinpayments.web.dashboard_auth import AuthorisedUser
from saleor_coinpayments.web.deps import Ctx

router = APIRouter()

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": 'A bad period, channel or format: `{"errors": {field: message}}`.'},
    401: {"description": "No valid Dashboard token for an installed Saleor."},
    403: {"description": "The staff user lacks MANAGE_APPS."},
}


def _query(name: str, description: str, schema: dict[str, Any], *, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


_WS = f"[{WHITESPACE}]*"
_YEAR = "(?:[0-9]{3}[1-9]|[0-9]{2}[1-9]0|[0-9][1-9]00|[1-9]000)"  # 0001..9999
_LEAP_YEAR = "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][48]|[13579][26]|[2468]0)00)"
_MONTH_DAY = (
    "(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"  # months of 31 days
    "|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"  # of 30
    "|02-(?:0[1-9]|1[0-9]|2[0-8]))"  # February; the 29th only with a leap year, below
)
#: What `Period.parse` takes: a real day as YYYY-MM-DD, whitespace around it stripped. Spelled as a
#: pattern, not `format: date`, which allows no whitespace.
DAY_SCHEMA = {"type": "string", "pattern": f"^{_WS}(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29){_WS}$"}
_PERIOD = [
    _query("from", "First day, YYYY-MM-DD (UTC); not after `to`, at most ten years before", DAY_SCHEMA, required=True),
    _query("to", "Last day, included, YYYY-MM-DD (UTC)", DAY_SCHEMA, required=True),
]
_CHANNEL = _query(
    "channel",
    "Only this channel's movements (a slug; empty: every channel)",
    {"type": "string", "pattern": f"^{_WS}(?:[A-Za-z0-9_-]{{1,{CHANNEL_SLUG_MAX}}})?{_WS}$"},
)
_FORMAT = _query(
    "format",
    "csv (default) or json, in any case",
    {"type": "string", "pattern": f"^{_WS}(?:[Cc][Ss][Vv]|[Jj][Ss][Oo][Nn])?{_WS}$"},
)


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
    openapi_extra={"parameters": [*_PERIOD, _CHANNEL, _FORMAT]},
)
async def ledger_download(request: Request, ctx: Ctx, user: AuthorisedUser) -> Any:
    """Every money movement of the period, streamed."""
    query = request.query_params
    parsed = parse_request(
        query.get("from"), query.get("to"), query.get("channel"), query.get("format"), user.installation.id
    )
    if isinstance(parsed, dict):
        return JSONResponse({"errors": parsed}, status_code=400)
    return StreamingResponse(
        export_ledger(ctx, parsed),
        media_type=MEDIA_TYPES[parsed.format],
        headers={
            "Content-Disposition": f'attachment; filename="{parsed.filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get(
    f"{API_PREFIX}/ledger/totals",
    responses={200: {"description": "The period's totals."}, **_ERRORS},
    openapi_extra={"parameters": [*_PERIOD, _CHANNEL]},
)
async def ledger_summary(request: Request, ctx: Ctx, user: AuthorisedUser) -> JSONResponse:
    """The totals the download would end with, for the Books section."""
    query = request.query_params
    parsed = parse_request(query.get("from"), query.get("to"), query.get("channel"), "json", user.installation.id)
    if isinstance(parsed, dict):
        return JSONResponse({"errors": parsed}, status_code=400)
    totals = await ledger_totals(ctx, parsed.where)
    return JSONResponse(totals.to_json())
