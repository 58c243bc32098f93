"""The `saleor-coinpayments` command: serve, migrate, config, simulator, reconcile, invoice, outbox, refund."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import Any

from saleor_coinpayments.settings import Settings, SettingsError, load_settings


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        print(f"saleor-coinpayments: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def serve_settings(port: int | None) -> Settings:
    """`serve --port` counts as PORT, so the default public URL (and the manifest) follows it too."""
    return _settings(port=port) if port else _settings()


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from saleor_coinpayments.app import create_app
    from saleor_coinpayments.runtime import ProcessTuning
    from saleor_coinpayments.store.migrate import upgrade

    settings = serve_settings(args.port)
    tuning = ProcessTuning.from_settings(settings)
    upgrade(settings.resolved_database_url)
    host = args.host or settings.host
    port = settings.port
    print(
        f"saleor-coinpayments serving on http://{host}:{port} (public URL {settings.app_public_url})",
        flush=True,
    )
    app = create_app(settings, tuning=tuning)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        proxy_headers=False,
        timeout_graceful_shutdown=max(1, round(settings.shutdown_grace_seconds / 2)),
    )
    _GracefulServer(config, app).run()
    return 0


class _GracefulServer:
    """uvicorn, plus: SIGTERM/SIGINT also stops the background workers' claiming at once, and a
    graceful stop exits 0 (uvicorn re-raises the signal after shutting down, which would kill the
    process with it; a no-op handler is installed for that re-raise)."""

    def __init__(self, config: Any, app: Any) -> None:
        import uvicorn

        app_state = app.state

        class Server(uvicorn.Server):
            def handle_exit(self, sig: int, frame: Any) -> None:
                super().handle_exit(sig, frame)
                stop = getattr(app_state, "stop_background_work", None)
                if stop is not None:
                    stop()

        self._server = Server(config)

    def run(self) -> None:
        import signal

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda _sig, _frame: None)
        self._server.run()


def _migrate(_args: argparse.Namespace) -> int:
    from saleor_coinpayments.store.migrate import upgrade

    settings = _settings()
    upgrade(settings.resolved_database_url)
    print("database is up to date")
    return 0


def _manifest(_args: argparse.Namespace) -> int:
    import json

    from saleor_coinpayments.saleor.manifest import build_manifest

    print(json.dumps(build_manifest(_settings()), indent=2))
    return 0


def _simulator(args: argparse.Namespace) -> int:
    from saleor_coinpayments.simulator.server import run_simulator

    clients: list[tuple[str, str]] = []
    for pair in args.client or []:
        client_id, sep, secret = pair.partition(":")
        if not sep or not client_id or not secret:
            print(f"--client takes ID:SECRET, got {pair!r}", file=sys.stderr)
            return 2
        clients.append((client_id, secret))
    if args.latency_ms < 0:
        print("--latency-ms takes a non-negative number of milliseconds", file=sys.stderr)
        return 2
    run_simulator(args.host, args.port, clients, args.public_url, args.latency_ms)
    return 0


def _reconcile(args: argparse.Namespace) -> int:
    import saleor_coinpayments.payments.flows  # noqa: F401  (registers every flow's outbox deliveries)
    from saleor_coinpayments.payments.delivery.workers import reconcile_command

    return asyncio.run(reconcile_command(_settings(), once=args.once))


def _outbox(args: argparse.Namespace) -> int:
    from saleor_coinpayments.payments.delivery.outbox_commands import outbox_retry

    return asyncio.run(outbox_retry(_settings(), args.ids, all_failed=args.all_failed))


def _config(args: argparse.Namespace) -> int:
    from saleor_coinpayments.configuration import commands

    settings = _settings()
    if args.config_command == "set":
        return asyncio.run(commands.config_set(settings, args))
    return asyncio.run(commands.config_list(settings, args))


def _invoice(args: argparse.Namespace) -> int:
    from saleor_coinpayments.payments.invoicing.sent_invoice_command import invoice_send

    return asyncio.run(invoice_send(_settings(), args))


def _refund(args: argparse.Namespace) -> int:
    from saleor_coinpayments.payments.refunds.commands import refund_command

    return asyncio.run(refund_command(_settings(), args))


def _report(args: argparse.Namespace) -> int:
    from saleor_coinpayments.payments.books.commands import report_command

    return asyncio.run(report_command(_settings(), args))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="saleor-coinpayments", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the app (migrates the database first)")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.set_defaults(func=_serve)

    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(func=_migrate)

    manifest = sub.add_parser("manifest", help="print the manifest for APP_PUBLIC_URL")
    manifest.set_defaults(func=_manifest)

    sim = sub.add_parser("simulator", help="run the CoinPayments v2 simulator")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8001)
    sim.add_argument("--client", action="append", metavar="ID:SECRET", help="accepted client (repeatable)")
    sim.add_argument("--public-url", default=None, help="base URL clients sign, if not the listening address")
    sim.add_argument("--latency-ms", type=int, default=0, help="every CoinPayments API answer waits this long")
    sim.set_defaults(func=_simulator)

    reconcile = sub.add_parser("reconcile", help="re-read every payment that is not final")
    reconcile.add_argument("--once", action="store_true", help="one pass, then exit")
    reconcile.set_defaults(func=_reconcile)

    config = sub.add_parser("config", help="CoinPayments configurations of an installed Saleor")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    config_set = config_sub.add_parser("set", help="create or update a configuration and map it to a channel")
    config_set.add_argument("--saleor-api-url", required=True)
    config_set.add_argument("--channel", required=True, help="channel slug")
    config_set.add_argument("--client-id", required=True)
    config_set.add_argument("--client-secret", required=True)
    config_set.add_argument("--api-url", default=None, help="CoinPayments API base URL (default: settings)")
    config_set.add_argument("--name", default=None, help="configuration name (default: the channel slug)")
    config_set.add_argument(
        "--checkout-page",
        choices=("hosted", "app"),
        default=None,
        help="where buyers pay: hosted (CoinPayments' window, the default) or app (the app's own pay page)",
    )
    config_set.add_argument(
        "--accepted-coins",
        default=None,
        help="comma-separated coin symbols to offer (default: all CoinPayments offers)",
    )
    config_set.add_argument(
        "--invoice-new-orders", default=None, metavar="on|off", help="e-mail an invoice for every new unpaid order"
    )
    config_set.add_argument("--invoice-due-days", default=None, metavar="DAYS", help="days until due (default 7)")
    config_set.add_argument(
        "--invoice-reminders", default=None, metavar="OFFSETS", help="reminder days relative to the due date: -3,0,+3"
    )
    config_set.set_defaults(func=_config)
    config_list = config_sub.add_parser("list", help="list configurations (secrets masked)")
    config_list.add_argument("--saleor-api-url", default=None)
    config_list.set_defaults(func=_config)

    invoice = sub.add_parser("invoice", help="sent-out CoinPayments invoices for Saleor orders")
    invoice_sub = invoice.add_subparsers(dest="invoice_command", required=True)
    invoice_send = invoice_sub.add_parser(
        "send",
        help="e-mail a CoinPayments invoice for an order, or for every unpaid order of a channel "
        "(idempotent: never two live invoices)",
    )
    invoice_send.add_argument("--saleor-api-url", required=True)
    invoice_send.add_argument("--order", default=None, metavar="ORDER_ID", help="Saleor order id")
    invoice_send.add_argument("--channel", default=None, metavar="SLUG", help="bill the channel's orders (bulk)")
    invoice_send.add_argument("--unpaid", action="store_true", help="with --channel: every unpaid order")
    invoice_send.add_argument("--created-after", default=None, metavar="DATE", help="with --channel: YYYY-MM-DD")
    invoice_send.add_argument("--dry-run", action="store_true", help="with --channel: say what would be done")
    invoice_send.add_argument("--due-date", default=None, metavar="DATE", help="YYYY-MM-DD or ISO date-time")
    invoice_send.add_argument("--note", default=None, metavar="TEXT", help="note to the buyer on the invoice")
    invoice_send.set_defaults(func=_invoice)

    outbox = sub.add_parser("outbox", help="reports to Saleor")
    outbox_sub = outbox.add_subparsers(dest="outbox_command", required=True)
    outbox_retry = outbox_sub.add_parser("retry", help="re-queue failed or expired reports once the cause is fixed")
    outbox_retry.add_argument("ids", nargs="*", metavar="ID", help="outbox row ids (see the payment log)")
    outbox_retry.add_argument("--all-failed", action="store_true", help="every failed or expired report")
    outbox_retry.set_defaults(func=_outbox)

    from saleor_coinpayments.payments.refunds.commands import add_parser as add_refund_parser

    add_refund_parser(sub).set_defaults(func=_refund)

    from saleor_coinpayments.payments.books.commands import add_parser as add_report_parser

    add_report_parser(sub).set_defaults(func=_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
