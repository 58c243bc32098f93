"""The books' use cases, shared by the command line and the Dashboard: parse a request, export the
ledger in chunks, or give its totals. Each opens its own read unit for as long as it streams."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from saleor_coinpayments.configuration import validation as v
from saleor_coinpayments.context import AppContext
from saleor_coinpayments.payments.books.export import FORMATS, chunks
from saleor_coinpayments.payments.books.ledger import LedgerFilter, Period, PeriodError, Totals, ledger_rows


@dataclass(frozen=True)
class LedgerRequest:
    where: LedgerFilter
    format: str

    @property
    def filename(self) -> str:
        period = self.where.period
        channel = f"-{self.where.channel}" if self.where.channel else ""
        return f"ledger-{period.first_day.isoformat()}-{period.last_day.isoformat()}{channel}.{self.format}"


def parse_request(
    first: str | None, last: str | None, channel: str | None, fmt: str | None, installation_id: str | None
) -> LedgerRequest | dict[str, str]:
    """The request, or the errors per field (`from`, `to`, `channel`, `format`)."""
    errors: dict[str, str] = {}
    period = None
    try:
        period = Period.parse(first, last)
    except PeriodError as exc:
        errors["period"] = str(exc)
    slug = (channel or "").strip() or None
    if slug is not None and isinstance(v.check_channel_slug(slug), v.FieldError):
        errors["channel"] = "Not a channel slug."
    chosen = (fmt or "csv").strip().lower()
    if chosen not in FORMATS:
        errors["format"] = f"One of: {', '.join(FORMATS)}."
    if errors or period is None:
        return errors
    return LedgerRequest(LedgerFilter(period, installation_id, slug), chosen)


async def export_ledger(ctx: AppContext, request: LedgerRequest) -> AsyncIterator[bytes]:
    totals = Totals()
    async with ctx.db.session() as session:
        async for chunk in chunks(request.format, ledger_rows(session, request.where, totals), totals):
            yield chunk


async def ledger_totals(ctx: AppContext, where: LedgerFilter) -> Totals:
    totals = Totals()
    async with ctx.db.session() as session:
        async for _ in ledger_rows(session, where, totals):
            pass
    return totals
