"""Each merchant's invoices in creation order, and by status, for List invoices (coinpayments.md#list-invoices).

A List call looks at the invoices it returns and at most one more (to know whether a next page
exists), not at every invoice the merchant has: with 10,000 invoices, a scan per call held the
simulator's one event loop while the app's sweeps list five statuses every few seconds
(loop_lag.py). The filters are as strict as before. A status picks its own list; the cursor is
a position; creation-time bounds stop the walk early while creation times never went back (a
test's clock may, then every invoice of the status is looked at); free text `q` still looks at
every invoice of the status, since a match may be anywhere.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from saleor_coinpayments.simulator.domain import INVOICE_STATUSES, Invoice
from saleor_coinpayments.simulator.problems import bad_request

_CANONICAL = {status.lower(): status for status in INVOICE_STATUSES}


@dataclass
class _Merchant:
    invoices: list[Invoice] = field(default_factory=list)  # in creation order: position → invoice
    by_status: dict[str, list[int]] = field(default_factory=dict)  # status → positions, ascending
    in_order: bool = True  # creation times never went back, so a time bound may stop a walk


class InvoiceIndex:
    def __init__(self) -> None:
        self._merchants: dict[str, _Merchant] = {}
        self._position: dict[str, tuple[str, int]] = {}  # invoice id → (merchant, position in its list)
        self.examined = 0  # invoices List calls have looked at (what the index saves; tests read it)

    def clear(self) -> None:
        self._merchants.clear()
        self._position.clear()

    def add(self, invoice: Invoice) -> None:
        merchant = self._merchants.setdefault(invoice.merchant_id, _Merchant())
        if merchant.invoices and invoice.created_at < merchant.invoices[-1].created_at:
            merchant.in_order = False
        position = len(merchant.invoices)
        merchant.invoices.append(invoice)
        self._position[invoice.id] = (invoice.merchant_id, position)
        merchant.by_status.setdefault(invoice.status, []).append(position)  # the newest: stays sorted

    def moved(self, invoice: Invoice, old_status: str) -> None:
        """`invoice` went from `old_status` to its status now (one it no longer holds is ignored:
        an invoice forgotten by a reset while a request still had it)."""
        merchant_id, position = self._position.get(invoice.id, ("", -1))
        merchant = self._merchants.get(merchant_id)
        if merchant is None or merchant.invoices[position] is not invoice or old_status == invoice.status:
            return
        positions = merchant.by_status[old_status]
        del positions[bisect_left(positions, position)]
        insort(merchant.by_status.setdefault(invoice.status, []), position)

    def page(
        self,
        merchant_id: str,
        *,
        status: str | None,
        after: str | None,
        limit: int,
        created_from: datetime | None,
        created_to: datetime | None,
        matches: Callable[[Invoice], bool] | None,
    ) -> tuple[list[Invoice], str | None]:
        """Newest first, older than the invoice `after` (400 unless it is this merchant's); the
        next cursor only when another invoice matches after the page."""
        merchant = self._merchants.get(merchant_id)
        start: int | None = None
        if after is not None:
            owner, start = self._position.get(after, ("", -1))
            if owner != merchant_id:
                raise bad_request("After", "Unknown cursor.")
        if merchant is None:
            return [], None
        positions: Sequence[int] = (
            range(len(merchant.invoices)) if status is None else merchant.by_status.get(_canonical(status), [])
        )
        end = len(positions) if start is None else bisect_left(positions, start)
        in_order, invoices = merchant.in_order, merchant.invoices
        if created_to is not None and in_order:  # skip those made after `to` without looking at each
            end = bisect_right(positions, created_to, hi=end, key=lambda p: invoices[p].created_at)
        page: list[Invoice] = []
        more = False
        for index in range(end - 1, -1, -1):
            invoice = invoices[positions[index]]
            self.examined += 1
            if created_from is not None and invoice.created_at < created_from:
                if in_order:
                    break
                continue
            if created_to is not None and invoice.created_at > created_to:
                continue
            if matches is not None and not matches(invoice):
                continue
            if len(page) == limit:
                more = True
                break
            page.append(invoice)
        return page, (page[-1].id if page and more else None)


def _canonical(status: str) -> str:
    return _CANONICAL.get(status.lower(), status)
