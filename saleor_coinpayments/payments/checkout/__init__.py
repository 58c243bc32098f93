"""The integrated checkout: use cases per Saleor checkout event (and later the pay page)."""
