"""`saleor-coinpayments outbox retry [--all-failed | ID…]`: re-queue reports Saleor refused or that
expired, once the cause is fixed (a missing permission, a long outage). Exit codes: 0 all named
rows re-queued, 1 some were not (unknown, still pending, or delivered), 2 bad arguments."""

from __future__ import annotations

import sys

from saleor_coinpayments.payments.delivery.outbox import OutboxRepository
from saleor_coinpayments.settings import Settings
from saleor_coinpayments.store.db import Database, StoreOptions
from saleor_coinpayments.store.migrate import upgrade_async

EXIT_NOT_REQUEUED = 1
EXIT_USAGE = 2


async def outbox_retry(settings: Settings, ids: list[str], *, all_failed: bool) -> int:
    if bool(ids) == all_failed:
        print("saleor-coinpayments outbox retry: give report ids or --all-failed (not both)", file=sys.stderr)
        return EXIT_USAGE
    await upgrade_async(settings.resolved_database_url)
    db = Database(settings.resolved_database_url, options=StoreOptions.of(settings))
    try:
        async with db.session() as session:
            requeued = await OutboxRepository(session).requeue(ids=None if all_failed else ids)
    finally:
        await db.dispose()
    print(f"re-queued {len(requeued)} report(s) to Saleor")
    missed = [report_id for report_id in ids if report_id not in set(requeued)]
    for report_id in missed:
        print(f"not re-queued: {report_id} (unknown, or not failed/expired)", file=sys.stderr)
    return EXIT_NOT_REQUEUED if missed else 0
