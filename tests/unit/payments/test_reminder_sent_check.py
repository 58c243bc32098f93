"""Before a reminder is tried again after a lost answer, the order's INVOICE_SENT events since it was
queued tell whether Saleor already e-mailed the buyer (saleor_calls.invoice_sent_since)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from saleor_coinpayments.payments.invoicing.saleor_calls import invoice_sent_since

QUEUED = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def _order(*events: tuple[str, str | None]) -> dict[str, object]:
    return {"id": "T3JkZXI6MQ==", "events": [{"type": type_, "date": date} for type_, date in events]}


def test_an_invoice_sent_at_or_after_the_moment_counts_in_any_offset_and_z_form() -> None:
    assert invoice_sent_since(_order(("INVOICE_SENT", "2026-12-06T09:00:00+00:00")), QUEUED)
    assert invoice_sent_since(_order(("INVOICE_SENT", "2026-12-06T09:00:01.5Z")), QUEUED)
    assert invoice_sent_since(_order(("INVOICE_SENT", "2026-12-06T10:00:01+01:00")), QUEUED)


def test_an_earlier_send_other_events_and_unreadable_dates_do_not_count() -> None:
    earlier_reminder = (QUEUED - timedelta(days=3)).isoformat()
    assert not invoice_sent_since(_order(("INVOICE_SENT", earlier_reminder)), QUEUED)
    assert not invoice_sent_since(_order(("INVOICE_SENT", "2026-12-06T09:59:00+01:00")), QUEUED)
    assert not invoice_sent_since(_order(("NOTE_ADDED", "2026-12-06T09:30:00+00:00")), QUEUED)
    assert not invoice_sent_since(_order(("INVOICE_SENT", None), ("INVOICE_SENT", "yesterday")), QUEUED)
    assert not invoice_sent_since(_order(("INVOICE_SENT", "2026-12-06T09:30:00")), QUEUED)  # no zone
    assert not invoice_sent_since(None, QUEUED)  # the order is gone
    assert not invoice_sent_since({"id": "x", "events": []}, QUEUED)


def test_one_matching_event_among_others_is_enough() -> None:
    order = _order(
        ("PLACED", "2026-12-01T09:00:00+00:00"),
        ("INVOICE_SENT", "2026-12-03T09:00:00+00:00"),
        ("NOTE_ADDED", "2026-12-06T09:00:02+00:00"),
        ("INVOICE_SENT", "2026-12-06T09:00:02+00:00"),
    )
    assert invoice_sent_since(order, QUEUED)
    assert not invoice_sent_since(order, QUEUED + timedelta(seconds=3))
