"""The payment domain: use cases per Saleor event and per CoinPayments notification, states, reconciler."""
