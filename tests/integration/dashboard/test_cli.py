"""`config set` / `config list` on a running app's database: the same configurations the page shows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from saleor_coinpayments.cli import main
from tests.helpers.app_server import settings_env
from tests.integration.dashboard.conftest import CLIENT_ID, CLIENT_ID_DASHED, SECRET, Dashboard, Simulator


@pytest.fixture
def cli_env(dashboard: Dashboard, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """The running app's settings (DATABASE_URL, DATA_DIR, SECRET_KEY, …) as the CLI reads them."""
    env = settings_env(dashboard.app.settings)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    workdir = tmp_path / "cli"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    return env


def config_set(dashboard: Dashboard, *extra: str, client_id: str = CLIENT_ID, secret: str = SECRET) -> int:
    return main(
        [
            "config",
            "set",
            "--saleor-api-url",
            dashboard.saleor.api_url,
            "--client-id",
            client_id,
            "--client-secret",
            secret,
            *extra,
        ]
    )


def test_config_set_creates_what_the_page_shows(
    dashboard: Dashboard, simulator: Simulator, cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert config_set(dashboard, "--channel", "default-channel", client_id=CLIENT_ID_DASHED) == 0
    out, err = capsys.readouterr()
    assert SECRET not in out + err
    assert "configuration created" in out
    assert "••••" + SECRET[-4:] in out
    assert "registered at CoinPayments" in out

    [configuration] = dashboard.configurations()
    assert configuration["name"] == "default-channel"
    assert configuration["client_id"] == CLIENT_ID
    assert configuration["channels"] == ["default-channel"]
    assert configuration["last_check"]["ok"] is True
    assert [hook.notifications_url for hook in simulator.webhooks()] == [configuration["notification_url"]]

    # Same name again: updated and another channel added, still one configuration and one webhook.
    assert config_set(dashboard, "--channel", "eu", "--name", "default-channel") == 0
    assert "configuration updated" in capsys.readouterr().out
    [configuration] = dashboard.configurations()
    assert configuration["channels"] == ["default-channel", "eu"]
    assert len(simulator.webhooks()) == 1

    assert main(["config", "list"]) == 0
    listing = capsys.readouterr().out
    assert "default-channel,eu" in listing
    assert "••••" + SECRET[-4:] in listing
    assert SECRET not in listing
    assert dashboard.saleor.api_url in listing


def test_config_set_refuses_bad_input_and_unknown_saleor(
    dashboard: Dashboard, cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert config_set(dashboard, "--channel", "web", client_id="not-hex") == 2
    err = capsys.readouterr().err
    assert "nothing was saved" in err
    assert "--client-id" in err
    assert config_set(dashboard, "--channel", "bad slug") == 2
    assert "--channel" in capsys.readouterr().err
    assert dashboard.configurations() == []

    unknown = main(
        [
            "config",
            "set",
            "--saleor-api-url",
            "http://127.0.0.1:9/graphql/",
            "--channel",
            "web",
            "--client-id",
            CLIENT_ID,
            "--client-secret",
            SECRET,
        ]
    )
    assert unknown == 2
    err = capsys.readouterr().err
    assert "no Saleor installed the app" in err
    assert dashboard.saleor.api_url in err
    assert main(["config", "list", "--saleor-api-url", "http://127.0.0.1:9/graphql/"]) == 2


def test_wrong_secret_is_saved_with_a_warning_and_exit_code_1(
    dashboard: Dashboard, cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert config_set(dashboard, "--channel", "web", secret="wrong-secret-0000") == 1
    out, err = capsys.readouterr()
    assert "CoinPayments refused these credentials" in err
    assert "wrong-secret-0000" not in out + err
    assert [c["channels"] for c in dashboard.configurations()] == [["web"]]


def test_installed_console_script_lists_configurations(dashboard: Dashboard, cli_env: dict[str, str]) -> None:
    dashboard.create(channels=["web"])
    script = Path(sys.executable).with_name("saleor-coinpayments")
    result = subprocess.run(
        [str(script), "config", "list", "--saleor-api-url", dashboard.saleor.api_url],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Main shop" in result.stdout
    assert SECRET not in result.stdout + result.stderr


def test_billing_settings_from_the_shell_and_the_page(
    dashboard: Dashboard, cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """`--invoice-new-orders on|off`, `--invoice-due-days`, `--invoice-reminders` (issue 11); the page
    shows and saves the same; leaving a flag out keeps the stored value; bad values save nothing."""
    assert config_set(dashboard, "--channel", "default-channel") == 0
    [configuration] = dashboard.configurations()
    assert (configuration["invoice_new_orders"], configuration["invoice_due_days"]) == (False, 7)
    assert configuration["invoice_reminders"] == []
    capsys.readouterr()

    flags = ["--invoice-new-orders", "on", "--invoice-due-days", "14", "--invoice-reminders=-3,0,+3"]
    assert config_set(dashboard, "--channel", "default-channel", *flags) == 0
    out = capsys.readouterr().out
    assert "invoice new orders  on" in out.replace("   ", "  ")
    assert "-3, +0, +3" in out
    [configuration] = dashboard.configurations()
    assert configuration["invoice_new_orders"] is True
    assert configuration["invoice_due_days"] == 14
    assert configuration["invoice_reminders"] == [-3, 0, 3]

    assert config_set(dashboard, "--channel", "default-channel", "--invoice-due-days", "0") == 2
    assert "--invoice-due-days" in capsys.readouterr().err
    assert config_set(dashboard, "--channel", "default-channel", "--invoice-new-orders", "off") == 0
    [configuration] = dashboard.configurations()
    assert (configuration["invoice_new_orders"], configuration["invoice_due_days"]) == (False, 14)
    assert configuration["invoice_reminders"] == [-3, 0, 3]

    saved = dashboard.call(
        "PUT",
        f"/configurations/{configuration['id']}",
        json={
            "name": configuration["name"],
            "client_id": CLIENT_ID,
            "invoice_new_orders": True,
            "invoice_due_days": "30",
            "invoice_reminders": "",
        },
    )
    assert saved.status_code == 200, saved.text
    body = saved.json()["configuration"]
    assert (body["invoice_new_orders"], body["invoice_due_days"], body["invoice_reminders"]) == (True, 30, [])
    refused = dashboard.call(
        "PUT",
        f"/configurations/{configuration['id']}",
        json={"name": configuration["name"], "client_id": CLIENT_ID, "invoice_reminders": "soon"},
    )
    assert refused.status_code == 400
    assert set(refused.json()["errors"]) == {"invoice_reminders"}
