"""Issue #28: the pay page's token is a bearer secret (whoever has the link sees the payment), so
it must never reach the app's log, whatever the log level and whatever the buyer's page asks."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.helpers.waiting import eventually
from tests.integration.e2e.world import configure, running_world


def test_the_pay_token_never_reaches_the_log_even_at_debug(database_url: str, tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    with running_world(
        database_url,
        tmp_path,
        app_output=log,
        log_level="DEBUG",
        process_refresh_min_seconds=0,
        pay_page_wait_seconds=1,
        pay_page_requests_per_second=1000,
    ) as world:
        configure(world.app.settings.database_url, world.saleor.api_url, world.sim, checkout_page="app")
        started = world.initialize(world.checkout("20.00").id)
        link = started.event.external_url
        token = link.rsplit("/", 1)[-1]
        assert len(token) >= 20
        with httpx.Client(timeout=30) as client:
            assert client.get(link, params={"lang": "de"}).status_code == 200
            view = client.get(f"{link}/status").json()
            assert client.post(f"{link}/coin", json={"coin": "LTCT"}).status_code == 200
            client.get(f"{link}/wait", params={"version": view["version"]})
            world.sim.pay(started.event.psp_reference, "full", confirmations=2, currency="1002")
            eventually(lambda: client.get(f"{link}/status").json()["receipt"], what="the receipt")
            assert client.get(f"{link}/receipt").status_code == 200
            wrong = token[:-4] + "AAAA"
            assert client.get(link.replace(token, wrong) + "/status").status_code == 404
        text = log.read_text(encoding="utf-8", errors="replace") + Path(f"{log}.err").read_text(errors="replace")
    assert "invoice_created" in text or "payment_moved" in text or "DEBUG" in text.upper()  # it did log
    assert token not in text
    assert token[:12] not in text  # not a prefix either
