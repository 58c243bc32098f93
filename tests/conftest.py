"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests import shared_refs

# --- captured Saleor requests (tests/fixtures/saleor/captures, committed) ---------------------


@pytest.fixture
def captures() -> list[dict[str, Any]]:
    """Every captured Saleor request, in order."""
    import json

    return [json.loads(path.read_text(encoding="utf-8")) for path in shared_refs.capture_paths()]


@pytest.fixture
def capture() -> Callable[[str], dict[str, Any]]:
    """`capture("004-POST-transaction_initialize_session")` → that capture."""
    return shared_refs.load_capture


# --- databases: real SQLite or PostgreSQL (TEST_DATABASE), migrated by Alembic ----------------


@pytest.fixture(scope="session")
def template_databases(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.helpers.databases import TemplateDatabases

    databases = TemplateDatabases(tmp_path_factory.mktemp("databases"))
    yield databases
    databases.drop_all()


@pytest.fixture
def database_url(template_databases: Any) -> str:
    """A freshly migrated, empty database for this test."""
    url: str = template_databases.new_url()
    return url


# --- the fake Saleor (tests/fakes/saleor.py) --------------------------------------------------


@pytest.fixture
def fake_saleor() -> Any:
    """A fake Saleor (3.23.28, or $FAKE_SALEOR_VERSION) on loopback: `.api_url`, `.install_app(url)`, … ."""
    from tests.fakes.saleor import FakeSaleor

    with FakeSaleor.serve() as saleor:
        yield saleor
