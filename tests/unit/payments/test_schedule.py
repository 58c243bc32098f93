"""The read schedule (payments/schedule.py): each rule, and what it costs for a quiet shop."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from saleor_coinpayments.payments.schedule import ReadFacts, ReadSchedule, gap, next_check_at
from saleor_coinpayments.payments.sweep import SWEPT_STATUSES
from saleor_coinpayments.settings import load_settings
from saleor_coinpayments.states import PaymentState

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
# The invoice's own reads: the recent sweep never comes often enough to stand in for them.
RULES = ReadSchedule(sweep_every=3600.0)
SWEPT = ReadSchedule()  # the defaults: the recent sweep covers unpaid invoices made within 2 hours


def _facts(
    *,
    state: PaymentState = PaymentState.UNPAID,
    made: timedelta = timedelta(days=3),
    changed: timedelta | None = None,
    watching_for: timedelta | None = None,
    expires_in: timedelta | None = None,
    final: bool = False,
) -> ReadFacts:
    return ReadFacts(
        state=state,
        is_final=final,
        created_at=NOW - made,
        changed_at=None if changed is None else NOW - changed,
        watching_until=None if watching_for is None else NOW + watching_for,
        expires_at=None if expires_in is None else NOW + expires_in,
    )


def _seconds(facts: ReadFacts, rules: ReadSchedule = RULES) -> float:
    wait = gap(facts, NOW, rules)
    assert wait is not None
    return wait.total_seconds()


def test_a_final_payment_is_never_read_again() -> None:
    assert gap(_facts(final=True, state=PaymentState.COMPLETED), NOW, RULES) is None
    assert next_check_at(_facts(final=True), NOW, RULES) is None


def test_fresh_invoices_are_read_seconds_apart() -> None:
    assert _seconds(_facts(made=timedelta(minutes=1))) == RULES.fresh
    # Made long ago but changed a minute ago: fresh again.
    assert _seconds(_facts(made=timedelta(days=2), changed=timedelta(minutes=1))) == RULES.fresh


def test_a_watching_buyer_brings_reads_closer_while_the_invoice_is_fresh() -> None:
    assert _seconds(_facts(made=timedelta(minutes=2), watching_for=timedelta(seconds=10))) == RULES.watching
    # The watch has ended: the fresh gap again.
    assert _seconds(_facts(made=timedelta(minutes=2), watching_for=timedelta(seconds=-1))) == RULES.fresh
    # A page left open on an invoice untouched for hours costs no more than the invoice alone.
    old = _facts(made=timedelta(hours=5), watching_for=timedelta(seconds=10))
    assert _seconds(old) == _seconds(_facts(made=timedelta(hours=5)))


def test_money_seen_keeps_reads_seconds_apart_for_hours_then_backs_off() -> None:
    waiting = _facts(state=PaymentState.PENDING, made=timedelta(days=1), changed=timedelta(hours=1))
    assert _seconds(waiting) == RULES.fresh
    stuck = _facts(state=PaymentState.PENDING, made=timedelta(days=1), changed=timedelta(hours=3))
    assert _seconds(stuck) == pytest.approx(3 * 3600 * RULES.backoff_fraction)


def test_untouched_for_an_hour_means_minutes_apart() -> None:
    assert _seconds(_facts(made=timedelta(hours=1))) == pytest.approx(180.0)
    assert 60 <= _seconds(_facts(made=timedelta(hours=1))) <= 600


def test_untouched_for_days_is_read_hourly_at_most() -> None:
    assert _seconds(_facts(made=timedelta(days=3))) == 3600.0
    assert _seconds(_facts(made=timedelta(days=30))) == 3600.0
    # Paid and waiting for `completed` is no different once it has been quiet for days.
    assert _seconds(_facts(state=PaymentState.PAID, made=timedelta(days=9), changed=timedelta(days=2))) == 3600.0


def test_the_gap_grows_with_the_time_nothing_changed() -> None:
    gaps = [_seconds(_facts(made=timedelta(minutes=minutes))) for minutes in (1, 20, 60, 240, 1200, 5000)]
    assert gaps == sorted(gaps)
    assert gaps[0] < gaps[1] < gaps[-2]


def test_an_open_invoice_is_read_just_after_its_expiry() -> None:
    facts = _facts(made=timedelta(days=6), expires_in=timedelta(minutes=10))
    assert _seconds(facts) == 600 + RULES.expiry_margin
    # Expired already: the usual gap (the read after expiry has been made).
    assert _seconds(_facts(made=timedelta(days=6), expires_in=timedelta(minutes=-10))) == 3600.0
    # Paid: its expiry changes nothing.
    paid = _facts(state=PaymentState.PAID, made=timedelta(days=6), expires_in=timedelta(minutes=10))
    assert _seconds(paid) == 3600.0


def test_reconcile_interval_bounds_every_gap_and_the_settings_feed_the_schedule() -> None:
    settings = load_settings(reconcile_interval_seconds=0.3, schedule_fresh_seconds=7)
    rules = ReadSchedule.of(settings)
    assert rules.longest == 0.3
    assert _seconds(_facts(made=timedelta(days=3)), rules) == 0.3
    assert _seconds(_facts(made=timedelta(minutes=1)), rules) == 0.3
    assert ReadSchedule.of(load_settings()) == SWEPT  # the documented defaults are the dataclass's


def test_a_compressed_schedule_is_the_same_schedule_faster() -> None:
    fast = RULES.compressed(60)
    facts = _facts(made=timedelta(days=3) / 60)
    assert _seconds(facts, fast) == pytest.approx(3600 / 60)
    assert _seconds(_facts(made=timedelta(hours=1) / 60), fast) == pytest.approx(180 / 60)


def test_the_recent_sweep_stands_in_for_the_reads_of_unpaid_invoices_in_its_window() -> None:
    # Made a minute ago, watched or not: the sweep looks every 15 s; its own next read is an hour away.
    assert _seconds(_facts(made=timedelta(minutes=1)), SWEPT) == SWEPT.longest
    assert _seconds(_facts(made=timedelta(minutes=1), watching_for=timedelta(seconds=10)), SWEPT) == SWEPT.longest
    # Made 90 minutes ago: read when it leaves the window, 30 minutes on.
    assert _seconds(_facts(made=timedelta(minutes=90)), SWEPT) == pytest.approx(1800.0)
    # Out of the window: its own schedule again (5 % of 3 hours).
    assert _seconds(_facts(made=timedelta(hours=3)), SWEPT) == pytest.approx(540.0)
    # Still read just after its expiry.
    assert _seconds(_facts(made=timedelta(minutes=1), expires_in=timedelta(minutes=10)), SWEPT) == 600 + 30
    # Money seen: confirmations do not show in the list, so its own reads, watched ones closer.
    pending = _facts(state=PaymentState.PENDING, made=timedelta(minutes=1), watching_for=timedelta(seconds=10))
    assert _seconds(pending, SWEPT) == SWEPT.watching
    # A sweep that comes less often than fresh reads stands in for none.
    assert _seconds(_facts(made=timedelta(minutes=1)), ReadSchedule(sweep_every=16.0)) == 15.0


def reads_per_second(population: list[ReadFacts], start: datetime, hours: int, rules: ReadSchedule) -> float:
    """Re-reads the schedule makes of `population` over `hours` from `start`, when nothing changes."""
    horizon = start + timedelta(hours=hours)
    reads = 0
    for facts in population:
        at = start + (gap(facts, start, rules) or timedelta(0)) * random.random()  # mid-gap when we look
        while at < horizon:
            reads += 1
            at = next_check_at(facts, at, rules) or horizon
    return reads / (hours * 3600)


def test_ten_thousand_invoices_untouched_for_days_cost_under_a_tenth_of_the_limit() -> None:
    """Issue 24 "Quiet": 10,000 open invoices, nothing happening, at most 7 reads a second (10 % of
    70/s), sweeps included. Sent-out invoices made one to seven days ago, due seven days after."""
    random.seed(24)
    population = []
    for _ in range(10_000):
        made = NOW - timedelta(days=1 + 6 * random.random())
        population.append(
            ReadFacts(
                state=PaymentState.UNPAID,
                is_final=False,
                created_at=made,
                changed_at=None,
                watching_until=None,
                expires_at=made + timedelta(days=7),
            )
        )
    settings = load_settings()
    rate = reads_per_second(population, NOW, 24, ReadSchedule.of(settings))
    sweeps = len(SWEPT_STATUSES) * (1 / settings.sweep_recent_seconds + 1 / settings.sweep_all_seconds)
    assert rate + sweeps <= 7.0
    assert rate == pytest.approx(10_000 / 3600, rel=0.05)  # hourly each, plus one read after expiry


def test_a_thousand_open_pay_pages_on_fresh_checkouts_cost_almost_no_reads() -> None:
    """Issue 24 "Quiet" with its 1,000 open pay pages: checkouts made within the last 15 minutes,
    their buyers watching. Read each on their own every 3 s they would ask 333 reads a second."""
    random.seed(7)
    population = [
        ReadFacts(
            state=PaymentState.UNPAID,
            is_final=False,
            created_at=NOW - timedelta(minutes=15 * random.random()),
            changed_at=None,
            watching_until=NOW + timedelta(days=1),
            expires_at=None,
        )
        for _ in range(1_000)
    ]
    assert reads_per_second(population, NOW, 1, SWEPT) <= 0.5
    # Without the sweep standing in: over half the limit averaged over the hour they go stale in.
    assert reads_per_second(population, NOW, 1, RULES) >= 35
