"""Persistence: tables, repositories, migrations and secret encryption."""
