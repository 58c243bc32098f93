"""No Docker engine runs here, so check what can be checked: the Dockerfile parses into sensible
instructions, it runs as a non-root user, and the command and health check it names exist."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from saleor_coinpayments.app import create_app
from saleor_coinpayments.cli import build_parser
from saleor_coinpayments.settings import load_settings

ROOT = Path(__file__).resolve().parents[3]
KNOWN = {"FROM", "ENV", "RUN", "WORKDIR", "COPY", "USER", "EXPOSE", "VOLUME", "HEALTHCHECK", "CMD", "ARG", "LABEL"}


def instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text()
    joined = re.sub(r"\\\n\s*", " ", text)
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    return result


def test_dockerfile_parses_into_known_instructions() -> None:
    parsed = instructions()
    assert {keyword for keyword, _ in parsed} <= KNOWN
    assert parsed[0][0] == "FROM"
    assert re.match(r"python:3\.1[1-9]-slim", parsed[0][1])


def test_runs_as_a_non_root_user_the_serve_command() -> None:
    parsed = dict(instructions())
    assert parsed["USER"] not in ("root", "0")
    command = json.loads(parsed["CMD"])
    assert command == ["saleor-coinpayments", "serve"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts[command[0]] == "saleor_coinpayments.cli:main"
    assert build_parser().parse_args(command[1:]).command == "serve"


def test_healthcheck_calls_a_real_route() -> None:
    healthcheck = dict(instructions())["HEALTHCHECK"]
    path = re.search(r"/health/\w+", healthcheck)
    assert path is not None
    paths = create_app(load_settings()).openapi()["paths"]
    assert "get" in paths[path.group(0)]


def _pip_installs() -> list[str]:
    return [rest for keyword, rest in instructions() if keyword == "RUN" and "pip install" in rest]


def test_the_image_installs_the_locked_requirements_and_nothing_unlocked() -> None:
    """Dependencies come only from requirements/runtime.txt with hashes checked; the app itself
    is installed without resolving anything (`make lock` writes the lock; test_lock checks it)."""
    installs = _pip_installs()
    assert any("--require-hashes -r requirements/runtime.txt" in run for run in installs)
    for run in installs:
        assert "--require-hashes -r requirements/runtime.txt" in run or "--no-deps" in run, run
    copied = [rest for keyword, rest in instructions() if keyword == "COPY"]
    assert "requirements/runtime.txt ./requirements/runtime.txt" in copied
