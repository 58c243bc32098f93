"""The one setting for ../shared: absent files skip locally and fail under CI=true."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import shared_refs


def test_default_is_the_sibling_shared_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(shared_refs.SHARED_DIR_ENV, raising=False)
    assert shared_refs.shared_path("saleor", "schema.graphql") == (
        shared_refs.REPO_ROOT.parent / "shared" / "saleor" / "schema.graphql"
    )


def test_setting_moves_every_reference(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(shared_refs.SHARED_DIR_ENV, str(tmp_path))
    (tmp_path / "saleor").mkdir()
    (tmp_path / "saleor" / "schema.graphql").write_text("type Query { a: Int }")
    assert shared_refs.require_shared(*shared_refs.SCHEMA_PARTS) == tmp_path / "saleor" / "schema.graphql"


def test_absent_reference_skips_with_a_reason(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(shared_refs.SHARED_DIR_ENV, str(tmp_path / "nowhere"))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="absent"):
        shared_refs.require_shared("saleor", "captures")


def test_absent_reference_fails_under_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(shared_refs.SHARED_DIR_ENV, str(tmp_path / "nowhere"))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        shared_refs.require_shared("saleor", "captures")
