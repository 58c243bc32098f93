"""The locked requirements (requirements/*.txt, written by `make lock`) agree with pyproject.toml.

Offline and quick: every dependency pyproject.toml names is pinned, at a version its specifier
allows, with hashes; the image's runtime.txt runs the versions the suite tested (dev.txt). `make
lock-check` (in `make lint`) goes further and resolves again, so a dependency's new dependency
shows up too.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[3]
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)(.*?)(?=^\S|\Z)", re.M | re.S)


def pins(name: str) -> dict[str, tuple[str, str]]:
    """`requirements/<name>.txt` as {canonical name: (version, the entry's text)}."""
    text = (ROOT / "requirements" / f"{name}.txt").read_text(encoding="utf-8")
    return {canonicalize_name(m.group(1)): (m.group(2), m.group(3)) for m in _PIN.finditer(text)}


def declared(extra: str | None) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = project["dependencies"] if extra is None else project["optional-dependencies"][extra]
    return [Requirement(text) for text in names]


def problems(lock: dict[str, tuple[str, str]], wanted: list[Requirement]) -> list[str]:
    found = []
    for requirement in wanted:
        pinned = lock.get(canonicalize_name(requirement.name))
        if pinned is None:
            found.append(f"{requirement.name} is not in the lock")
        elif not requirement.specifier.contains(pinned[0], prereleases=True):
            found.append(f"{requirement.name}=={pinned[0]} is outside {requirement.specifier}")
    return found


@pytest.mark.parametrize(("lock", "extras"), [("runtime", [None]), ("dev", [None, "dev"])])
def test_every_declared_dependency_is_pinned_within_its_range(lock: str, extras: list[str | None]) -> None:
    locked = pins(lock)
    wanted = [requirement for extra in extras for requirement in declared(extra)]
    assert problems(locked, wanted) == [], "run `make lock` and commit requirements/"


@pytest.mark.parametrize("lock", ["runtime", "dev"])
def test_every_pin_carries_hashes(lock: str) -> None:
    locked = pins(lock)
    assert locked
    assert [name for name, (_, entry) in locked.items() if "--hash=sha256:" not in entry] == []


def test_the_image_runs_the_versions_the_suite_tested() -> None:
    dev, runtime = pins("dev"), pins("runtime")
    assert {name: version for name, (version, _) in runtime.items() if dev.get(name, ("",))[0] != version} == {}


def test_the_checks_see_a_stale_lock() -> None:
    locked = pins("runtime")
    assert problems(locked, [Requirement("httpx-not-a-dependency>=1")]) == ["httpx-not-a-dependency is not in the lock"]
    version = locked["fastapi"][0]
    assert problems(locked, [Requirement(f"fastapi>{version}")]) == [f"fastapi=={version} is outside >{version}"]
