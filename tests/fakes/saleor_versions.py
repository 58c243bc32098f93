"""Saleor's install-time check of `requiredSaleorVersion`, for the fake Saleor.

Saleor matches its own version against the manifest's npm-style range and refuses the app with
"Saleor version X is not supported by the app" otherwise (PROTOCOL.md §2.1). Only what such
ranges use is understood: space-separated comparators (`>=`, `>`, `<=`, `<`, `=`, none, and the
`^`/`~` shorthands) over partial versions with npm's meaning (`<=3.20` and `=3.20` take in every
3.20.x, `>=3.20` starts at 3.20.0, `^3.20` is `>=3.20.0 <4.0.0`, `~3.20` is `>=3.20.0 <3.21.0`);
anything else (`||`, `x` wildcards, hyphen ranges) is an error.
"""

from __future__ import annotations

import re

_COMPARATOR = re.compile(r"^(>=|<=|>|<|=|\^|~)?(\d+)(?:\.(\d+))?(?:\.(\d+))?$")


def version_tuple(version: str) -> tuple[int, int, int]:
    """`3.20.119` → (3, 20, 119); a pre-release suffix (`3.24.0-a.0`) is ignored."""
    match = _COMPARATOR.match(version.strip().split("-")[0].split("+")[0])
    if match is None or match.group(1):
        raise ValueError(f"not a Saleor version: {version!r}")
    return int(match.group(2)), int(match.group(3) or 0), int(match.group(4) or 0)


def satisfies(version: str, required: str) -> bool:
    """Whether a Saleor version lies in an npm-style range such as `>=3.20 <4`."""
    actual = version_tuple(version)
    comparators = required.split()
    if not comparators:
        raise ValueError("empty version range")
    for comparator in comparators:
        match = _COMPARATOR.match(comparator)
        if match is None:
            raise ValueError(f"unsupported version range {required!r}")
        if not _holds(actual, match.group(1) or "=", [int(p) for p in match.groups()[1:] if p is not None]):
            return False
    return True


def _holds(actual: tuple[int, int, int], operator: str, given: list[int]) -> bool:
    low = (given + [0, 0])[:3]
    # the first version past every version the partial bound names: 3.20 → 3.21.0, 3 → 4.0.0
    high = (given[:-1] + [given[-1] + 1] + [0, 0])[:3] if len(given) < 3 else low
    start, after = tuple(low), tuple(high)
    if operator in {"^", "~"}:
        return start <= actual < _shorthand_end(operator, low, given)
    if operator == ">=":
        return actual >= start
    if operator == "<":
        return actual < start
    if len(given) == 3:
        return {">": actual > start, "<=": actual <= start, "=": actual == start}[operator]
    return {">": actual >= after, "<=": actual < after, "=": start <= actual < after}[operator]


def _shorthand_end(operator: str, low: list[int], given: list[int]) -> tuple[int, ...]:
    """Where `^`/`~` stop: the next change npm allows no further (^3.20 → 4.0.0, ~3.20 → 3.21.0)."""
    if operator == "~":
        position = 0 if len(given) == 1 else 1
    else:  # ^: the first non-zero part of the bound may not change (^0.2 → 0.3.0, ^0.0.3 → 0.0.4)
        position = next((i for i, part in enumerate(low) if part), len(given) - 1)
        position = min(position, len(given) - 1)
    return tuple([*low[:position], low[position] + 1] + [0] * (2 - position))
