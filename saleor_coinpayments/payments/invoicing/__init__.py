"""Sent-out invoices: billing a Saleor order with an e-mailed CoinPayments invoice."""
