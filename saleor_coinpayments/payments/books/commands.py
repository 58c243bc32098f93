"""`saleor-coinpayments report ledger --from DATE --to DATE [--channel SLUG] [--format csv|json]`:
the ledger of every installation on the app's database, written to standard output (or --output).
Exit codes: 0 written, 2 bad input."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import BinaryIO

from saleor_coinpayments.context import app_context
from saleor_coinpayments.payments.books.export import FORMATS
from saleor_coinpayments.payments.books.service import export_ledger, parse_request
from saleor_coinpayments.settings import Settings
from saleor_coinpayments.store.migrate import upgrade_async


def _output(path: Path | None) -> BinaryIO:
    """The command line's own output: blocking writes are what a shell pipe expects."""
    return path.open("wb") if path else sys.stdout.buffer


async def report_command(settings: Settings, args: argparse.Namespace) -> int:
    request = parse_request(args.first_day, args.last_day, args.channel, args.format, None)
    if isinstance(request, dict):
        for field, message in request.items():
            print(f"saleor-coinpayments: {field}: {message}", file=sys.stderr)
        return 2
    await upgrade_async(settings.resolved_database_url)
    async with app_context(settings) as ctx:
        out = _output(args.output)
        try:
            async for chunk in export_ledger(ctx, request):
                out.write(chunk)
            out.flush()
        finally:
            if args.output:
                out.close()
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    report = sub.add_parser("report", help="reports for the shop's books")
    report_sub = report.add_subparsers(dest="report_command", required=True)
    ledger = report_sub.add_parser("ledger", help="every payment, fee, payout and refund of a period")
    ledger.add_argument("--from", dest="first_day", required=True, metavar="DATE", help="first day, YYYY-MM-DD (UTC)")
    ledger.add_argument("--to", dest="last_day", required=True, metavar="DATE", help="last day, included (UTC)")
    ledger.add_argument("--channel", default=None, metavar="SLUG", help="only this Saleor channel")
    ledger.add_argument("--format", default="csv", choices=FORMATS, help="csv (default) or json (JSON Lines)")
    ledger.add_argument("--output", default=None, type=Path, metavar="FILE", help="write here, not to stdout")
    return report
