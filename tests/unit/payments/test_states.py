"""The payment state machine: every row of DESIGN.md "Payment states", and the guarantees the
outbox relies on (forward only, credits only grow, each report once) under duplicated and
reordered views."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from saleor_coinpayments.money import Money
from saleor_coinpayments.states import (
    DEFAULT_LATE_WINDOW,
    MESSAGE_LIMIT,
    Credit,
    InvoiceView,
    PaymentSnapshot,
    PaymentState,
    Report,
    SessionAnswer,
    Transition,
    apply,
    normalise_status,
    session_answer,
)

D = Decimal
INV = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
LINK = "https://checkout.example.com/checkout/?invoice-id=" + INV
T0 = datetime(2026, 3, 1, 2, 30, tzinfo=UTC)
EXPIRES = T0 + timedelta(hours=1)

RANK = {
    PaymentState.UNPAID: 0,
    PaymentState.PENDING: 1,
    PaymentState.EXPIRED: 2,
    PaymentState.CANCELLED: 2,
    PaymentState.PAID: 3,
    PaymentState.COMPLETED: 4,
}


def snap(amount: str = "20.00", currency: str = "USD", **kwargs: object) -> PaymentSnapshot:
    base: dict[str, object] = {
        "state": PaymentState.UNPAID,
        "invoice_id": INV,
        "amount": Money.of(amount, currency),
        "checkout_link": LINK,
    }
    base.update(kwargs)
    return PaymentSnapshot(**base)  # type: ignore[arg-type]


def view(
    status: str,
    credited: str = "0",
    detected: str = "0",
    *,
    minutes: float = 5,
    confirmations: int = 0,
    required: int = 2,
    refunded: str = "0",
    **kwargs: object,
) -> InvoiceView:
    return InvoiceView(
        status=status,
        credited=D(credited),
        detected=D(detected),
        confirmations=confirmations,
        required_confirmations=required,
        refunded=D(refunded),
        partial_accept_available=bool(kwargs.pop("partial_accept_available", False)),
        observed_at=T0 + timedelta(minutes=minutes),
        expires_at=kwargs.pop("expires_at", EXPIRES),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )


@dataclass
class Run:
    snapshot: PaymentSnapshot
    reports: list[Report]
    last: Transition


def run(views: Iterable[InvoiceView], start: PaymentSnapshot | None = None) -> Run:
    """Apply views one after another, as the store would (the snapshot after each commit)."""
    current = start or snap()
    reports: list[Report] = []
    last: Transition | None = None
    for v in views:
        last = apply(current, v)
        reports.extend(last.reports)
        current = last.snapshot(current)
    assert last is not None
    return Run(current, reports, last)


def kinds(reports: Iterable[Report]) -> list[tuple[str, str, str | None, str]]:
    return [(r.type, r.psp_reference, None if r.amount is None else str(r.amount), r.dedup_key) for r in reports]


# --------------------------------------------------------------------------------------------
# DESIGN.md table, row by row
# --------------------------------------------------------------------------------------------


def test_row_unpaid_nothing_detected() -> None:
    t = apply(snap(), view("unpaid"))
    assert t.state is PaymentState.UNPAID
    assert t.reports == ()
    assert not t.is_final
    answer = session_answer(t.snapshot(snap()))
    assert answer == SessionAnswer(
        result="CHARGE_ACTION_REQUIRED",
        psp_reference=INV,
        amount=D("20.00"),
        message="Waiting for the crypto payment: pay on the CoinPayments page.",
        external_url=LINK,
    )


def test_row_pending_detected() -> None:
    t = apply(snap(), view("pending", detected="20.00", confirmations=1, detected_display="0.00051240 BTC"))
    assert t.state is PaymentState.PENDING
    assert t.detected_reported
    assert kinds(t.reports) == [("INFO", INV, "20.00", "info:detected")]
    assert t.reports[0].message == (
        "Payment detected: 0.00051240 BTC (≈ 20.00 USD) (1 of 2 confirmations). "
        "It counts as paid once CoinPayments has confirmed it."
    )
    answer = session_answer(t.snapshot(snap()))
    assert (answer.result, answer.psp_reference, answer.amount) == ("CHARGE_REQUEST", INV, D("20.00"))
    assert not any(r.type.startswith("CHARGE_REQUEST") for r in t.reports), "async CHARGE_REQUEST is a no-op (B2)"


def test_row_paid() -> None:
    t = apply(snap(), view("paid", credited="20.00"))
    assert t.state is PaymentState.PAID
    assert kinds(t.reports) == [("CHARGE_SUCCESS", INV, "20.00", "credit:1")]
    assert t.reports[0].message == "Crypto payment received: 20.00 USD."
    assert t.credits == (Credit(INV, D("20.00")),)
    assert not t.is_final, "paid is not final: completion (and any late top-up) may follow"
    answer = session_answer(t.snapshot(snap()))
    # Exactly what the async report says, so Saleor answers alreadyProcessed to the second one.
    assert (answer.result, answer.psp_reference, answer.amount) == ("CHARGE_SUCCESS", INV, D("20.00"))


def test_row_completed() -> None:
    t = apply(snap(), view("completed", credited="20.00"))
    assert t.state is PaymentState.COMPLETED
    assert kinds(t.reports) == [("CHARGE_SUCCESS", INV, "20.00", "credit:1")]
    assert t.is_final


@pytest.mark.parametrize(
    ("status", "state", "word"),
    [
        ("timedOut", PaymentState.EXPIRED, "expired"),
        ("cancelled", PaymentState.CANCELLED, "was cancelled"),
        ("deleted", PaymentState.CANCELLED, "was cancelled"),
    ],
)
def test_row_failed_with_nothing_credited(status: str, state: PaymentState, word: str) -> None:
    t = apply(snap(), view(status, minutes=61))
    assert t.state is state
    assert t.failure_reported
    assert kinds(t.reports) == [("CHARGE_FAILURE", INV, "20.00", "failure")]
    assert t.reports[0].message == (
        f"The crypto payment {word} before any payment arrived. Nothing was charged; please start a new payment."
    )
    answer = session_answer(t.snapshot(snap()))
    assert (answer.result, answer.psp_reference) == ("CHARGE_FAILURE", INV)
    assert "start a new payment" in answer.message


def test_row_partly_credited_then_topped_up() -> None:
    r = run([view("pending", credited="12.00", detected="0"), view("paid", credited="20.00")])
    assert kinds(r.reports) == [
        ("CHARGE_SUCCESS", INV, "12.00", "credit:1"),
        ("CHARGE_SUCCESS", f"{INV}:2", "8.00", "credit:2"),
    ]
    assert r.reports[0].message == "Crypto payment received: 12.00 USD of 20.00 USD."
    assert r.reports[1].message == "Further crypto payment received: 8.00 USD (20.00 USD of 20.00 USD in total)."
    assert r.snapshot.credits == (Credit(INV, D("12.00")), Credit(f"{INV}:2", D("8.00")))
    assert r.snapshot.state is PaymentState.PAID
    answer = session_answer(r.snapshot)
    assert (answer.result, answer.psp_reference, answer.amount) == ("CHARGE_SUCCESS", INV, D("12.00"))
    assert not any(rep.dedup_key == "info:underpaid" for rep in r.reports), "topped up before the invoice settled"


def test_row_three_credits_number_on() -> None:
    r = run([view("pending", credited="5"), view("pending", credited="12"), view("paid", credited="20")])
    assert [(rep.psp_reference, rep.amount, rep.dedup_key) for rep in r.reports] == [
        (INV, D("5.00"), "credit:1"),
        (f"{INV}:2", D("7.00"), "credit:2"),
        (f"{INV}:3", D("8.00"), "credit:3"),
    ]


def test_row_overpaid() -> None:
    t = apply(snap(), view("paid", credited="25.00"))
    assert kinds(t.reports) == [
        ("CHARGE_SUCCESS", INV, "25.00", "credit:1"),
        ("INFO", INV, "5.00", "info:overpaid"),
    ]
    assert "Received 25.00 USD for 20.00 USD: 5.00 USD more than asked" in t.reports[1].message


def test_row_underpaid_when_the_invoice_settles() -> None:
    t = apply(snap(), view("timedOut", credited="12.00", minutes=61))
    assert t.state is PaymentState.PAID, "money credited is never a failure"
    assert not t.failure_reported
    assert kinds(t.reports) == [
        ("CHARGE_SUCCESS", INV, "12.00", "credit:1"),
        ("INFO", INV, "12.00", "info:underpaid"),
    ]
    message = t.reports[1].message
    assert message.startswith("Received 12.00 USD of 20.00 USD (8.00 USD short); 12.00 USD is recorded as charged.")
    assert "remaining 8.00 USD" in message


def test_underpaid_with_partial_accept_says_what_coinpayments_does() -> None:
    t = apply(snap(), view("paid", credited="12.00", partial_accept_available=True))
    assert [r.dedup_key for r in t.reports] == ["credit:1", "info:underpaid"]
    assert "accept it in the CoinPayments dashboard" in t.reports[1].message
    assert "refund e-mail" in t.reports[1].message


def test_partial_while_pending_is_not_called_underpaid_yet() -> None:
    t = apply(snap(), view("pending", credited="12.00", detected="8.00"))
    assert [r.dedup_key for r in t.reports] == ["credit:1"]
    assert t.state is PaymentState.PAID


def test_row_late_payment_after_expiry() -> None:
    r = run([view("unpaid"), view("timedOut", minutes=61)])
    assert [rep.dedup_key for rep in r.reports] == ["failure"]
    late = apply(r.snapshot, view("timedOut", credited="20.00", minutes=90))
    assert late.state is PaymentState.PAID
    assert kinds(late.reports) == [
        ("CHARGE_SUCCESS", INV, "20.00", "credit:1"),
        ("INFO", INV, "20.00", "info:late"),
    ]
    assert "arrived after the invoice expired" in late.reports[1].message
    assert late.failure_reported, "the failure stays recorded; it is never reported twice"
    answer = session_answer(late.snapshot(r.snapshot))
    assert (answer.result, answer.amount) == ("CHARGE_SUCCESS", D("20.00"))
    again = apply(late.snapshot(r.snapshot), view("timedOut", credited="20.00", minutes=95))
    assert again.reports == ()


def test_late_payment_after_cancellation_completes() -> None:
    r = run([view("cancelled", minutes=10), view("completed", credited="20.00", minutes=30)])
    assert [rep.dedup_key for rep in r.reports] == ["failure", "credit:1", "info:late"]
    assert "was cancelled" in r.reports[2].message
    assert r.snapshot.state is PaymentState.COMPLETED
    assert r.last.is_final


def test_row_refunded_by_coinpayments() -> None:
    r = run([view("timedOut", detected="20.00", minutes=61), view("timedOut", refunded="20.00", minutes=70)])
    assert kinds(r.reports) == [
        ("CHARGE_FAILURE", INV, "20.00", "failure"),
        ("INFO", INV, "20.00", "info:unconfirmed"),
        ("INFO", INV, "20.00", "info:refunded"),
    ]
    assert "refund e-mail" in r.reports[0].message
    assert "was seen but not confirmed when the invoice expired" in r.reports[1].message
    assert r.reports[2].message.startswith("CoinPayments refunds 20.00 USD to the buyer's refund e-mail address")


@pytest.mark.parametrize(("detected", "refunded"), [("0", "0"), ("5.00", "0"), ("0", "5.00"), ("5.00", "5.00")])
def test_cancellation_with_and_without_funds(detected: str, refunded: str) -> None:
    t = apply(snap(), view("cancelled", detected=detected, refunded=refunded))
    assert t.state is PaymentState.CANCELLED
    keys = [r.dedup_key for r in t.reports]
    assert keys[0] == "failure"
    assert [r.type for r in t.reports].count("CHARGE_FAILURE") == 1
    assert ("info:unconfirmed" in keys) == (detected != "0")
    assert ("info:refunded" in keys) == (refunded != "0")
    failure = t.reports[0].message
    assert ("Nothing was charged" in failure) == (detected == "0" and refunded == "0")


# --------------------------------------------------------------------------------------------
# Whole journeys, duplicates and reordering
# --------------------------------------------------------------------------------------------


def test_happy_path() -> None:
    views = [
        view("unpaid", minutes=1),
        view("pending", detected="20.00", confirmations=1, minutes=10),
        view("pending", detected="20.00", confirmations=1, minutes=11),  # invoicePending re-sent
        view("pending", detected="20.00", confirmations=2, minutes=20),
        view("paid", credited="20.00", minutes=22),
        view("completed", credited="20.00", minutes=35),
    ]
    states: list[PaymentState] = []
    current = snap()
    reports: list[Report] = []
    for v in views:
        t = apply(current, v)
        reports.extend(t.reports)
        current = t.snapshot(current)
        states.append(t.state)
    assert states == [
        PaymentState.UNPAID,
        PaymentState.PENDING,
        PaymentState.PENDING,
        PaymentState.PENDING,
        PaymentState.PAID,
        PaymentState.COMPLETED,
    ]
    assert kinds(reports) == [("INFO", INV, "20.00", "info:detected"), ("CHARGE_SUCCESS", INV, "20.00", "credit:1")]
    assert reports[0].time == T0 + timedelta(minutes=10)
    assert reports[1].time == T0 + timedelta(minutes=22)
    assert t.is_final
    assert current.info_keys == frozenset({"info:detected"})


def test_reordered_views_change_nothing() -> None:
    paid = run([view("paid", credited="20.00", minutes=20)]).snapshot
    for stale in (
        view("pending", detected="20.00", confirmations=1, minutes=25),
        view("unpaid", minutes=26),
        view("pending", credited="12.00", minutes=27),  # lower credited
        view("paid", credited="0", minutes=28),
    ):
        t = apply(paid, stale)
        assert t.reports == (), stale
        assert t.state is PaymentState.PAID
        assert t.credits == paid.credits
        assert not t.detected_reported, "a stale pending view after payment says nothing"

    pending = run([view("pending", detected="20.00", minutes=10)]).snapshot
    t = apply(pending, view("unpaid", minutes=12))
    assert (t.state, t.reports) == (PaymentState.PENDING, ())

    completed = run([view("completed", credited="20.00")]).snapshot
    t = apply(completed, view("paid", credited="20.00"))
    assert (t.state, t.reports, t.is_final) == (PaymentState.COMPLETED, (), True)

    expired = run([view("timedOut", minutes=61)]).snapshot
    for stale in (view("unpaid", minutes=62), view("pending", detected="3", minutes=63)):
        t = apply(expired, stale)
        assert (t.state, t.reports) == (PaymentState.EXPIRED, ()), stale

    cancelled = run([view("cancelled")]).snapshot
    t = apply(cancelled, view("timedOut", minutes=70))
    assert (t.state, t.reports) == (PaymentState.CANCELLED, ()), "the first ending stays, no second failure"


@pytest.mark.parametrize(
    "v",
    [
        view("unpaid"),
        view("pending", detected="20", confirmations=1),
        view("paid", credited="20"),
        view("completed", credited="25", refunded="1"),
        view("timedOut", minutes=61),
        view("timedOut", credited="12", minutes=61),
        view("cancelled", detected="4", refunded="4"),
        view("paid", credited="12", partial_accept_available=True),
    ],
)
def test_applying_the_same_view_twice_reports_once(v: InvoiceView) -> None:
    first = apply(snap(), v)
    second = apply(first.snapshot(snap()), v)
    assert second.reports == ()
    assert second.state is first.state
    assert second.credits == first.credits
    assert second.info_keys == first.info_keys
    assert (second.failure_reported, second.detected_reported) == (first.failure_reported, first.detected_reported)


def test_no_detected_info_when_money_is_credited_at_once() -> None:
    t = apply(snap(), view("paid", credited="20.00", detected="0"))
    assert [r.dedup_key for r in t.reports] == ["credit:1"]
    t = apply(snap(), view("pending", credited="20.00", detected="1.00"))
    assert [r.dedup_key for r in t.reports] == ["credit:1"]


def test_detected_info_once_even_if_the_flag_was_only_in_info_keys() -> None:
    s = snap(state=PaymentState.PENDING, info_keys=frozenset({"info:detected"}))
    t = apply(s, view("pending", detected="20"))
    assert t.reports == ()
    assert t.detected_reported
    s = snap(state=PaymentState.PENDING, detected_reported=True)
    assert apply(s, view("pending", detected="20")).reports == ()


def test_paid_status_without_a_countable_amount_waits() -> None:
    t = apply(snap(), view("paid", credited="0"))
    assert (t.state, t.reports) == (PaymentState.PENDING, ())
    assert session_answer(t.snapshot(snap())).result == "CHARGE_REQUEST"


def test_unknown_status_moves_only_on_money() -> None:
    assert apply(snap(), view("somethingNew")).state is PaymentState.UNPAID
    t = apply(snap(), view("somethingNew", credited="20"))
    assert (t.state, [r.dedup_key for r in t.reports]) == (PaymentState.PAID, ["credit:1"])
    assert not t.is_final


def _truth_sequence(rng: random.Random) -> list[InvoiceView]:
    """What CoinPayments could honestly say over time for one invoice (monotone)."""
    asked = D("20.00")
    views: list[InvoiceView] = []
    minute = 0.0
    credited = D(0)
    detected = D(0)
    refunded = D(0)
    status = "unpaid"
    for _ in range(rng.randint(1, 8)):
        minute += rng.randint(1, 30)
        step = rng.random()
        if status in ("completed",):
            pass
        elif step < 0.3:
            detected = D(rng.choice(["5", "12", "20", "25.5"]))
            status = "pending" if status in ("unpaid", "pending") else status
        elif step < 0.6:
            credited = max(credited, D(rng.choice(["5", "12", "20", "20.004", "25.5", "19.995"])))
            detected = D(0)
            status = rng.choice(["pending", "paid"]) if credited < asked else rng.choice(["paid", "completed"])
        elif step < 0.75:
            status = rng.choice(["timedOut", "cancelled"]) if status in ("unpaid", "pending") else status
        elif step < 0.85:
            refunded = max(refunded, D(rng.choice(["1", "5"])))
        else:
            status = "completed" if credited > 0 else status
        views.append(
            view(
                status,
                str(credited),
                str(detected),
                refunded=str(refunded),
                minutes=minute,
                confirmations=rng.randint(0, 3),
                partial_accept_available=rng.random() < 0.3,
            )
        )
    return views


@pytest.mark.parametrize("seed", range(60))
def test_random_duplicated_and_reordered_views_keep_the_guarantees(seed: int) -> None:
    rng = random.Random(seed)
    truth = _truth_sequence(rng)
    delivered = list(truth) + [rng.choice(truth) for _ in range(rng.randint(0, 6))]
    rng.shuffle(delivered)
    # The reconciler eventually reads the latest truth.
    delivered.append(truth[-1])
    current = snap()
    reports: list[Report] = []
    for v in delivered:
        t = apply(current, v)
        assert RANK[t.state] >= RANK[current.state], "states only move forward"
        assert t.credits[: len(current.credits)] == current.credits, "credits only grow"
        assert t.info_keys >= current.info_keys
        if t.credits and current.state not in (PaymentState.EXPIRED, PaymentState.CANCELLED):
            assert t.state in (PaymentState.PAID, PaymentState.COMPLETED)
        reports.extend(t.reports)
        current = t.snapshot(current)
    keys = [r.dedup_key for r in reports]
    assert len(keys) == len(set(keys)), f"a report twice: {keys}"
    credit_reports = [r for r in reports if r.type == "CHARGE_SUCCESS"]
    assert [r.psp_reference for r in credit_reports] == [
        INV if n == 1 else f"{INV}:{n}" for n in range(1, len(credit_reports) + 1)
    ]
    best = max((Money.of(v.credited, "USD").rounded().amount for v in truth), default=D(0))
    assert sum((r.amount or D(0) for r in credit_reports), D(0)) == best == current.credited
    assert all(r.amount is not None and r.amount > 0 for r in credit_reports)
    failures = [i for i, r in enumerate(reports) if r.type == "CHARGE_FAILURE"]
    assert len(failures) <= 1
    if failures:
        assert not any(r.type == "CHARGE_SUCCESS" for r in reports[: failures[0]]), "no failure after a credit"
    assert all(len(r.message) <= MESSAGE_LIMIT and r.message for r in reports)
    # Once everything is applied, applying the latest truth again says nothing.
    assert apply(current, truth[-1]).reports == ()


# --------------------------------------------------------------------------------------------
# Rounding, messages, finality
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "asked", "credited", "expected"),
    [
        ("JPY", "2000", "1999.6", "2000"),
        ("JPY", "2000", "1999.4", "1999"),
        ("KWD", "12.345", "12.3454", "12.345"),
        ("KWD", "12.345", "12.3456", "12.346"),
        ("USD", "20.00", "7.505", "7.50"),
        ("USD", "20.00", "7.515", "7.52"),
        ("USD", "20.00", "19.999", "20.00"),
    ],
)
def test_credits_are_rounded_to_the_checkout_currency(currency: str, asked: str, credited: str, expected: str) -> None:
    t = apply(snap(asked, currency), view("paid", credited=credited))
    assert t.reports[0].type == "CHARGE_SUCCESS"
    assert str(t.reports[0].amount) == expected
    assert str(t.credits[0].amount) == expected
    assert f"{expected} {currency}" in t.reports[0].message


def test_rounding_never_makes_a_credit_out_of_dust() -> None:
    t = apply(snap(), view("pending", credited="0.004"))
    assert (t.reports, t.credits) == ((), ())
    # A later increase counts from what was reported (rounded), never twice.
    r = run([view("pending", credited="10.004"), view("paid", credited="20.001")])
    assert [rep.amount for rep in r.reports] == [D("10.00"), D("10.00")]


def test_jpy_top_up_delta() -> None:
    r = run([view("pending", credited="1200"), view("paid", credited="3000.4")], start=snap("3000", "JPY"))
    assert [(rep.psp_reference, str(rep.amount)) for rep in r.reports] == [(INV, "1200"), (f"{INV}:2", "1800")]
    assert r.reports[1].message == "Further crypto payment received: 1800 JPY (3000 JPY of 3000 JPY in total)."


def test_messages_fit_saleors_limit() -> None:
    huge = "0.00051240 BTC " * 80
    t = apply(snap(), view("pending", detected="20", detected_display=huge))
    assert len(t.reports[0].message) == MESSAGE_LIMIT
    assert t.reports[0].message.endswith("…")
    big = snap("9" * 20)  # the largest amounts Decimal's default 28 digits hold with cents
    for v in (
        view("paid", credited="1" * 20),
        view("timedOut", credited="1" * 19, minutes=61),
        view("cancelled", detected="1" * 20, refunded="1" * 20),
        view("paid", credited="9" * 21),
    ):
        for r in apply(big, v).reports:
            assert 0 < len(r.message) <= MESSAGE_LIMIT


def test_confirmation_wording() -> None:
    def message(**kwargs: object) -> str:
        return apply(snap(), view("pending", detected="20", **kwargs)).reports[0].message  # type: ignore[arg-type]

    assert "(0 of 2 confirmations)" in message(confirmations=0, required=2)
    assert "(2 of 2 confirmations)" in message(confirmations=5, required=2)
    assert "(1 confirmation)" in message(confirmations=1, required=0)
    assert "(waiting for confirmations)" in message(confirmations=0, required=0)
    assert message().startswith("Payment detected: 20.00 USD (")


def test_finality_window() -> None:
    after = lambda h: view("timedOut", minutes=60 + h * 60)  # noqa: E731
    assert not apply(snap(), after(1)).is_final
    assert not apply(snap(), after(24)).is_final
    assert apply(snap(), after(24.1)).is_final
    assert apply(snap(), after(2), late_window=timedelta(hours=1)).is_final
    assert DEFAULT_LATE_WINDOW == timedelta(hours=24)
    # Unknown expiry: keep watching.
    assert not apply(snap(), view("timedOut", minutes=10_000, expires_at=None)).is_final
    # A cancellation ends the invoice before its nominal expiry: the window counts from ended_at.
    far = T0 + timedelta(days=365)
    v = view("cancelled", minutes=60 * 25 + 1, expires_at=far, ended_at=T0)
    assert apply(snap(), v).is_final
    assert not apply(snap(), view("cancelled", minutes=60 * 25 + 1, expires_at=far)).is_final
    # Credited but the invoice ended (underpaid): watched through the window too, then final.
    assert not apply(snap(), view("timedOut", credited="12", minutes=120)).is_final
    assert apply(snap(), view("timedOut", credited="12", minutes=60 * 26)).is_final
    # Paid is never final; completed always is.
    assert not apply(snap(), view("paid", credited="20", minutes=60 * 100)).is_final
    assert apply(snap(), view("completed", credited="20", minutes=1)).is_final


def test_report_times_are_the_observation_time() -> None:
    t = apply(snap(), view("timedOut", detected="3", minutes=61))
    assert {r.time for r in t.reports} == {T0 + timedelta(minutes=61)}


# --------------------------------------------------------------------------------------------
# Inputs and session answers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("TimedOut", "timedOut"),
        ("timed_out", "timedOut"),
        ("expired", "timedOut"),
        ("Paid", "paid"),
        ("scheduledForPayout", "paid"),
        ("Cancelling", "cancelled"),
        ("canceled", "cancelled"),
        ("COMPLETED", "completed"),
        (" draft ", "draft"),
        ("nonsense", None),
    ],
)
def test_normalise_status(raw: str, expected: str | None) -> None:
    assert normalise_status(raw) == expected


def test_pascal_case_status_is_understood() -> None:
    assert apply(snap(), view("TimedOut", minutes=61)).state is PaymentState.EXPIRED
    assert apply(snap(), view("ScheduledForPayout", credited="20")).state is PaymentState.PAID


def test_invoice_view_checks_its_amounts_and_times() -> None:
    with pytest.raises(ValueError, match="credited"):
        view("paid", credited="-1")
    with pytest.raises(ValueError, match="detected"):
        InvoiceView(status="paid", detected=1.5, observed_at=T0)  # type: ignore[arg-type]
    naive = InvoiceView(status="unpaid", observed_at=datetime(2026, 1, 1), expires_at=datetime(2026, 1, 2))
    assert naive.observed_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert naive.expires_at == datetime(2026, 1, 2, tzinfo=UTC)


def test_session_answers_for_every_state() -> None:
    answers = {state: session_answer(snap(state=state)) for state in PaymentState}
    assert answers[PaymentState.UNPAID].result == "CHARGE_ACTION_REQUIRED"
    assert answers[PaymentState.UNPAID].external_url == LINK
    assert answers[PaymentState.PENDING].result == "CHARGE_REQUEST"
    assert answers[PaymentState.PENDING].amount == D("20.00")
    # PAID/COMPLETED without a credit cannot come out of apply; they answer as pending, never a success of 0.
    assert answers[PaymentState.PAID].result == "CHARGE_REQUEST"
    assert answers[PaymentState.COMPLETED].result == "CHARGE_REQUEST"
    assert answers[PaymentState.EXPIRED].result == "CHARGE_FAILURE"
    assert "expired" in answers[PaymentState.EXPIRED].message
    assert answers[PaymentState.CANCELLED].result == "CHARGE_FAILURE"
    assert "cancelled" in answers[PaymentState.CANCELLED].message
    assert all(a.psp_reference == INV and a.message for a in answers.values())


def test_session_answer_with_credits_is_the_first_credit() -> None:
    s = snap(state=PaymentState.PAID, credits=(Credit(INV, D("12.00")), Credit(f"{INV}:2", D("3.00"))))
    answer = session_answer(s)
    assert (answer.result, answer.psp_reference, answer.amount) == ("CHARGE_SUCCESS", INV, D("12.00"))
    assert answer.message == "Crypto payment received: 15.00 USD of 20.00 USD."
    full = snap(state=PaymentState.COMPLETED, credits=(Credit(INV, D("20.00")),))
    assert session_answer(full).message == "Crypto payment received."
    late = snap(state=PaymentState.EXPIRED, credits=(Credit(INV, D("20.00")),))
    assert session_answer(late).result == "CHARGE_SUCCESS"


def test_session_answer_in_a_zero_decimal_currency() -> None:
    answer = session_answer(snap("1500", "JPY"))
    assert answer.amount == D("1500")
    assert str(answer.amount) == "1500"
