"""`saleor-coinpayments refund list|complete|decline|accept-as-paid|refund-received`: the Dashboard's
Refunds section from a shell, through the same `RefundService`.

They work on the database of the running app (same DATABASE_URL / DATA_DIR / SECRET_KEY), migrating
it first. The shell user is recorded as who did it. Exit codes: 0 done (or done already: nothing
changed), 1 refused (settled already, not possible), 2 bad input or no such refund/payment.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from saleor_coinpayments.context import app_context
from saleor_coinpayments.payments.refunds.service import (
    Done,
    RefundService,
    RefundView,
    Refused,
    parse_reason,
    parse_transfer,
)
from saleor_coinpayments.settings import Settings
from saleor_coinpayments.store.migrate import upgrade_async

FLAGS = {"tx": "--tx", "coin": "--coin", "amount": "--amount", "note": "--note", "reason": "--reason"}


def actor() -> str:
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "unknown"
    return f"{name} (command line)"


def _refused(result: Refused) -> int:
    print(f"saleor-coinpayments: {result.message}", file=sys.stderr)
    for field, message in result.errors.items():
        print(f"  {FLAGS.get(field, field)}: {message}", file=sys.stderr)
    return 2 if result.code in ("INVALID", "NOT_FOUND") else 1


def _done(result: Done) -> int:
    print(result.message if result.changed else f"nothing changed: {result.message}")
    return 0


def _row(view: RefundView) -> list[str]:
    return [
        view.id,
        view.state,
        view.origin,
        f"{view.amount} {view.currency}",
        view.psp_reference,
        view.created_at.strftime("%Y-%m-%d %H:%M"),
        view.requested_by or "—",
        view.settled_by or "—",
        view.tx_id or view.decline_reason or view.reason or "",
    ]


async def refund_command(settings: Settings, args: argparse.Namespace) -> int:
    await upgrade_async(settings.resolved_database_url)
    async with app_context(settings) as ctx:
        service = RefundService(ctx)
        command = args.refund_command
        if command == "list":
            views = await service.list(None, pending_only=args.pending)
            if args.json:
                for view in views:
                    print(json.dumps(view.to_json()))
                return 0
            if not views:
                print("no pending refunds" if args.pending else "no refunds")
                return 0
            rows = [["ID", "STATE", "ORIGIN", "AMOUNT", "PSP REFERENCE", "CREATED", "ASKED BY", "SETTLED BY", "NOTE"]]
            rows += [_row(view) for view in views]
            widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
            for row in rows:
                print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
            return 0
        if command == "complete":
            transfer = parse_transfer(args.tx, args.coin, args.amount, args.note)
            if isinstance(transfer, Refused):
                return _refused(transfer)
            result = await service.complete(None, args.refund_id, transfer, actor=actor())
        elif command == "decline":
            reason = parse_reason(args.reason)
            if isinstance(reason, Refused):
                return _refused(reason)
            result = await service.decline(None, args.refund_id, reason, actor=actor())
        elif command == "accept-as-paid":
            result = await service.accept_as_paid(None, args.payment_id, actor=actor())
        else:
            result = await service.refund_received(None, args.payment_id, actor=actor(), reason=args.reason)
    return _refused(result) if isinstance(result, Refused) else _done(result)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    refund = sub.add_parser("refund", help="refunds and staff decisions on odd payments")
    refund_sub = refund.add_subparsers(dest="refund_command", required=True)
    listing = refund_sub.add_parser("list", help="refunds, pending first")
    listing.add_argument("--pending", action="store_true", help="only refunds still to settle")
    listing.add_argument("--json", action="store_true", help="one JSON object per refund")
    complete = refund_sub.add_parser("complete", help="record the transfer and report REFUND_SUCCESS")
    complete.add_argument("refund_id", metavar="REFUND_ID")
    complete.add_argument("--tx", required=True, metavar="TXID", help="transaction id of the refund transfer")
    complete.add_argument("--coin", default=None, metavar="SYMBOL", help="coin sent, e.g. BTC")
    complete.add_argument("--amount", default=None, metavar="COIN_AMOUNT", help="amount of that coin sent")
    complete.add_argument("--note", default=None, metavar="TEXT")
    decline = refund_sub.add_parser("decline", help="refuse the refund and report REFUND_FAILURE")
    decline.add_argument("refund_id", metavar="REFUND_ID")
    decline.add_argument("--reason", required=True, metavar="TEXT")
    accept = refund_sub.add_parser("accept-as-paid", help="write off the shortfall of an under-paid ended invoice")
    accept.add_argument("payment_id", metavar="PAYMENT_ID")
    received = refund_sub.add_parser("refund-received", help="open a refund of what came in for an under-payment")
    received.add_argument("payment_id", metavar="PAYMENT_ID")
    received.add_argument("--reason", default=None, metavar="TEXT")
    return refund
