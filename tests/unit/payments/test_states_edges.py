"""The payment state machine at its edges: amounts below one unit, stale settled views, time zones,
the exact words Saleor shows the merchant and the buyer, and every field the store keeps.

Each test names the behaviour it protects; mutation testing (`make mutation`) found them missing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal

import pytest

from saleor_coinpayments.states import (
    MESSAGE_LIMIT,
    Credit,
    InvoiceView,
    PaymentSnapshot,
    PaymentState,
    SessionAnswer,
    apply,
    session_answer,
)
from tests.unit.payments.test_states import INV, LINK, T0, kinds, run, snap, view

D = Decimal

FAILED_UNCONFIRMED = (
    "The crypto payment {ended} before the payment was confirmed, so this order is not paid. "
    "Any crypto sent is refunded by CoinPayments to the buyer's refund e-mail address. Please start a new payment."
)
UNCONFIRMED = (
    "{amount} was seen but not confirmed when the invoice {ended}. If CoinPayments still credits it, it is "
    "reported here as a charge; otherwise CoinPayments refunds it to the buyer's refund e-mail address."
)
REFUNDED = (
    "CoinPayments refunds {amount} to the buyer's refund e-mail address (sent too late, after a cancellation, "
    "or not accepted). That money is not counted as paid here."
)
LATE = (
    "{amount} arrived after the invoice {ended} and CoinPayments credited it, so it is recorded as charged "
    "although this payment was reported as failed. Fulfil the order or refund the money."
)


# --- amounts between 0 and 1: a top-up of 0.50 is money too -------------------------------------


def test_a_first_credit_below_one_is_reported() -> None:
    t = apply(snap(), view("pending", credited="0.50"))
    assert kinds(t.reports) == [("CHARGE_SUCCESS", INV, "0.50", "credit:1")]
    assert t.state is PaymentState.PAID


def test_a_top_up_below_one_is_reported() -> None:
    r = run([view("pending", credited="19.50"), view("paid", credited="20.00")])
    assert kinds(r.reports) == [
        ("CHARGE_SUCCESS", INV, "19.50", "credit:1"),
        ("CHARGE_SUCCESS", f"{INV}:2", "0.50", "credit:2"),
    ]
    assert r.snapshot.credited == D("20.00")


def test_detecting_less_than_one_makes_the_payment_pending_and_says_so() -> None:
    t = apply(snap(), view("unpaid", detected="0.50"))
    assert t.state is PaymentState.PENDING
    assert kinds(t.reports) == [("INFO", INV, "0.50", "info:detected")]
    assert t.detected_reported


def test_a_failure_with_less_than_one_detected_says_it_was_unconfirmed() -> None:
    t = apply(snap(), view("timedOut", detected="0.50", minutes=61))
    assert kinds(t.reports) == [("CHARGE_FAILURE", INV, "20.00", "failure"), ("INFO", INV, "0.50", "info:unconfirmed")]
    assert t.reports[0].message == FAILED_UNCONFIRMED.format(ended="expired")
    assert t.reports[1].message == UNCONFIRMED.format(amount="0.50 USD", ended="expired")


def test_a_failure_with_less_than_one_refunded_says_crypto_was_sent() -> None:
    t = apply(snap(), view("cancelled", refunded="0.50"))
    assert kinds(t.reports) == [("CHARGE_FAILURE", INV, "20.00", "failure"), ("INFO", INV, "0.50", "info:refunded")]
    assert t.reports[0].message == FAILED_UNCONFIRMED.format(ended="was cancelled")
    assert t.reports[1].message == REFUNDED.format(amount="0.50 USD")


def test_a_late_credit_below_one_is_called_late() -> None:
    r = run([view("timedOut", minutes=61), view("timedOut", credited="0.50", minutes=90)])
    assert kinds(r.reports) == [
        ("CHARGE_FAILURE", INV, "20.00", "failure"),
        ("CHARGE_SUCCESS", INV, "0.50", "credit:1"),
        ("INFO", INV, "0.50", "info:late"),
        ("INFO", INV, "0.50", "info:underpaid"),
    ]
    assert r.reports[2].message == LATE.format(amount="0.50 USD", ended="expired")


def test_an_underpayment_below_one_is_called_underpaid() -> None:
    t = apply(snap(), view("paid", credited="0.50"))
    assert kinds(t.reports) == [("CHARGE_SUCCESS", INV, "0.50", "credit:1"), ("INFO", INV, "0.50", "info:underpaid")]
    assert t.reports[1].message == (
        "Received 0.50 USD of 20.00 USD (19.50 USD short); 0.50 USD is recorded as charged. The order is not fully "
        "paid: ask the buyer to pay the remaining 19.50 USD with a new payment, or decide in the CoinPayments app: "
        "accept it as paid, or refund what came in."
    )


def test_a_refund_below_one_is_reported() -> None:
    t = apply(snap(), view("paid", credited="20.00", refunded="0.50"))
    assert kinds(t.reports) == [("CHARGE_SUCCESS", INV, "20.00", "credit:1"), ("INFO", INV, "0.50", "info:refunded")]


# --- stale views after payment -----------------------------------------------------------------


@pytest.mark.parametrize("status", ["paid", "completed", "timedOut", "cancelled"])
def test_a_stale_settled_view_with_a_smaller_amount_after_full_payment_changes_nothing(status: str) -> None:
    paid = run([view("paid", credited="20.00", minutes=20)]).snapshot
    t = apply(paid, view(status, credited="12.00", minutes=30))
    assert t.reports == (), "no underpaid note, no failure, no negative credit"
    assert t.credits == paid.credits
    assert t.credited == D("20.00")
    assert t.state is (PaymentState.COMPLETED if status == "completed" else PaymentState.PAID)


def test_a_stale_view_with_the_same_amount_makes_no_second_credit() -> None:
    paid = run([view("paid", credited="20.00")]).snapshot
    t = apply(paid, view("paid", credited="20.004"))
    assert (t.reports, t.credits) == ((), paid.credits)


# --- time zones --------------------------------------------------------------------------------


PLUS_TWO = timezone(timedelta(hours=2))


def seen_at(status: str, observed_at: datetime, **fields: object) -> InvoiceView:
    return InvoiceView(status=status, observed_at=observed_at, **fields)  # type: ignore[arg-type]


def test_an_observation_time_with_an_offset_is_the_same_instant() -> None:
    observed = datetime(2026, 3, 1, 6, 0, tzinfo=PLUS_TWO)  # 04:00 UTC
    t = apply(snap(), seen_at("paid", observed, credited=D("20.00")))
    assert t.reports[0].time == datetime(2026, 3, 1, 4, 0, tzinfo=UTC)


def test_the_late_window_counts_in_instants_not_wall_clock() -> None:
    # Ended 03:30 UTC; observed at 05:29 in UTC+02:00 = 03:29 UTC the next day: 23 h 59 min later.
    ended = T0 + timedelta(hours=1)
    just_inside = datetime(2026, 3, 2, 5, 29, tzinfo=PLUS_TWO)
    assert not apply(snap(), seen_at("timedOut", just_inside, ended_at=ended)).is_final
    assert apply(snap(), seen_at("timedOut", just_inside + timedelta(minutes=2), ended_at=ended)).is_final
    # The same instants with the invoice's times in UTC+02:00 and the observation in UTC.
    ended_local = ended.astimezone(PLUS_TWO)
    observed_utc = just_inside.astimezone(UTC)
    assert not apply(snap(), seen_at("timedOut", observed_utc, expires_at=ended_local)).is_final
    assert apply(snap(), seen_at("timedOut", observed_utc + timedelta(minutes=2), expires_at=ended_local)).is_final


class _NoOffset(tzinfo):
    """A tzinfo that does not know its offset: Python calls such a datetime naive."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str | None:
        return None


def test_a_time_whose_zone_has_no_offset_is_taken_as_utc() -> None:
    v = seen_at("unpaid", datetime(2026, 3, 1, 4, 0, tzinfo=_NoOffset()))
    assert v.observed_at == datetime(2026, 3, 1, 4, 0, tzinfo=UTC)
    assert v.observed_at.tzinfo is UTC


# --- what the store keeps ----------------------------------------------------------------------


def test_the_snapshot_after_a_transition_keeps_every_field() -> None:
    before = snap(state=PaymentState.UNPAID)
    t = apply(before, view("timedOut", detected="5.00", minutes=61))
    after = t.snapshot(before)
    assert after == PaymentSnapshot(
        state=PaymentState.EXPIRED,
        invoice_id=INV,
        amount=before.amount,
        credits=(),
        detected_reported=False,
        failure_reported=True,
        info_keys=frozenset({"info:unconfirmed"}),
        checkout_link=LINK,
    )
    t = apply(snap(), view("pending", detected="5.00"))
    after = t.snapshot(snap())
    assert (after.state, after.detected_reported, after.info_keys) == (
        PaymentState.PENDING,
        True,
        frozenset({"info:detected"}),
    )
    paid = apply(after, view("paid", credited="20.00")).snapshot(after)
    assert paid.credits == (Credit(INV, D("20.00")),)
    assert paid.detected_reported, "carried over from the snapshot before"


# --- statuses on their own ---------------------------------------------------------------------


def test_pending_without_an_amount_is_pending() -> None:
    t = apply(snap(), view("pending"))
    assert (t.state, t.reports) == (PaymentState.PENDING, ())


def test_completed_without_a_countable_amount_waits() -> None:
    t = apply(snap(), view("completed", credited="0"))
    assert (t.state, t.reports, t.is_final) == (PaymentState.PENDING, (), False)


@pytest.mark.parametrize("raw", ["timed-out", "Timed-Out", "TIMED_OUT"])
def test_dashed_and_underscored_statuses_are_understood(raw: str) -> None:
    assert apply(snap(), view(raw, minutes=61)).state is PaymentState.EXPIRED


# --- which word for an ended invoice -----------------------------------------------------------


@pytest.mark.parametrize("status", ["cancelled", "deleted"])
def test_a_late_credit_on_an_invoice_now_cancelled_says_cancelled(status: str) -> None:
    expired = run([view("timedOut", minutes=61)]).snapshot
    t = apply(expired, view(status, credited="20.00", minutes=90))
    late = [r for r in t.reports if r.dedup_key == "info:late"]
    assert [r.message for r in late] == [LATE.format(amount="20.00 USD", ended="was cancelled")]


def test_a_stored_cancellation_decides_the_word_of_its_failure() -> None:
    # Stored as cancelled (failure not yet reported); CoinPayments' status now reads timed out.
    t = apply(snap(state=PaymentState.CANCELLED), view("timedOut", minutes=61))
    assert kinds(t.reports) == [("CHARGE_FAILURE", INV, "20.00", "failure")]
    assert "was cancelled before any payment arrived" in t.reports[0].message


def test_a_cancelled_status_decides_the_word_when_the_stored_state_is_expired() -> None:
    t = apply(snap(state=PaymentState.EXPIRED), view("cancelled", minutes=61))
    assert kinds(t.reports) == [("CHARGE_FAILURE", INV, "20.00", "failure")]
    assert "was cancelled before any payment arrived" in t.reports[0].message


def test_a_credit_on_a_stored_failed_payment_is_late_even_before_its_failure_was_reported() -> None:
    t = apply(snap(state=PaymentState.EXPIRED), view("timedOut", credited="20.00", minutes=90))
    assert [r.dedup_key for r in t.reports] == ["credit:1", "info:late"]
    assert not t.failure_reported


# --- the exact words Saleor shows ----------------------------------------------------------------


def test_overpaid_message() -> None:
    t = apply(snap(), view("paid", credited="25.00"))
    assert t.reports[1].message == (
        "Received 25.00 USD for 20.00 USD: 5.00 USD more than asked. All of it is recorded as charged; "
        "a refund of 5.00 USD is suggested in the CoinPayments app's Refunds: send it from your CoinPayments "
        "account and complete it there, or decline it."
    )


def test_underpaid_with_partial_accept_message() -> None:
    t = apply(snap(), view("paid", credited="12.00", partial_accept_available=True))
    assert t.reports[1].message == (
        "Received 12.00 USD of 20.00 USD (8.00 USD short); 12.00 USD is recorded as charged. CoinPayments holds "
        "the partial payment: accept it in the CoinPayments dashboard, or CoinPayments refunds it to the buyer's "
        "refund e-mail address (then refund it in Saleor too)."
    )


def test_refunded_and_unconfirmed_messages() -> None:
    r = run([view("timedOut", detected="20.00", minutes=61), view("timedOut", refunded="20.00", minutes=70)])
    assert [rep.message for rep in r.reports] == [
        FAILED_UNCONFIRMED.format(ended="expired"),
        UNCONFIRMED.format(amount="20.00 USD", ended="expired"),
        REFUNDED.format(amount="20.00 USD"),
    ]


def test_unconfirmed_message_names_the_coin_amount() -> None:
    t = apply(snap(), view("cancelled", detected="20.00", detected_display="0.00051240 BTC"))
    assert t.reports[1].message == UNCONFIRMED.format(amount="0.00051240 BTC (≈ 20.00 USD)", ended="was cancelled")


@pytest.mark.parametrize(
    ("confirmations", "required", "words"),
    [(1, 1, "1 of 1 confirmations"), (0, 1, "0 of 1 confirmations"), (3, 0, "3 confirmations")],
)
def test_confirmation_counts(confirmations: int, required: int, words: str) -> None:
    t = apply(snap(), view("pending", detected="20", confirmations=confirmations, required=required))
    assert t.reports[0].message == (
        f"Payment detected: 20.00 USD ({words}). It counts as paid once CoinPayments has confirmed it."
    )


def test_a_message_of_exactly_the_limit_is_kept_whole() -> None:
    def message(display: str) -> str:
        return apply(snap(), view("pending", detected="20", detected_display=display)).reports[0].message

    frame = len(message("")) - len("20.00 USD") + len(" (≈ 20.00 USD)")
    exact = "B" * (MESSAGE_LIMIT - frame)
    assert len(message(exact)) == MESSAGE_LIMIT
    assert message(exact).endswith("confirmed it."), "not cut"
    longer = message(exact + "B")
    assert len(longer) == MESSAGE_LIMIT
    assert longer.endswith("…")


# --- the session answers, whole ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "result", "message"),
    [
        (
            PaymentState.UNPAID,
            "CHARGE_ACTION_REQUIRED",
            "Waiting for the crypto payment: pay on the CoinPayments page.",
        ),
        (PaymentState.PENDING, "CHARGE_REQUEST", "Crypto payment detected: waiting for blockchain confirmations."),
        (PaymentState.PAID, "CHARGE_REQUEST", "Crypto payment detected: waiting for blockchain confirmations."),
        (PaymentState.COMPLETED, "CHARGE_REQUEST", "Crypto payment detected: waiting for blockchain confirmations."),
        (
            PaymentState.EXPIRED,
            "CHARGE_FAILURE",
            "The crypto payment expired before it was paid. Please start a new payment.",
        ),
        (PaymentState.CANCELLED, "CHARGE_FAILURE", "The crypto payment was cancelled. Please start a new payment."),
    ],
)
def test_session_answer_without_credits(state: PaymentState, result: str, message: str) -> None:
    # The amount is the asked amount (Saleor shows it); the link takes the buyer back to the invoice.
    assert session_answer(snap("20.004", state=state)) == SessionAnswer(
        result=result,  # type: ignore[arg-type]
        psp_reference=INV,
        amount=D("20.00"),
        message=message,
        external_url=LINK,
    )


def test_session_answer_with_a_credit_links_the_invoice() -> None:
    s = snap(state=PaymentState.PAID, credits=(Credit(INV, D("20.00")),))
    assert session_answer(s) == SessionAnswer(
        result="CHARGE_SUCCESS",
        psp_reference=INV,
        amount=D("20.00"),
        message="Crypto payment received.",
        external_url=LINK,
    )
    assert session_answer(snap(state=PaymentState.UNPAID, checkout_link=None)).external_url is None


def test_session_answer_for_an_unknown_state_is_a_programming_error() -> None:
    with pytest.raises(AssertionError):
        session_answer(snap(state="refunded"))
