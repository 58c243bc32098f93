"""Every flow that queues work through the outbox, imported once so its deliveries are registered.

The composition root (the app, the worker commands) imports this module; the delivery machinery
itself never imports a flow (see payments/delivery/registry.py).
"""

from __future__ import annotations

from saleor_coinpayments.payments.checkout import checkout_completion
from saleor_coinpayments.payments.delivery import event_reports
from saleor_coinpayments.payments.invoicing import saleor_calls, sent_invoices

FLOWS = (event_reports, checkout_completion, sent_invoices, saleor_calls)
