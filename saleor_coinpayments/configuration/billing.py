"""The sent-out invoice settings of a configuration, as typed: automatic billing of new orders,
days until an invoice is due, and the reminder offsets (days relative to the due date)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from saleor_coinpayments.store.configurations import BillingSettings

INVOICE_NEW_ORDERS = "invoice_new_orders"
INVOICE_DUE_DAYS = "invoice_due_days"
INVOICE_REMINDERS = "invoice_reminders"

DUE_DAYS_MAX = 365
REMINDERS_MAX = 10
_OFFSET = re.compile(r"[+-]?\d{1,3}")
_ON = {"on", "true", "yes", "1"}
_OFF = {"off", "false", "no", "0"}


def check_switch(value: bool | str) -> bool | str:
    """True/False, or the message for a value that is neither `on` nor `off`."""
    if isinstance(value, bool):
        return value
    word = value.strip().lower()
    if word in _ON:
        return True
    if word in _OFF:
        return False
    return f"Use on or off, not {value[:20]!r}."


def check_due_days(value: int | str) -> int | str:
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or not 1 <= int(text) <= DUE_DAYS_MAX:
        return f"Enter whole days between 1 and {DUE_DAYS_MAX} (the default is 7)."
    return int(text)


def check_reminders(value: str | Iterable[int | str]) -> tuple[int, ...] | str:
    """`-3,0,+3` → (-3, 0, 3): sorted, without repeats, each within a year of the due date."""
    items = [item for item in re.split(r"[\s,;]+", value) if item] if isinstance(value, str) else list(value)
    offsets: set[int] = set()
    for item in items:
        text = str(item).strip()
        if isinstance(item, bool) or not _OFFSET.fullmatch(text) or abs(int(text)) > DUE_DAYS_MAX:
            return f"{text[:20]!r} is not a day offset: use whole days like -3,0,+3 (before/after the due date)."
        offsets.add(int(text))
    if len(offsets) > REMINDERS_MAX:
        return f"At most {REMINDERS_MAX} reminders."
    return tuple(sorted(offsets))


def check_billing(
    new_orders: bool | str | None, due_days: int | str | None, reminders: str | Iterable[int | str] | None
) -> BillingSettings | dict[str, str]:
    """The settings (None where not given), or field → message for every bad one."""
    errors: dict[str, str] = {}
    switch = None if new_orders is None else check_switch(new_orders)
    if isinstance(switch, str):
        errors[INVOICE_NEW_ORDERS] = switch
    days = None if due_days is None else check_due_days(due_days)
    if isinstance(days, str):
        errors[INVOICE_DUE_DAYS] = days
    offsets = None if reminders is None else check_reminders(reminders)
    if isinstance(offsets, str):
        errors[INVOICE_REMINDERS] = offsets
    if errors:
        return errors
    assert not isinstance(switch, str)
    assert not isinstance(days, str)
    assert not isinstance(offsets, str)
    return BillingSettings(invoice_new_orders=switch, invoice_due_days=days, invoice_reminders=offsets)
