"""The fake Saleor's `requiredSaleorVersion` check reads npm-style ranges as Saleor does."""

from __future__ import annotations

import pytest

from tests.fakes.saleor_versions import satisfies, version_tuple


@pytest.mark.parametrize(
    ("version", "required", "expected"),
    [
        ("3.20.119", ">=3.20 <4", True),
        ("3.20.119", ">=3.21 <4", False),
        ("3.21.0", ">=3.21 <4", True),
        ("4.0.0", ">=3.20 <4", False),
        ("3.20.5", "3.20", True),
        ("3.21.0", "=3.20", False),
        ("3.20.9", "<=3.20", True),
        ("3.21.0", "<=3.20", False),
        ("3.20.9", ">3.20", False),
        ("3.21.0", ">3.20", True),
        ("3.20.1", ">3.20.0", True),
        ("3.20.0", "<=3.20.0", True),
        ("3.24.0-a.0", ">=3.24", True),
        ("3.99.0", "^3.20", True),
        ("3.19.9", "^3.20", False),
        ("4.0.0", "^3.20", False),
        ("3.20.119", "~3.20", True),
        ("3.21.0", "~3.20", False),
        ("3.20.5", "~3.20.3", True),
        ("3.20.2", "~3.20.3", False),
        ("3.5.0", "~3", True),
        ("0.2.9", "^0.2", True),
        ("0.3.0", "^0.2", False),
        ("0.0.4", "^0.0.3", False),
    ],
)
def test_ranges(version: str, required: str, expected: bool) -> None:
    assert satisfies(version, required) is expected


@pytest.mark.parametrize("required", ["", ">=3.x", "3.20 || 3.21", "3.20 - 3.22"])
def test_what_is_not_understood_is_an_error(required: str) -> None:
    with pytest.raises(ValueError, match="range"):
        satisfies("3.20.0", required)


def test_versions() -> None:
    assert version_tuple("3.20.119") == (3, 20, 119)
    assert version_tuple("3.24.0-a.0") == (3, 24, 0)
    with pytest.raises(ValueError, match="not a Saleor version"):
        version_tuple(">=3.20")
