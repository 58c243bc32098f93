"""How tests reach reference data: the captured Saleor requests (in the repository) and the full
upstream Saleor schemas (outside it).

The captures are test fixtures under `tests/fixtures/saleor/captures/` (see the README there):
recorded from a real Saleor, committed, always present. The full upstream schemas are large
files of the saleor/saleor repository; only one check needs them (that the committed schema
subsets still match them, tests/unit/saleor/test_schema_subset.py). They are looked up in the
shared reference folder, env `SALEOR_COINPAYMENTS_SHARED_DIR`, default `<repo>/../shared`. When
one is absent that check skips and names the upstream file to fetch — except under `CI=true`,
where a missing reference is a failure (CI has the folder and must always run the check).
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

SHARED_DIR_ENV = "SALEOR_COINPAYMENTS_SHARED_DIR"
REPO_ROOT = Path(__file__).resolve().parents[1]
CAPTURES_DIR = REPO_ROOT / "tests" / "fixtures" / "saleor" / "captures"


def shared_dir() -> Path:
    configured = os.environ.get(SHARED_DIR_ENV, "").strip()
    return Path(configured).expanduser() if configured else REPO_ROOT.parent / "shared"


def shared_path(*parts: str) -> Path:
    """Path of a reference file (it may not exist; see `require_shared`)."""
    return shared_dir().joinpath(*parts)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def require_shared(*parts: str, fetch: str = "") -> Path:
    """The path if it exists; otherwise skip the calling test (fail under CI=true).

    `fetch` says where the file comes from, so the reason tells a reader how to get it."""
    path = shared_path(*parts)
    if not path.exists():
        _absent([(path, fetch)])
    return path


def _absent(missing: list[tuple[Path, str]]) -> None:
    named = "; ".join(f"{path}" + (f" (fetch {fetch})" if fetch else "") for path, fetch in missing)
    reason = f"reference file absent: {named}; set {SHARED_DIR_ENV} to the shared folder"
    if in_ci():
        pytest.fail(f"{reason}; CI=true requires it", pytrace=False)
    pytest.skip(reason)


@dataclass(frozen=True)
class UpstreamSchema:
    """One full Saleor schema: where it lies in the shared folder and where it comes from."""

    parts: tuple[str, ...]
    ref: str
    blob: str

    @property
    def fetch(self) -> str:
        return f"saleor/graphql/schema.graphql of github.com/saleor/saleor at {self.ref}, git blob {self.blob}"


#: The full upstream schema of each tested Saleor line (saleor_coinpayments.saleor.schema.SCHEMA_LINES).
UPSTREAM_SCHEMAS = {
    "3.20": UpstreamSchema(
        ("saleor", "schema-3.20.graphql"),
        ref="tag 3.20.119 (commit 8151200bc3657b4c9d77244298313f2727d1f674)",
        blob="40893a9b309965f6629882b164fdfee244c1e76d",
    ),
    "newest": UpstreamSchema(
        ("saleor", "schema.graphql"),
        ref="main, commit 723cd4eba87dfc72822ade45dc08a3caa548428d (3.24.0-a.0; newest release 3.23.28)",
        blob="e490c09b0a5a74fbc67d2c35dafb352d16ee4584",
    ),
}
SCHEMA_PARTS = UPSTREAM_SCHEMAS["newest"].parts
SCHEMA_PARTS_BY_LINE = {line: schema.parts for line, schema in UPSTREAM_SCHEMAS.items()}


@functools.cache
def _read_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def require_upstream_schemas() -> None:
    """Skip (fail under CI=true) unless every line's upstream schema is there, naming each absent one."""
    missing = [
        (shared_path(*s.parts), s.fetch) for s in UPSTREAM_SCHEMAS.values() if not shared_path(*s.parts).exists()
    ]
    if missing:
        _absent(missing)


def upstream_schema_sdl(line: str = "newest") -> str:
    """The full upstream Saleor SDL of one tested line (`3.20` or `newest`); skips when absent."""
    schema = UPSTREAM_SCHEMAS[line]
    return _read_text(require_shared(*schema.parts, fetch=schema.fetch))


def captures_dir() -> Path:
    return CAPTURES_DIR


def capture_paths() -> list[Path]:
    """Every captured request (`NNN-METHOD-name.json`), in order."""
    return sorted(p for p in CAPTURES_DIR.glob("[0-9][0-9][0-9]-*.json"))


def load_capture(name: str) -> dict[str, Any]:
    """A capture by file name, with or without `.json` (e.g. `004-POST-transaction_initialize_session`)."""
    file_name = name if name.endswith(".json") else f"{name}.json"
    data: dict[str, Any] = json.loads(_read_text(CAPTURES_DIR / file_name))
    return data


def load_graphql_transcript(name: str) -> dict[str, Any]:
    file_name = name if name.endswith(".json") else f"{name}.json"
    data: dict[str, Any] = json.loads(_read_text(CAPTURES_DIR / "graphql" / file_name))
    return data


def load_captured_jwks() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_read_text(CAPTURES_DIR / "jwks.json"))
    return data


def header(capture: dict[str, Any], name: str) -> str | None:
    """First value of a header in a capture (names compared case-insensitively)."""
    for key, value in capture.get("headers", []):
        if key.lower() == name.lower():
            return str(value)
    return None
