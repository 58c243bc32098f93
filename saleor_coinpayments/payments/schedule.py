"""When to re-read an invoice that no notification has reported on: by how likely it is to have changed.

Pure: no I/O, no clock. An invoice is read

- seconds apart while it is fresh (made or changed within SCHEDULE_FRESH_FOR_SECONDS), while its
  buyer watches it (pay page, transactionProcess polls) and it is fresh, and while money is seen
  and waits for confirmations (for SCHEDULE_MONEY_FOR_SECONDS);
- then at a gap that grows with the time nothing changed (SCHEDULE_BACKOFF_FRACTION of it): about
  three minutes once untouched for an hour with the defaults;
- never further apart than RECONCILE_INTERVAL_SECONDS (an hour by default), whatever else;
- and once just after its expiry, when CoinPayments times it out and the buyer's order must hear.

A watching buyer only shortens the gap of a fresh invoice: a page left open on an invoice untouched
for hours costs nothing more than the invoice alone, and the invoice-list sweep (payments/sweep.py)
sees what changes among such invoices in a few calls. Final payments have no next read (None).

Each read also has a deadline (`read_by`), and due reads are made earliest deadline first. A read
that can change what Saleor hears (an unpaid or pending invoice) is due by the time it is due; one
whose outcome Saleor already has (paid and waiting for `completed`, ended and watching for late
money) may wait SCHEDULE_SETTLED_SLACK_SECONDS longer. So when more reads are due than the rate limit
allows, paid invoices wait and a lost notification's invoice does not, and since every read has a
deadline no invoice waits forever.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from saleor_coinpayments.settings import Settings
from saleor_coinpayments.states import PaymentState


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadSchedule:
    """The schedule's settings (settings.py SCHEDULE_* and RECONCILE_INTERVAL_SECONDS), in seconds."""

    watching: float = 3.0
    watching_for: float = 20.0
    fresh: float = 15.0
    fresh_for: float = 900.0
    money_for: float = 7200.0
    backoff_fraction: float = 0.05
    longest: float = 3600.0
    expiry_margin: float = 30.0
    settled_slack: float = 600.0
    sweep_every: float = 15.0
    sweep_window: float = 7200.0

    @classmethod
    def of(cls, settings: Settings) -> ReadSchedule:
        return cls(
            watching=settings.schedule_watching_seconds,
            watching_for=settings.schedule_watching_for_seconds,
            fresh=settings.schedule_fresh_seconds,
            fresh_for=settings.schedule_fresh_for_seconds,
            money_for=settings.schedule_money_for_seconds,
            backoff_fraction=settings.schedule_backoff_fraction,
            longest=settings.reconcile_interval_seconds,
            expiry_margin=settings.schedule_expiry_margin_seconds,
            settled_slack=settings.schedule_settled_slack_seconds,
            sweep_every=settings.sweep_recent_seconds,
            sweep_window=settings.sweep_recent_window_seconds,
        )

    def compressed(self, factor: float) -> ReadSchedule:
        """Every duration divided by `factor` (a bench runs days of schedule in minutes)."""
        return ReadSchedule(
            watching=self.watching / factor,
            watching_for=self.watching_for / factor,
            fresh=self.fresh / factor,
            fresh_for=self.fresh_for / factor,
            money_for=self.money_for / factor,
            backoff_fraction=self.backoff_fraction,
            longest=self.longest / factor,
            expiry_margin=self.expiry_margin / factor,
            settled_slack=self.settled_slack / factor,
            sweep_every=self.sweep_every / factor,
            sweep_window=self.sweep_window / factor,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadFacts:
    """What the schedule needs to know of one payment, as stored."""

    state: PaymentState
    is_final: bool
    created_at: datetime
    changed_at: datetime | None
    """When CoinPayments last said something new of the invoice (None: nothing since it was made)."""
    watching_until: datetime | None
    expires_at: datetime | None


def swept_for(facts: ReadFacts, now: datetime, schedule: ReadSchedule) -> float:
    """Seconds for which the recent sweep still covers this invoice (0: it does not): an unpaid
    invoice made within the sweep's window, while that sweep comes at least as often as fresh reads."""
    if facts.is_final or facts.state is not PaymentState.UNPAID or schedule.sweep_every > schedule.fresh:
        return 0.0
    return max(0.0, (facts.created_at - now).total_seconds() + schedule.sweep_window)


def gap(facts: ReadFacts, now: datetime, schedule: ReadSchedule) -> timedelta | None:
    """How long after `now` the invoice is next read (None: never, it is final)."""
    if facts.is_final:
        return None
    since_change = now - max(facts.created_at, facts.changed_at or facts.created_at)
    untouched = max(0.0, since_change.total_seconds())
    fresh = untouched < schedule.fresh_for
    money_waiting = facts.state is PaymentState.PENDING and untouched < schedule.money_for
    watching = facts.watching_until is not None and facts.watching_until > now
    if watching and fresh:
        seconds = schedule.watching
    elif fresh or money_waiting:
        seconds = schedule.fresh
    else:
        seconds = max(schedule.fresh, untouched * schedule.backoff_fraction)
    covered = swept_for(facts, now, schedule)
    if covered > 0:
        seconds = max(seconds, covered)
    seconds = min(seconds, schedule.longest)
    if facts.expires_at is not None and facts.state in (PaymentState.UNPAID, PaymentState.PENDING):
        after_expiry = (facts.expires_at - now).total_seconds() + schedule.expiry_margin
        if 0 < after_expiry < seconds:
            seconds = after_expiry
    return timedelta(seconds=seconds)


@dataclass(frozen=True, slots=True)
class NextRead:
    """Read not before `at`, and by `by` (the deadline that orders due reads)."""

    at: datetime
    by: datetime


_SALEOR_WAITS = frozenset({PaymentState.UNPAID, PaymentState.PENDING})


def deadline_slack(state: PaymentState, schedule: ReadSchedule) -> timedelta:
    """How long after it is due a read may wait: none while Saleor has no outcome yet."""
    return timedelta(0) if state in _SALEOR_WAITS else timedelta(seconds=schedule.settled_slack)


def next_read(facts: ReadFacts, now: datetime, schedule: ReadSchedule) -> NextRead | None:
    """The next read of the payment after a read at `now` (None: never, it is final)."""
    wait = gap(facts, now, schedule)
    if wait is None:
        return None
    at = now + wait
    return NextRead(at, at + deadline_slack(facts.state, schedule))


def next_check_at(facts: ReadFacts, now: datetime, schedule: ReadSchedule) -> datetime | None:
    """`now` plus the `gap` (None for a final payment)."""
    wait = gap(facts, now, schedule)
    return None if wait is None else now + wait
