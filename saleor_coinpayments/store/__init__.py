"""Persistence: tables, repositories, migrations and secret encryption.

There are two ways to run a statement, and only two:

1. The ORM session, `Database.session()` (store/db.py), for everything that is not hot: a unit of
   work per request or job, ORM objects or Core statements, committed once. `session(write=True)`
   for a read-modify-write (its reads take the lock: store/dialects.py `locked`).
2. The fast path, `Database.fast` (store/fast_path.py), for the hot statements only: declared once
   as `HotStatement`s, run on the driver connection through SQLAlchemy's public API. Its module
   docstring says when it may be used. STORE_FAST_PATH=false runs the same units through (1).

What differs between SQLite and PostgreSQL lives in store/dialects.py; nothing outside `store/`
asks which database runs.
"""
