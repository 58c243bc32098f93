from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.saleor import FakeSaleor
from tests.helpers.servers import serve_asgi
from tests.integration.fake_saleor.probe_app import ProbeState, create_probe_app


@pytest.fixture
def probe() -> Iterator[tuple[ProbeState, str]]:
    state = ProbeState()
    with serve_asgi(create_probe_app(state)) as base_url:
        yield state, base_url


@pytest.fixture
def installed(fake_saleor: FakeSaleor, probe: tuple[ProbeState, str]) -> tuple[FakeSaleor, ProbeState, object]:
    state, base_url = probe
    app = fake_saleor.install_app(f"{base_url}/api/manifest")
    return fake_saleor, state, app
