"""Refunds: Saleor's refund requests kept as rows, settled by staff, reported through the outbox;
and the staff decisions on odd payments (accept an under-payment as paid, refund what came in,
refund suggestions for surplus money)."""
