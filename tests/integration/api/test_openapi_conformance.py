"""The HTTP API does what `/openapi.json` says: schemathesis, every check, against the running app.

The app runs on loopback with a real database and a fake Saleor that installed it; every request
carries a Dashboard token that Saleor issued, so the Dashboard API is tried past its 401. The
webhook routes stay behind their signatures (401), which the document declares. Bounded: a few
examples per operation and a fixed seed, so a run takes well under a minute and fails the same
way twice. schemathesis.toml beside this file lists the few operations where one check cannot
apply, and why. To try it by hand: `schemathesis run http://127.0.0.1:8000/openapi.json --checks all`.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from tests.fakes.saleor import FakeSaleor
from tests.helpers.app_server import app_in_thread
from tests.helpers.servers import serve_asgi

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CONFIG = Path(__file__).with_name("schemathesis.toml")
EXAMPLES_PER_OPERATION = 8


def run_schemathesis(openapi_url: str, headers: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    args = [str(SCHEMATHESIS), "--config-file", str(CONFIG), "run", openapi_url]  # all checks: see CONFIG
    args += ["--max-examples", str(EXAMPLES_PER_OPERATION)]
    args += ["--seed", "26", "--workers", "1", "--no-color", "--generation-database", "none"]
    args += ["--request-timeout", "30", "--report-dir", str(tmp_path / "schemathesis")]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    return subprocess.run(args, capture_output=True, text=True, timeout=400, cwd=tmp_path, check=False)


def operations_refused_for_auth(output: str) -> list[str]:
    """The operations schemathesis says answered only 401/403 (its "Authentication failed" warning)."""
    lines = output.splitlines()
    found: list[str] = []
    for index, line in enumerate(lines):
        if line.strip().startswith(("401 Unauthorized", "403 Forbidden")):
            for following in lines[index + 1 :]:
                if not following.strip().startswith("- "):
                    break
                found.append(following.strip()[2:])
    return found


@pytest.fixture
def installed_app(database_url: str, tmp_path: Path, fake_saleor: FakeSaleor) -> Iterator[tuple[str, dict[str, str]]]:
    fake_saleor.model.add_channel("web", "USD")
    with app_in_thread(database_url, tmp_path, run_workers=False) as app:
        saleor_app = fake_saleor.install_app(app.manifest_url)
        token = fake_saleor.issue_dashboard_token(saleor_app, ttl_seconds=900)
        yield app.base_url, {"authorization-bearer": token, "saleor-api-url": fake_saleor.api_url}


@pytest.mark.timeout(480)
def test_every_answer_is_the_documented_one(installed_app: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    base_url, headers = installed_app
    result = run_schemathesis(f"{base_url}/openapi.json", headers, tmp_path)
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-4000:]
    assert "/api/dashboard/configurations" in result.stdout
    refused = operations_refused_for_auth(result.stdout)
    assert refused, "the webhook routes should be refused without a Saleor signature"
    assert [op for op in refused if "/api/webhooks/saleor/" not in op] == [], "the Dashboard token was not taken"


def _misdocumented_app() -> FastAPI:
    app = FastAPI()

    @app.get("/things/{name}", responses={200: {"description": "the thing"}})
    async def thing(name: str) -> JSONResponse:
        return JSONResponse({"error": "none"}, status_code=404)  # a 404 the document does not declare

    return app


@pytest.mark.timeout(240)
def test_the_run_fails_on_an_undocumented_answer(tmp_path: Path) -> None:
    """The harness can fail: the same run against an app that answers an undeclared 404."""
    with serve_asgi(_misdocumented_app()) as base_url:
        result = run_schemathesis(f"{base_url}/openapi.json", {}, tmp_path)
    assert result.returncode != 0
    assert "Undocumented status code" in result.stdout
