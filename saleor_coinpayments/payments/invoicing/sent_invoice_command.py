"""`saleor-coinpayments invoice send`: the sent-out invoice of an order, from a shell or a scheduler.

Works on the database of the running app (same DATABASE_URL / DATA_DIR / SECRET_KEY). Exit codes:
0 the order has a live invoice (made now, or already there — the message says which), 1 refused
(nothing was made), 2 bad arguments or unknown Saleor, 3 Saleor or CoinPayments did not answer
(nothing was sent twice; run it again later).
"""

from __future__ import annotations

import argparse
import sys

from saleor_coinpayments.context import app_context
from saleor_coinpayments.payments.delivery.outbox_worker import deliver_due
from saleor_coinpayments.payments.invoicing import sent_invoices
from saleor_coinpayments.settings import Settings
from saleor_coinpayments.store.installations import InstallationRepository
from saleor_coinpayments.store.migrate import upgrade_async

EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_TEMPORARY = 3


async def invoice_send(settings: Settings, args: argparse.Namespace) -> int:
    try:
        due_date = sent_invoices.parse_due_date(args.due_date) if args.due_date else None
    except ValueError as exc:
        print(f"saleor-coinpayments: --due-date: {exc}", file=sys.stderr)
        return EXIT_USAGE
    await upgrade_async(settings.resolved_database_url)
    async with app_context(settings) as ctx:
        async with ctx.db.session() as session:
            installation = await InstallationRepository(session, ctx.box).get(args.saleor_api_url)
        if installation is None:
            print(f"saleor-coinpayments: no Saleor installed the app at {args.saleor_api_url!r}", file=sys.stderr)
            return EXIT_USAGE
        options = sent_invoices.SendOptions(due_date=due_date, note=args.note)
        result = await sent_invoices.send_for_order(ctx, installation, args.order, options)
        if isinstance(result, sent_invoices.SendRefused):
            print(f"saleor-coinpayments: refused ({result.code}): {result.message}", file=sys.stderr)
            return EXIT_TEMPORARY if result.temporary else EXIT_REFUSED
        # Tell Saleor now when it answers; otherwise the app's outbox keeps trying.
        await deliver_due(ctx)
        print(result.describe())
        return 0
