"""All SQL of the shared CoinPayments rate limiter: one atomic statement books the next slot.

A slot is a moment, on the database's clock, at which one request may start. Booking moves the
client id's `next_slot` one interval past max(next_slot, now) in a single UPDATE … RETURNING, so
however many replicas book at once (row lock on PostgreSQL, the single writer on SQLite), no two
get the same slot and slots are never closer than one interval. Every booking also answers when
the next slot nobody holds comes, refused or not, so a background booker can time its next try.
"""

from __future__ import annotations

import asyncio
from typing import NamedTuple

from sqlalchemy import ColumnElement, Float, bindparam, cast, extract, func, select, update
from sqlalchemy.exc import OperationalError

from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.dialects import insert_or_ignore, is_postgres
from saleor_coinpayments.store.tables import RateLimitSlot, core_table

_SQLITE_BUSY_RETRIES = 5


_SECONDS = Float(precision=53)
_SLOTS = core_table(RateLimitSlot)


def _database_now(postgres: bool) -> ColumnElement[float]:
    """Seconds since the epoch, one value for the whole statement."""
    if postgres:
        return cast(extract("epoch", func.statement_timestamp()), _SECONDS)
    return cast((func.julianday("now") - 2440587.5) * 86400.0, _SECONDS)


class _Statements:
    """The booking's statements for one database kind, built once (one runs per CoinPayments call);
    the client key and the seconds are parameters, named unlike any column."""

    def __init__(self, postgres: bool) -> None:
        now = _database_now(postgres)
        latest = func.greatest if postgres else func.max  # SQLite's two-argument max is scalar
        start = latest(_SLOTS.c.next_slot, now + bindparam("lead", type_=_SECONDS))
        book = update(_SLOTS).where(_SLOTS.c.client_key == bindparam("of_key"))
        self.book = book.values(next_slot=start + bindparam("step", type_=_SECONDS)).returning(
            _SLOTS.c.next_slot - now, now
        )
        # `within`: only if the next free slot is at most `window` (lead + within) seconds away.
        self.book_within = self.book.where(_SLOTS.c.next_slot <= now + bindparam("window", type_=_SECONDS))
        self.next_free = select(_SLOTS.c.next_slot - now, now).where(_SLOTS.c.client_key == bindparam("of_key"))


_STATEMENTS = {postgres: _Statements(postgres) for postgres in (False, True)}


class Booking(NamedTuple):
    """Seconds from the database's now: until the first slot booked (None: refused by `within`),
    and until the next slot nobody holds; and that now (epoch seconds), to place them locally."""

    first: float | None
    next_free: float
    now: float


class RateLimitRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._known: set[str] = set()

    async def book(
        self, client_key: str, interval: float, within: float | None, count: int = 1, lead: float = 0.0
    ) -> Booking:
        """Book the next `count` slots of `client_key` (one interval apart), none sooner than `lead`
        seconds from now (the answer must arrive before its slot); with `within`, only if the next
        free slot is at most that many seconds after that."""
        for attempt in range(_SQLITE_BUSY_RETRIES + 1):
            try:
                return await self._book_once(client_key, interval, within, count, lead)
            except OperationalError as exc:
                # SQLite in WAL mode answers "database is locked" at once, without waiting out the
                # busy timeout, when another process wrote between this transaction's snapshot and
                # its write: the booking was not made, so making it again is safe.
                if not self._db.is_sqlite or "locked" not in str(exc) or attempt == _SQLITE_BUSY_RETRIES:
                    raise
                await asyncio.sleep(0.005 * (attempt + 1))
        raise AssertionError("unreachable")

    async def _book_once(
        self, client_key: str, interval: float, within: float | None, count: int, lead: float
    ) -> Booking:
        async with self._db.session(write=True) as session:
            if client_key not in self._known:
                row = {"client_key": client_key, "next_slot": 0.0}
                await insert_or_ignore(session, RateLimitSlot, row, ["client_key"])
            statements = _STATEMENTS[is_postgres(session)]
            params = {"of_key": client_key, "lead": lead, "step": interval * count}
            if within is None:
                statement = statements.book
            else:
                statement, params["window"] = statements.book_within, lead + within
            connection = await session.connection()
            booked = (await connection.execute(statement, params)).one_or_none()
            if booked is None:  # refused: only say when the next slot is free
                refused = (await connection.execute(statements.next_free, {"of_key": client_key})).one()
        self._known.add(client_key)  # only once the row is committed
        if booked is None:
            return Booking(None, max(0.0, float(refused[0])), float(refused[1]))
        next_free = max(0.0, float(booked[0]))
        return Booking(max(0.0, next_free - interval * count), next_free, float(booked[1]))
