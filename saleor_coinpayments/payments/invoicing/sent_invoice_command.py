"""`saleor-coinpayments invoice send`: the sent-out invoice of an order (or, with `--channel SLUG
--unpaid`, of every unpaid order of a channel), from a shell or a scheduler.

Works on the database of the running app (same DATABASE_URL / DATA_DIR / SECRET_KEY). Exit codes:
0 the order has a live invoice (made now, or already there — the message says which), 1 refused
(nothing was made), 2 bad arguments or unknown Saleor, 3 Saleor or CoinPayments did not answer
(nothing was sent twice; run it again later). In bulk: 1 when an order was skipped, 3 when Saleor or
CoinPayments did not answer for one (run it again: what was done is found, not repeated).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date

from saleor_coinpayments.context import AppContext, app_context
from saleor_coinpayments.payments.delivery.outbox_worker import deliver_due
from saleor_coinpayments.payments.invoicing import bulk, sent_invoices
from saleor_coinpayments.saleor.client import SaleorError
from saleor_coinpayments.settings import Settings
from saleor_coinpayments.store.installations import InstallationRecord, InstallationRepository
from saleor_coinpayments.store.migrate import upgrade_async

EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_TEMPORARY = 3


def _usage(message: str) -> int:
    print(f"saleor-coinpayments: {message}", file=sys.stderr)
    return EXIT_USAGE


async def invoice_send(settings: Settings, args: argparse.Namespace) -> int:
    try:
        due_date = sent_invoices.parse_due_date(args.due_date) if args.due_date else None
    except ValueError as exc:
        return _usage(f"--due-date: {exc}")
    channel = getattr(args, "channel", None)
    if (args.order is None) == (channel is None):
        return _usage("give either --order ORDER_ID or --channel SLUG --unpaid")
    created_after: date | None = None
    if channel is not None:
        if not getattr(args, "unpaid", False):
            return _usage("--channel bills unpaid orders: add --unpaid")
        try:
            created_after = date.fromisoformat(args.created_after) if args.created_after else None
        except ValueError:
            return _usage(f"--created-after: {args.created_after!r} is not a date (YYYY-MM-DD)")
    elif getattr(args, "unpaid", False) or getattr(args, "dry_run", False) or getattr(args, "created_after", None):
        return _usage("--unpaid, --created-after and --dry-run go with --channel")
    await upgrade_async(settings.resolved_database_url)
    async with app_context(settings) as ctx:
        async with ctx.db.session() as session:
            installation = await InstallationRepository(session, ctx.box).get(args.saleor_api_url)
        if installation is None:
            print(f"saleor-coinpayments: no Saleor installed the app at {args.saleor_api_url!r}", file=sys.stderr)
            return EXIT_USAGE
        options = sent_invoices.SendOptions(due_date=due_date, note=args.note)
        if channel is not None:
            return await _bulk(ctx, installation, channel, created_after, bool(args.dry_run), options)
        result = await sent_invoices.send_for_order(ctx, installation, args.order, options)
        if isinstance(result, sent_invoices.SendRefused):
            print(f"saleor-coinpayments: refused ({result.code}): {result.message}", file=sys.stderr)
            return EXIT_TEMPORARY if result.temporary else EXIT_REFUSED
        # Tell Saleor now when it answers; otherwise the app's outbox keeps trying.
        await deliver_due(ctx)
        print(result.describe())
        return 0


async def _bulk(
    ctx: AppContext,
    installation: InstallationRecord,
    channel: str,
    created_after: date | None,
    dry_run: bool,
    options: sent_invoices.SendOptions,
) -> int:
    try:
        summary = await bulk.bill_unpaid_orders(
            ctx,
            installation,
            channel,
            created_after=created_after,
            dry_run=dry_run,
            options=options,
            out=lambda line: print(line, flush=True),
        )
    except bulk.BulkUsageError as exc:
        return _usage(str(exc))
    except SaleorError as exc:
        print(f"saleor-coinpayments: Saleor did not answer: {exc.message}", file=sys.stderr)
        return EXIT_TEMPORARY
    if not dry_run:
        await deliver_due(ctx)
    print(summary.line(dry_run))
    if summary.temporary:
        return EXIT_TEMPORARY
    return EXIT_REFUSED if summary.refused else 0
