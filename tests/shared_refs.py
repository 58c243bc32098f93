"""The one way tests reach the reference files in ../shared (real Saleor schema, captures).

Setting: env `SALEOR_COINPAYMENTS_SHARED_DIR`, default `<repo>/../shared`. Nothing there is
copied into the project. A check that needs a missing file is skipped with a reason — except
under `CI=true`, where a missing reference is a failure (CI must always run those checks).
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

import pytest

SHARED_DIR_ENV = "SALEOR_COINPAYMENTS_SHARED_DIR"
REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    configured = os.environ.get(SHARED_DIR_ENV, "").strip()
    return Path(configured).expanduser() if configured else REPO_ROOT.parent / "shared"


def shared_path(*parts: str) -> Path:
    """Path of a reference file (it may not exist; see `require_shared`)."""
    return shared_dir().joinpath(*parts)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def require_shared(*parts: str) -> Path:
    """The path if it exists; otherwise skip the calling test (fail under CI=true)."""
    path = shared_path(*parts)
    if not path.exists():
        reason = f"reference file {path} is absent (set {SHARED_DIR_ENV} to the shared folder)"
        if in_ci():
            pytest.fail(f"{reason}; CI=true requires it", pytrace=False)
        pytest.skip(reason)
    return path


SCHEMA_PARTS = ("saleor", "schema.graphql")
#: The real schema of each tested Saleor line (saleor_coinpayments.saleor.schema.SCHEMA_LINES).
SCHEMA_PARTS_BY_LINE = {"3.20": ("saleor", "schema-3.20.graphql"), "newest": SCHEMA_PARTS}
CAPTURES_PARTS = ("saleor", "captures")


@functools.cache
def _read_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def real_schema_sdl(line: str = "newest") -> str:
    """The real Saleor SDL of one tested line (`3.20` or `newest`)."""
    return _read_text(require_shared(*SCHEMA_PARTS_BY_LINE[line]))


def captures_dir() -> Path:
    return require_shared(*CAPTURES_PARTS)


def capture_paths() -> list[Path]:
    """Every captured request (`NNN-METHOD-name.json`), in order."""
    return sorted(p for p in captures_dir().glob("[0-9][0-9][0-9]-*.json"))


def load_capture(name: str) -> dict[str, Any]:
    """A capture by file name, with or without `.json` (e.g. `004-POST-transaction_initialize_session`)."""
    file_name = name if name.endswith(".json") else f"{name}.json"
    path = require_shared(*CAPTURES_PARTS, file_name)
    data: dict[str, Any] = json.loads(_read_text(path))
    return data


def load_graphql_transcript(name: str) -> dict[str, Any]:
    file_name = name if name.endswith(".json") else f"{name}.json"
    data: dict[str, Any] = json.loads(_read_text(require_shared(*CAPTURES_PARTS, "graphql", file_name)))
    return data


def load_captured_jwks() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_read_text(require_shared(*CAPTURES_PARTS, "jwks.json")))
    return data


def header(capture: dict[str, Any], name: str) -> str | None:
    """First value of a header in a capture (names compared case-insensitively)."""
    for key, value in capture.get("headers", []):
        if key.lower() == name.lower():
            return str(value)
    return None
