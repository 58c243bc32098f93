"""Named leases: a job that one replica at a time should do (the invoice-list sweep) is done by the
replica that takes its lease; the others find it held and skip. Plain rows and two statements, the
same on SQLite and PostgreSQL; a replica that dies only holds the job until the lease ends."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.dialects import insert_or_ignore
from saleor_coinpayments.store.tables import Lease


async def take_lease(db: Database, name: str, holder: str, now: datetime, until: datetime) -> bool:
    """Hold `name` until `until` if nobody holds it at `now`; True if this call took it."""
    async with db.session(write=True) as session:
        if await insert_or_ignore(session, Lease, {"name": name, "holder": holder, "until": until}, ["name"]):
            return True
        result = await session.execute(
            update(Lease)
            .where(Lease.name == name, Lease.until <= now)
            .values(holder=holder, until=until)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))
