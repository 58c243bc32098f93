"""Issue #9: the `checkoutPage` setting (hosted | app) through the Dashboard API and the CLI."""

from __future__ import annotations

import pytest

from tests.integration.dashboard.conftest import Dashboard, Simulator
from tests.integration.dashboard.test_cli import cli_env, config_set

__all__ = ["cli_env"]  # the fixture, used by name below


def test_checkout_page_defaults_to_hosted_and_can_be_app(dashboard: Dashboard, simulator: Simulator) -> None:
    created = dashboard.create()
    assert created["configuration"]["checkout_page"] == "hosted"
    configuration_id = created["configuration"]["id"]
    body = {"name": "Main shop", "client_id": created["configuration"]["client_id"], "checkout_page": "app"}
    saved = dashboard.call("PUT", f"/configurations/{configuration_id}", json=body)
    assert saved.status_code == 200, saved.text
    [configuration] = dashboard.configurations()
    assert configuration["checkout_page"] == "app"
    kept = dashboard.call("PUT", f"/configurations/{configuration_id}", json={**body, "checkout_page": None})
    assert kept.status_code == 200, kept.text
    assert dashboard.configurations()[0]["checkout_page"] == "app"


def test_an_unknown_checkout_page_is_refused_and_nothing_is_saved(dashboard: Dashboard, simulator: Simulator) -> None:
    created = dashboard.create()
    configuration_id = created["configuration"]["id"]
    body = {"name": "Main shop", "client_id": created["configuration"]["client_id"], "checkout_page": "iframe"}
    refused = dashboard.call("PUT", f"/configurations/{configuration_id}", json=body)
    assert refused.status_code == 400
    assert set(refused.json()["errors"]) == {"checkout_page"}
    assert dashboard.configurations()[0]["checkout_page"] == "hosted"


def test_cli_sets_the_checkout_page(
    dashboard: Dashboard, simulator: Simulator, cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert config_set(dashboard, "--channel", "default-channel", "--checkout-page", "app") == 0
    lines = [line.strip() for line in capsys.readouterr().out.splitlines()]
    assert [line.split()[-1] for line in lines if line.startswith("checkout page ")] == ["app"]
    assert dashboard.configurations()[0]["checkout_page"] == "app"
    assert config_set(dashboard, "--channel", "default-channel") == 0
    assert dashboard.configurations()[0]["checkout_page"] == "app"
    with pytest.raises(SystemExit):
        config_set(dashboard, "--channel", "default-channel", "--checkout-page", "iframe")
