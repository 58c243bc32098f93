"""Reference data: the captures are in the repository; the full upstream schemas come from the
shared folder, and only they skip when absent (fail under CI=true), naming what to fetch."""

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


def test_absent_upstream_schema_skips_naming_the_tag_to_fetch(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(shared_refs.SHARED_DIR_ENV, str(tmp_path / "nowhere"))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"absent.*saleor/saleor at tag 3\.20\.119"):
        shared_refs.upstream_schema_sdl("3.20")
    with pytest.raises(pytest.skip.Exception, match=r"absent.*saleor/saleor at main, commit 723cd4eb"):
        shared_refs.upstream_schema_sdl("newest")
    with pytest.raises(pytest.skip.Exception) as both:
        shared_refs.require_upstream_schemas()
    assert "schema-3.20.graphql" in str(both.value)
    assert "tag 3.20.119" in str(both.value)
    assert "commit 723cd4eb" in str(both.value)


def test_present_upstream_schemas_do_not_skip(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(shared_refs.SHARED_DIR_ENV, str(tmp_path))
    (tmp_path / "saleor").mkdir()
    for schema in shared_refs.UPSTREAM_SCHEMAS.values():
        tmp_path.joinpath(*schema.parts).write_text("type Query { a: Int }")
    shared_refs.require_upstream_schemas()


def test_absent_reference_fails_under_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(shared_refs.SHARED_DIR_ENV, str(tmp_path / "nowhere"))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        shared_refs.upstream_schema_sdl("3.20")


def test_captures_come_from_the_repository_whatever_the_shared_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(shared_refs.SHARED_DIR_ENV, str(tmp_path / "nowhere"))
    monkeypatch.setenv("CI", "true")
    paths = shared_refs.capture_paths()
    assert [p.name[:3] for p in paths] == [f"{n:03d}" for n in range(1, 49)]
    assert all(p.is_relative_to(shared_refs.REPO_ROOT / "tests" / "fixtures") for p in paths)
    assert shared_refs.load_capture("002-POST-register")["method"] == "POST"
    assert shared_refs.load_captured_jwks()["keys"]
    assert shared_refs.load_graphql_transcript("verify-b4-info-events")["saleor"] == "3.23.28"
