"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Callable, Iterator
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

# The only way a test reaches a database of the suite's backend (tests/helpers/databases.py is
# imported nowhere else). A test that uses one of these, directly or through another fixture (the
# app, the world, the Dashboard...), is marked `database`; the others run the same whatever
# TEST_DATABASE says, so `make test` runs them in the SQLite suite alone (`-m database` on PostgreSQL).
DATABASE_FIXTURES = frozenset({"database_url", "template_databases"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that use a database, and run them first (in their order, then the others in
    theirs): they are the long ones (servers, processes, 100,000-row exports), so under xdist the
    short unit tests come last and fill the workers' ends instead of one long test trailing alone."""
    for item in items:
        if DATABASE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.database)
    items.sort(key=lambda item: item.get_closest_marker("database") is None)


@pytest.fixture(scope="session")
def template_databases(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.helpers.databases import TemplateDatabases

    databases = TemplateDatabases(tmp_path_factory.mktemp("databases"))
    yield databases
    databases.drop_all()


@pytest.fixture
def database_url(request: pytest.FixtureRequest, template_databases: Any) -> Iterator[str]:
    """A freshly migrated, empty database for this test (dropped once the test is done)."""
    if request.node.get_closest_marker("database") is None:
        # Asked for by name at run time (request.getfixturevalue): the test was not marked, and the
        # PostgreSQL suite would leave it out. Ask for it as an argument (or through a fixture's).
        pytest.fail("database_url must be requested as a fixture argument, so the test is marked `database`")
    url: str = template_databases.new_url()
    yield url
    template_databases.release(url)


# --- the fake Saleor (tests/fakes/saleor.py) --------------------------------------------------


@pytest.fixture
def fake_saleor() -> Any:
    """A fake Saleor (3.23.28, or $FAKE_SALEOR_VERSION) on loopback: `.api_url`, `.install_app(url)`, … ."""
    from tests.fakes.saleor import FakeSaleor

    with FakeSaleor.serve() as saleor:
        yield saleor
