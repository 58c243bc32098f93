"""`saleor-coinpayments config set` and `config list`: the Dashboard page's configuration, from a shell.

They work on the database of a running app (same DATABASE_URL / DATA_DIR / SECRET_KEY), migrating it
first, and go through the same `ConfigurationService` as the page. Exit codes: 0 done, 1 saved but
CoinPayments did not accept it yet (see the message), 2 bad input or unknown Saleor.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from saleor_coinpayments.configuration import billing as b
from saleor_coinpayments.configuration import validation as v
from saleor_coinpayments.configuration.service import ConfigurationService, ConfigurationView, NotFound
from saleor_coinpayments.context import app_context
from saleor_coinpayments.settings import Settings
from saleor_coinpayments.store.installations import InstallationRepository
from saleor_coinpayments.store.migrate import upgrade_async

FLAGS = {
    v.NAME: "--name",
    v.CLIENT_ID: "--client-id",
    v.CLIENT_SECRET: "--client-secret",
    v.API_URL: "--api-url",
    v.ACCEPTED_COINS: "--accepted-coins",
    v.CHANNELS: "--channel",
    v.CHECKOUT_PAGE: "--checkout-page",
    v.CHANNEL: "--channel",
    b.INVOICE_NEW_ORDERS: "--invoice-new-orders",
    b.INVOICE_DUE_DAYS: "--invoice-due-days",
    b.INVOICE_REMINDERS: "--invoice-reminders",
}


def _print_errors(errors: dict[str, str], out: TextIO) -> None:
    for field, message in errors.items():
        print(f"  {FLAGS.get(field, 'error')}: {message}", file=out)


def _summary(view: ConfigurationView) -> list[tuple[str, str]]:
    return [
        ("name", view.name),
        ("id", view.id),
        ("client id", view.client_id),
        ("client secret", view.masked_secret),
        ("API URL", view.api_url),
        ("accepted coins", ", ".join(view.accepted_coins) or "all offered by CoinPayments"),
        ("checkout page", view.checkout_page),
        ("channels", ", ".join(view.channels) or "—"),
        ("notification URL", view.notification_url),
        ("notifications", "registered at CoinPayments" if view.notifications_registered else "NOT registered yet"),
        ("invoice new orders", "on" if view.invoice_new_orders else "off"),
        ("invoice due days", str(view.invoice_due_days)),
        ("invoice reminders", ", ".join(f"{day:+d}" for day in view.invoice_reminders) or "none"),
    ]


async def config_set(settings: Settings, args: argparse.Namespace) -> int:
    await upgrade_async(settings.resolved_database_url)
    async with app_context(settings) as ctx:
        service = ConfigurationService(ctx)
        installation = await service.installation(args.saleor_api_url)
        if installation is None:
            async with ctx.db.session() as session:
                known = [i.saleor_api_url for i in await InstallationRepository(session, ctx.box).list_all()]
            print(
                f"saleor-coinpayments: no Saleor installed the app at {args.saleor_api_url!r}. "
                "Install the app from that Saleor's Dashboard first (the URL must match exactly).",
                file=sys.stderr,
            )
            if known:
                print("  installed: " + ", ".join(known), file=sys.stderr)
            return 2
        data = v.ConfigurationInput(
            name=args.name if args.name is not None else args.channel,
            client_id=args.client_id,
            client_secret=args.client_secret,
            api_url=args.api_url,
            accepted_coins=getattr(args, "accepted_coins", None),
            channels=[args.channel],
            invoice_new_orders=getattr(args, "invoice_new_orders", None),
            invoice_due_days=getattr(args, "invoice_due_days", None),
            invoice_reminders=getattr(args, "invoice_reminders", None),
            checkout_page=getattr(args, "checkout_page", None),
            name_chosen=args.name is not None,
        )
        result = await service.save(installation, data, update_by_name=True, add_channels_only=True)
        if isinstance(result, v.Invalid):
            print("saleor-coinpayments: nothing was saved:", file=sys.stderr)
            _print_errors(result.errors, sys.stderr)
            return 2
        if isinstance(result, NotFound):  # only possible with an id, which the CLI never passes
            print(f"saleor-coinpayments: {result.message}", file=sys.stderr)
            return 2
        print(f"configuration {'created' if result.created else 'updated'} for {installation.saleor_api_url}")
        width = max(len(label) for label, _ in _summary(result.configuration))
        for label, value in _summary(result.configuration):
            print(f"  {label.ljust(width)}  {value}")
        for slug, previous in result.moved_channels.items():
            print(f"  channel {slug} moved here from {previous!r}")
        if result.check.ok:
            print(f"  check  OK: {result.check.message}")
            return 0
        print(f"warning: saved, but {result.check.message}", file=sys.stderr)
        return 1


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]


async def config_list(settings: Settings, args: argparse.Namespace) -> int:
    await upgrade_async(settings.resolved_database_url)
    wanted = (getattr(args, "saleor_api_url", None) or "").strip()
    async with app_context(settings) as ctx:
        service = ConfigurationService(ctx)
        async with ctx.db.session() as session:
            installations = await InstallationRepository(session, ctx.box).list_all()
        if wanted:
            installations = [i for i in installations if i.saleor_api_url == wanted]
            if not installations:
                print(f"saleor-coinpayments: no Saleor installed the app at {wanted!r}", file=sys.stderr)
                return 2
        rows = [["SALEOR", "NAME", "CLIENT ID", "SECRET", "API URL", "COINS", "CHANNELS", "LAST CHECK"]]
        for installation in installations:
            for view in await service.configurations(installation):
                check = "—" if view.last_check_ok is None else ("ok" if view.last_check_ok else "FAILED")
                rows.append(
                    [
                        installation.saleor_api_url,
                        view.name,
                        view.client_id,
                        view.masked_secret,
                        view.api_url,
                        ",".join(view.accepted_coins) or "all",
                        ",".join(view.channels) or "—",
                        check,
                    ]
                )
    if len(rows) == 1:
        print("no configurations" + (f" for {wanted}" if wanted else ""))
        return 0
    for line in _table(rows):
        print(line)
    return 0
