"""The pay page waits on the app (`/pay/<token>/wait?version=…`) instead of polling: the answer comes
when what the page shows changes, in this replica or another one on the same database, or when
the wait's time is up. The proof is the answer's content (a state the page did not have), never
how long it took."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from tests.helpers.app_server import app_process
from tests.integration.e2e.world import World, configure, eventually, running_world

LONG = 120.0  # the app's time for a wait: far beyond any answer these tests take…
ANSWER = 45.0  # …and the most they wait for one: a wait that only ends at its time fails


def _start_paying(world: World) -> tuple[str, str, dict[str, Any]]:
    started = world.initialize(world.checkout("20.00").id)
    link = str(started.event.external_url)
    status = httpx.get(f"{link}/status")
    assert status.status_code == 200
    view = status.json()
    assert view["state"] == "waiting"
    return link, str(started.event.psp_reference), view


def _waiting_pages(app_url: str) -> float:
    """The app's gauge of pages waiting in it (its /metrics)."""
    for line in httpx.get(f"{app_url}/metrics").text.splitlines():
        if line.startswith("pay_page_waits "):
            return float(line.split()[1])
    return 0.0


def _wait(pool: ThreadPoolExecutor, app_url: str, link: str, version: str) -> Future[httpx.Response]:
    """A page's wait, in place in the app before this returns (so what follows happens during it)."""
    before = _waiting_pages(app_url)
    waiting = pool.submit(httpx.get, f"{link}/wait", params={"version": version}, timeout=LONG + 30)
    eventually(lambda: _waiting_pages(app_url) > before or waiting.done(), what="the page waiting")
    assert not waiting.done(), waiting.result().json()
    return waiting


def test_a_wait_answers_when_the_payment_changes_and_only_then(database_url: str, tmp_path: Path) -> None:
    # A freshness window of an hour: the wait asks for no re-read of its own; the notification's
    # re-read writes the change, and the process's check of waiting pages finds it.
    settings = {"pay_page_wait_seconds": LONG, "pay_page_wait_check_seconds": 0.2, "process_refresh_min_seconds": 3600}
    with ThreadPoolExecutor(2) as pool, running_world(database_url, tmp_path, **settings) as world:
        configure(world.app.settings.database_url, world.saleor.api_url, world.sim, checkout_page="app")
        link, invoice_id, view = _start_paying(world)
        again = httpx.get(f"{link}/status").json()
        assert again["version"] == view["version"], "the version follows what is shown, not the clock"
        stale = httpx.get(f"{link}/wait", params={"version": "not-this-one"})
        assert stale.status_code == 200
        assert stale.json()["version"] == view["version"], "a page behind is answered at once"

        waiting = _wait(pool, world.app.base_url, link, view["version"])
        world.sim.pay(invoice_id, "full", confirmations=0, currency="1002")  # the notification makes the app re-read
        answer = waiting.result(timeout=ANSWER)
        assert answer.status_code == 200
        changed = answer.json()
        assert changed["state"] != "waiting", changed
        assert changed["version"] != view["version"]
        assert answer.headers["cache-control"] == "no-store"
        assert "default-src 'none'" in answer.headers["content-security-policy"]


def test_a_wait_times_out_with_the_same_view(database_url: str, tmp_path: Path) -> None:
    settings = {"pay_page_wait_seconds": 0.5, "pay_page_wait_check_seconds": 0.1}
    with running_world(database_url, tmp_path, **settings) as world:
        configure(world.app.settings.database_url, world.saleor.api_url, world.sim, checkout_page="app")
        link, _, view = _start_paying(world)
        answer = httpx.get(f"{link}/wait", params={"version": view["version"]}, timeout=30)
        assert answer.status_code == 200
        assert answer.json()["version"] == view["version"], "nothing changed: the page shows the same and asks again"
        assert httpx.get(f"{link[:-4]}AAAA/wait").status_code == 404
        assert httpx.get(f"{link}/wait", params={"version": "x" * 65}).status_code == 400


def test_a_change_written_by_another_replica_wakes_the_wait(database_url: str, tmp_path: Path) -> None:
    # This replica never reads CoinPayments during the test: no workers, a freshness window of an
    # hour, and no notifications (the simulator drops them). Only the other replica's write can
    # change what its waiting page is shown.
    waiter_settings = {
        "pay_page_wait_seconds": LONG,
        "pay_page_wait_check_seconds": 0.2,
        "process_refresh_min_seconds": 3600,
        "run_workers": False,
    }
    with ThreadPoolExecutor(2) as pool, running_world(database_url, tmp_path, **waiter_settings) as world:
        configure(world.app.settings.database_url, world.saleor.api_url, world.sim, checkout_page="app")
        link, invoice_id, view = _start_paying(world)
        world.sim.faults(webhookDrop=100)
        other_dir = tmp_path / "other"
        other_dir.mkdir()
        with app_process(
            database_url,
            other_dir,
            coinpayments_api_url=world.sim.base_url,
            process_refresh_min_seconds=0,
            run_workers=True,  # its reconciler makes the read (issue 24: a poll only marks the watch)
        ) as other:
            waiting = _wait(pool, world.app.base_url, link, view["version"])
            world.sim.pay(invoice_id, "full", confirmations=0, currency="1002")
            other_link = link.replace(world.app.base_url, other.base_url)
            assert httpx.get(f"{other_link}/status").status_code == 200  # the buyer watches there
            answer = waiting.result(timeout=ANSWER)
        assert answer.status_code == 200
        assert answer.json()["state"] != "waiting", answer.json()
