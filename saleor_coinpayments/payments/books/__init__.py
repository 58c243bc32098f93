"""The shop's books: what CoinPayments reports per payment (kept on every invoice read) and the
ledger of money movements exported from it for the accountant (issue 29)."""
