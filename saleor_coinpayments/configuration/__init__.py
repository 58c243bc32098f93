"""CoinPayments configurations of an installation: one implementation for the CLI and the Dashboard page.

`validation` turns what a person typed into clean values or field errors; `service` saves, deletes,
maps channels, registers the notification webhook at CoinPayments and tests the connection;
`commands` is the `config set` / `config list` CLI; `payment_log` is the page's read model.
"""
