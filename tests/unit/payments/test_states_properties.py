"""Properties of the payment state machine over any sequence of views (Hypothesis).

Webhook retries, the reconciler and returning buyers deliver views twice, late and out of order,
and CoinPayments' own reads can lag (a stale view says less than an earlier one). Whatever the
sequence, in every currency precision:

- credits only grow (each step keeps the earlier credits and may add one);
- the credits reported add up to the highest credited amount seen (rounded to the currency);
- a failure is reported at most once, and only while nothing is credited;
- the same view applied twice never makes a second report;
- states only move forward.

The example count is bounded so these run in `make test`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta, timezone
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from saleor_coinpayments.money import Money, quantize
from saleor_coinpayments.states import (
    InvoiceView,
    PaymentSnapshot,
    PaymentState,
    Report,
    apply,
)
from tests.unit.payments.test_states import INV, RANK, T0

FAILED = (PaymentState.EXPIRED, PaymentState.CANCELLED)

# Statuses as CoinPayments spells them (and a few spellings it might), plus one it never sent.
STATUSES = ["unpaid", "pending", "paid", "completed", "cancelled", "timedOut", "deleted", "TimedOut",
            "scheduledForPayout", "expired", "draft", "somethingNew"]  # fmt: skip

# (asked amount, currency, decimals): every precision the app meets.
CHECKOUTS = [("20.00", "USD", 2), ("3000", "JPY", 0), ("12.345", "KWD", 3), ("0.00051240", "BTC", 8)]

amounts = st.one_of(
    st.sampled_from(["0", "0.004", "0.5", "0.00051240", "1", "12", "19.995", "20", "20.004", "25.5", "3000.4"]),
    st.decimals(min_value=0, max_value=5000, places=4, allow_nan=False, allow_infinity=False).map(str),
).map(Decimal)
zones = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))])


@st.composite
def views(draw: st.DrawFn) -> InvoiceView:
    zone = draw(zones)
    return InvoiceView(
        status=draw(st.sampled_from(STATUSES)),
        credited=draw(amounts),
        detected=draw(amounts),
        confirmations=draw(st.integers(0, 3)),
        required_confirmations=draw(st.integers(0, 3)),
        refunded=draw(st.one_of(st.just(Decimal(0)), amounts)),
        partial_accept_available=draw(st.booleans()),
        observed_at=(T0 + timedelta(minutes=draw(st.integers(0, 3 * 24 * 60)))).astimezone(zone),
        expires_at=T0 + timedelta(hours=1),
        detected_display=draw(st.sampled_from([None, "0.00051240 BTC"])),
    )


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[PaymentSnapshot, list[InvoiceView]]:
    """A checkout and the views it gets: a handful of distinct ones, delivered repeated and in any order."""
    asked, currency, decimals = draw(st.sampled_from(CHECKOUTS))
    snapshot = PaymentSnapshot(
        state=PaymentState.UNPAID,
        invoice_id=INV,
        amount=Money.of(asked, currency, decimals),
        checkout_link="https://checkout.example.com/?invoice-id=" + INV,
    )
    distinct = draw(st.lists(views(), min_size=1, max_size=5))
    delivered = draw(st.lists(st.sampled_from(distinct), min_size=1, max_size=12))
    return snapshot, delivered


@dataclass
class Step:
    before: PaymentSnapshot
    view: InvoiceView
    after: PaymentSnapshot
    reports: tuple[Report, ...]


def steps(start: PaymentSnapshot, delivered: list[InvoiceView]) -> list[Step]:
    """Apply each view to what the store holds after the previous one was committed."""
    out: list[Step] = []
    current = start
    for v in delivered:
        t = apply(current, v)
        after = t.snapshot(current)
        out.append(Step(current, v, after, t.reports))
        current = after
    return out


@settings(max_examples=100, deadline=None)
@given(deliveries())
def test_credits_only_grow(delivery: tuple[PaymentSnapshot, list[InvoiceView]]) -> None:
    for step in steps(*delivery):
        kept = step.after.credits[: len(step.before.credits)]
        assert kept == step.before.credits, "earlier credits are never changed or dropped"
        assert len(step.after.credits) - len(step.before.credits) in (0, 1), "at most one new credit per view"
        assert step.after.credited >= step.before.credited
        assert all(credit.amount > 0 for credit in step.after.credits)


@settings(max_examples=100, deadline=None)
@given(deliveries())
def test_reported_credits_add_up_to_the_highest_credited_amount_seen(
    delivery: tuple[PaymentSnapshot, list[InvoiceView]],
) -> None:
    start, delivered = delivery
    run = steps(start, delivered)
    decimals = start.amount.decimals
    credits = [r for step in run for r in step.reports if r.type == "CHARGE_SUCCESS"]
    highest = max(quantize(v.credited, decimals) for v in delivered)
    assert sum((r.amount or Decimal(0) for r in credits), Decimal(0)) == highest
    assert run[-1].after.credited == highest
    assert [r.psp_reference for r in credits] == [INV if n == 1 else f"{INV}:{n}" for n in range(1, len(credits) + 1)]
    stored = [(c.psp_reference, c.amount) for c in run[-1].after.credits]
    assert [(r.psp_reference, r.amount) for r in credits] == stored


@settings(max_examples=100, deadline=None)
@given(deliveries())
def test_a_failure_is_reported_once_and_only_while_nothing_is_credited(
    delivery: tuple[PaymentSnapshot, list[InvoiceView]],
) -> None:
    run = steps(*delivery)
    failures = 0
    for step in run:
        for report in step.reports:
            if report.type == "CHARGE_FAILURE":
                failures += 1
                assert step.before.credited == 0, "a failure after money was credited"
                assert step.after.credited == 0, "a failure with money credited"
        if step.after.failure_reported:
            assert step.after.state in FAILED or step.after.credits, "the flag only follows a failure"
    assert failures <= 1
    assert failures == int(run[-1].after.failure_reported)


@settings(max_examples=100, deadline=None)
@given(deliveries())
def test_the_same_view_twice_never_makes_a_second_report(delivery: tuple[PaymentSnapshot, list[InvoiceView]]) -> None:
    run = steps(*delivery)
    for step in run:
        again = apply(step.after, step.view)
        assert again.reports == (), f"{step.view} reported twice"
        assert again.snapshot(step.after) == step.after
    keys = [r.dedup_key for step in run for r in step.reports]
    assert len(keys) == len(set(keys)), "each meaning is reported once per payment"


@settings(max_examples=100, deadline=None)
@given(deliveries())
def test_states_only_move_forward(delivery: tuple[PaymentSnapshot, list[InvoiceView]]) -> None:
    for step in steps(*delivery):
        assert RANK[step.after.state] >= RANK[step.before.state]
        if step.after.credits:
            assert step.after.state in (PaymentState.PAID, PaymentState.COMPLETED), "money credited is paid"
