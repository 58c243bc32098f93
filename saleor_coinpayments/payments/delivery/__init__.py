"""Delivery machinery: the outbox of reports to Saleor, the notification inbox, the reconciler and workers."""
