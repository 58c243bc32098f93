"""Saleor payment app for CoinPayments crypto invoices."""

__version__ = "0.1.0"
