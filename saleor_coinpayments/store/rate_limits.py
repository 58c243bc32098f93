"""All SQL of the shared CoinPayments rate limiter: one atomic statement books the next slot.

A slot is a moment, on the database's clock, at which one request may start. `next_slot` is the
client id's cursor. A booking of `count` slots starts at max(next_slot − allowance, now + lead) and
moves the cursor `count` intervals past the later of itself and that start, in a single UPDATE …
RETURNING, so however many replicas book at once (row lock on PostgreSQL, the single writer on
SQLite) the slots keep to the rule: never closer than one interval, except that a booking with an
allowance (a live request) may come that much before the cursor. Every booking also answers when
the next slot nobody holds comes, refused or not, so a background booker can time its next try.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Float, bindparam, cast, extract, func, select, update

from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.fast_path import HotStatement
from saleor_coinpayments.store.tables import RateLimitSlot, core_table

_SECONDS = Float(precision=53)
MOST_EARLY_INTERVALS = 2  # a live booking's allowance: the limiter spaces its slots for it
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
        start = latest(
            _SLOTS.c.next_slot - bindparam("allowance", type_=_SECONDS), now + bindparam("lead", type_=_SECONDS)
        )
        cursor = latest(_SLOTS.c.next_slot, start) + bindparam("step", type_=_SECONDS)
        book = update(_SLOTS).where(_SLOTS.c.client_key == bindparam("of_key"))
        self.book = book.values(next_slot=cursor).returning(_SLOTS.c.next_slot - now, now)
        self.now = select(now)
        # `within`: only if the next free slot is at most `window` (lead + within) seconds away.
        self.book_within = self.book.where(_SLOTS.c.next_slot <= now + bindparam("window", type_=_SECONDS))
        self.next_free = select(_SLOTS.c.next_slot - now, now).where(_SLOTS.c.client_key == bindparam("of_key"))


_STATEMENTS = {postgres: _Statements(postgres) for postgres in (False, True)}


def _hot(pick: Callable[[_Statements], Any]) -> HotStatement:
    return HotStatement(lambda dialect_name: pick(_STATEMENTS[dialect_name == "postgresql"]))


_BOOK = _hot(lambda statements: statements.book)
_BOOK_WITHIN = _hot(lambda statements: statements.book_within)
_NEXT_FREE = _hot(lambda statements: statements.next_free)
_NOW = _hot(lambda statements: statements.now)
_CREATE = HotStatement.insert_or_ignore(RateLimitSlot, ["client_key"])


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
        self,
        client_key: str,
        interval: float,
        within: float | None,
        count: int = 1,
        lead: float = 0.0,
        allowance: float = 0.0,
    ) -> Booking:
        """Book the next `count` slots of `client_key` (one interval apart), none sooner than `lead`
        seconds from now (the answer must arrive before its slot) and the first up to `allowance`
        (at most MOST_EARLY_INTERVALS intervals) before the next free one; with `within`, only if the next free slot
        is at most that many seconds after the lead.

        On the fast path (store/fast_path.py): one booking precedes every CoinPayments request, and
        through a session it cost more CPU than the request. Each statement is atomic by itself,
        so PostgreSQL runs them without a transaction around them."""
        if not 0 <= allowance <= MOST_EARLY_INTERVALS * interval:
            raise ValueError(f"the allowance is between 0 and {MOST_EARLY_INTERVALS} intervals")
        params = {
            "of_key": client_key,
            "lead": lead,
            "allowance": allowance,
            "step": interval * count,
        }
        if within is None:
            statement = _BOOK
        else:
            statement, params["window"] = _BOOK_WITHIN, lead + within
        async with self._db.fast.unit(atomic=False) as unit:
            if client_key not in self._known:
                await unit.execute(_CREATE, {"client_key": client_key, "next_slot": 0.0})
            booked = await unit.fetch_one(statement, params)
            if booked is None:  # refused: only say when the next slot is free
                refused = await unit.fetch_one(_NEXT_FREE, {"of_key": client_key})
        self._known.add(client_key)  # only once the row is committed
        if booked is None:
            assert refused is not None, "the client's row exists"
            return Booking(None, max(0.0, float(refused[0])), float(refused[1]))
        next_free = float(booked[0])
        return Booking(_first_slot(next_free, interval, count, lead, allowance), next_free, float(booked[1]))

    async def database_now(self) -> float:
        """The database's now (epoch seconds), on the bookings' own connections: the limiter reads
        it to set its clock before its first booking."""
        row = await self._db.fast.fetch_one(_NOW, {})
        assert row is not None
        return float(row[0])


def _first_slot(next_free: float, interval: float, count: int, lead: float, allowance: float) -> float:
    """The booking's first slot (seconds from the database's now), from the cursor it left.

    RETURNING sees only the new cursor, `count` intervals past the later of the old cursor and the
    start. A start at or after the old cursor is `count` intervals back from the new one (and is
    the lead when the allowance was not used); an earlier one was the allowance before the old
    cursor, and so later than the lead: the later of the two is the start either way."""
    return max(0.0, lead, next_free - interval * count - allowance)
