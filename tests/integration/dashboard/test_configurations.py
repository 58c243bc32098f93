"""Configurations through the page API, against the simulator as CoinPayments and a real database."""

from __future__ import annotations

from typing import Any

from saleor_coinpayments.store.configurations import ConfigurationRepository
from saleor_coinpayments.store.installations import InstallationRepository
from saleor_coinpayments.urls import coinpayments_notification_url
from tests.integration.dashboard.conftest import (
    CLIENT_ID,
    CLIENT_ID_DASHED,
    OTHER_CLIENT_ID,
    OTHER_SECRET,
    SECRET,
    Dashboard,
    Simulator,
    box,
    insert_payment,
    with_session,
)

INVOICE_EVENTS = {
    "invoicecreated",
    "invoicepending",
    "invoicepaid",
    "invoicecompleted",
    "invoicecancelled",
    "invoicetimedout",
}


def stored_secret(database_url: str, configuration_id: str) -> str:
    async def work(session: Any) -> str:
        record = await ConfigurationRepository(session, box()).get(configuration_id)
        assert record is not None
        return record.client_secret

    return with_session(database_url, work)


def installation_id(database_url: str, api_url: str) -> str:
    async def work(session: Any) -> str:
        installation = await InstallationRepository(session, box()).get(api_url)
        assert installation is not None
        return installation.id

    return with_session(database_url, work)


def test_create_registers_the_notification_webhook_and_never_returns_the_secret(
    dashboard: Dashboard, simulator: Simulator, database_url: str
) -> None:
    response = dashboard.call(
        "POST",
        "/configurations",
        json={
            "name": "Main shop",
            "client_id": CLIENT_ID_DASHED.upper(),
            "client_secret": SECRET,
            "accepted_coins": "btc, ltct",
            "channels": ["default-channel"],
        },
    )
    assert response.status_code == 201, response.text
    assert SECRET not in response.text
    body = response.json()
    configuration = body["configuration"]
    assert body["check"]["ok"] is True
    assert configuration["client_id"] == CLIENT_ID
    assert configuration["client_secret"] == "••••" + SECRET[-4:]
    assert configuration["accepted_coins"] == ["BTC", "LTCT"]
    assert configuration["channels"] == ["default-channel"]
    assert configuration["api_url"] == simulator.base_url
    assert configuration["notifications_registered"] is True
    assert configuration["last_check"]["ok"] is True
    expected_url = coinpayments_notification_url(dashboard.app.settings, configuration["id"])
    assert configuration["notification_url"] == expected_url

    hooks = simulator.webhooks()
    assert [hook.notifications_url for hook in hooks] == [expected_url]
    assert {name.lower() for name in hooks[0].notifications} == INVOICE_EVENTS
    assert stored_secret(database_url, configuration["id"]) == SECRET

    listed = dashboard.call("GET", "/configurations")
    assert SECRET not in listed.text
    assert listed.json()["configurations"] == [configuration]


def test_saving_again_keeps_one_webhook_and_an_empty_secret_keeps_the_stored_one(
    dashboard: Dashboard, simulator: Simulator, database_url: str
) -> None:
    created = dashboard.create()["configuration"]
    response = dashboard.call(
        "PUT",
        f"/configurations/{created['id']}",
        json={"name": "Renamed", "client_id": CLIENT_ID, "client_secret": "", "api_url": simulator.base_url},
    )
    assert response.status_code == 200, response.text
    assert response.json()["check"]["ok"] is True
    assert response.json()["configuration"]["name"] == "Renamed"
    assert stored_secret(database_url, created["id"]) == SECRET
    assert len(simulator.webhooks()) == 1


def test_bad_input_is_reported_per_field_and_nothing_is_saved(dashboard: Dashboard, simulator: Simulator) -> None:
    response = dashboard.call(
        "POST",
        "/configurations",
        json={
            "name": "",
            "client_id": "12345",
            "client_secret": "",
            "api_url": "not a url",
            "accepted_coins": ["B@D"],
            "channels": ["no such/channel"],
        },
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"name", "client_id", "client_secret", "api_url", "accepted_coins", "channels"}
    assert dashboard.configurations() == []
    assert simulator.webhooks() == []

    dashboard.create()
    duplicate = dashboard.call(
        "POST", "/configurations", json={"name": "Main shop", "client_id": CLIENT_ID, "client_secret": SECRET}
    )
    assert duplicate.status_code == 400
    assert "exists already" in duplicate.json()["errors"]["name"]
    assert len(dashboard.configurations()) == 1

    wrong_type = dashboard.call("POST", "/configurations", json={"name": ["x"], "client_id": CLIENT_ID})
    assert wrong_type.status_code == 400
    assert set(wrong_type.json()["errors"]) == {"name"}
    not_json = dashboard.call("POST", "/configurations", json=["a list"])
    assert not_json.status_code == 400


def test_wrong_secret_is_saved_with_a_clear_verdict_and_test_connection_tells_it(
    dashboard: Dashboard, simulator: Simulator
) -> None:
    created = dashboard.create(client_secret="wrong-secret-0000")
    assert created["check"]["ok"] is False
    assert created["check"]["code"] == "bad_credentials"
    assert "client secret" in created["check"]["message"]
    assert created["configuration"]["notifications_registered"] is False
    assert simulator.webhooks() == []

    configuration_id = created["configuration"]["id"]
    tested = dashboard.call("POST", f"/configurations/{configuration_id}/test")
    assert tested.status_code == 200
    assert tested.json()["check"]["code"] == "bad_credentials"

    # Fixing the secret registers the webhook that could not be registered before.
    fixed = dashboard.call(
        "PUT",
        f"/configurations/{configuration_id}",
        json={"name": "Main shop", "client_id": CLIENT_ID, "client_secret": SECRET},
    )
    assert fixed.json()["check"]["ok"] is True
    assert fixed.json()["configuration"]["notifications_registered"] is True
    assert len(simulator.webhooks()) == 1


def test_verdicts_for_permissions_allow_list_and_wrong_url(dashboard: Dashboard, simulator: Simulator) -> None:
    configuration_id = dashboard.create()["configuration"]["id"]

    def verdict() -> dict[str, Any]:
        response = dashboard.call("POST", f"/configurations/{configuration_id}/test")
        assert response.status_code == 200, response.text
        check: dict[str, Any] = response.json()["check"]
        return check

    assert verdict()["ok"] is True

    simulator.patch_client(CLIENT_ID, permissions=["createInvoice", "manageWebhooks"])
    check = verdict()
    assert (check["ok"], check["code"]) == (False, "forbidden")
    assert "permission" in check["message"]

    simulator.patch_client(CLIENT_ID, permissions=["readInvoices", "createInvoice"])
    check = verdict()
    assert (check["ok"], check["code"]) == (False, "webhook_not_registered")
    assert "403" in check["message"]

    simulator.patch_client(CLIENT_ID, permissions=None, allowedIps=["203.0.113.7"])
    check = verdict()
    assert (check["ok"], check["code"]) == (False, "bad_credentials")
    assert "Allowed IPs" in check["message"]

    simulator.patch_client(CLIENT_ID, allowedIps=None)
    assert verdict()["ok"] is True

    # The fake Saleor is an HTTP server, but not CoinPayments.
    moved = dashboard.call(
        "PUT",
        f"/configurations/{configuration_id}",
        json={"name": "Main shop", "client_id": CLIENT_ID, "api_url": dashboard.saleor.base_url},
    )
    assert moved.json()["check"]["code"] == "not_coinpayments"
    unreachable = dashboard.call(
        "PUT",
        f"/configurations/{configuration_id}",
        json={"name": "Main shop", "client_id": CLIENT_ID, "api_url": "http://127.0.0.1:9"},
    )
    assert unreachable.json()["check"]["code"] == "unreachable"
    assert "Could not connect" in unreachable.json()["check"]["message"]
    listed = dashboard.configurations()[0]
    assert listed["last_check"]["ok"] is False


def test_changing_the_integration_moves_the_webhook(dashboard: Dashboard, simulator: Simulator) -> None:
    configuration_id = dashboard.create()["configuration"]["id"]
    assert len(simulator.webhooks()) == 1
    response = dashboard.call(
        "PUT",
        f"/configurations/{configuration_id}",
        json={"name": "Main shop", "client_id": OTHER_CLIENT_ID, "client_secret": OTHER_SECRET},
    )
    assert response.json()["check"]["ok"] is True
    assert simulator.webhooks() == []
    assert len(simulator.webhooks(OTHER_CLIENT_ID, OTHER_SECRET)) == 1


def test_delete_removes_the_webhook_but_never_a_configuration_with_payments(
    dashboard: Dashboard, simulator: Simulator, database_url: str
) -> None:
    first = dashboard.create(channels=["web"])["configuration"]
    second = dashboard.create(name="Second", channels=["pos"])["configuration"]
    assert len(simulator.webhooks()) == 2
    insert_payment(
        database_url,
        installation_id=installation_id(database_url, dashboard.saleor.api_url),
        configuration_id=second["id"],
        channel="pos",
        invoice_id="INV-1",
    )

    refused = dashboard.call("DELETE", f"/configurations/{second['id']}")
    assert refused.status_code == 400
    assert "payment" in refused.json()["errors"]["_"]

    deleted = dashboard.call("DELETE", f"/configurations/{first['id']}")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"deleted": "Main shop", "warning": None}
    assert [c["id"] for c in dashboard.configurations()] == [second["id"]]
    assert [hook.notifications_url for hook in simulator.webhooks()] == [second["notification_url"]]
    assert dashboard.call("DELETE", f"/configurations/{first['id']}").status_code == 404


def test_channels_map_move_and_unmap(dashboard: Dashboard) -> None:
    first = dashboard.create(channels=["web"])["configuration"]
    second = dashboard.create(name="Second")["configuration"]

    moved = dashboard.call("PUT", "/channels/web", json={"configuration_id": second["id"]})
    assert moved.status_code == 200, moved.text
    assert moved.json()["previous"] == "Main shop"
    assert moved.json()["configuration"]["channels"] == ["web"]
    added = dashboard.call("PUT", "/channels/pos", json={"configuration_id": first["id"]})
    assert added.json()["previous"] is None
    by_name = {c["name"]: c["channels"] for c in dashboard.configurations()}
    assert by_name == {"Main shop": ["pos"], "Second": ["web"]}

    unmapped = dashboard.call("PUT", "/channels/web", json={"configuration_id": None})
    assert unmapped.json() == {"channel": "web", "configuration": None, "previous": "Second"}
    assert {c["name"]: c["channels"] for c in dashboard.configurations()} == {"Main shop": ["pos"], "Second": []}

    bad_slug = dashboard.call("PUT", "/channels/b%20d", json={"configuration_id": first["id"]})
    assert bad_slug.status_code == 404
    assert "not a channel slug" in bad_slug.json()["error"]["message"]
    not_in_saleor = dashboard.call("PUT", "/channels/nowhere", json={"configuration_id": first["id"]})
    assert not_in_saleor.status_code == 404
    unknown = dashboard.call("PUT", "/channels/web", json={"configuration_id": "0" * 32})
    assert unknown.status_code == 404
    assert "this shop's configurations" in unknown.json()["error"]["message"]
    unsaid = dashboard.call("PUT", "/channels/web", json={})
    assert unsaid.status_code == 400
    assert "configuration_id" in unsaid.json()["errors"]
    assert {c["name"]: c["channels"] for c in dashboard.configurations()} == {"Main shop": ["pos"], "Second": []}

    # Saving with a channel list makes it the exact set (moving channels from other configurations).
    saved = dashboard.call(
        "PUT",
        f"/configurations/{second['id']}",
        json={"name": "Second", "client_id": CLIENT_ID, "channels": "pos, eu"},
    )
    assert saved.json()["moved_channels"] == {"pos": "Main shop"}
    assert {c["name"]: c["channels"] for c in dashboard.configurations()} == {
        "Main shop": [],
        "Second": ["eu", "pos"],
    }


def test_another_installations_configuration_is_invisible(dashboard: Dashboard, database_url: str) -> None:
    created = dashboard.create()["configuration"]

    async def add_other(session: Any) -> str:
        other = await InstallationRepository(session, box()).save(
            "http://127.0.0.1:9/graphql/", "QXBwOjI=", "other-token", {"keys": []}
        )
        record = await ConfigurationRepository(session, box()).upsert(
            other.id, "Theirs", client_id=OTHER_CLIENT_ID, client_secret=OTHER_SECRET, api_url="http://127.0.0.1:9"
        )
        return record.id

    theirs = with_session(database_url, add_other)
    assert [c["id"] for c in dashboard.configurations()] == [created["id"]]
    for method, path, body in [
        ("PUT", f"/configurations/{theirs}", {"name": "x", "client_id": CLIENT_ID}),
        ("DELETE", f"/configurations/{theirs}", None),
        ("POST", f"/configurations/{theirs}/test", None),
    ]:
        assert dashboard.call(method, path, json=body).status_code == 404
    assert dashboard.call("PUT", "/channels/web", json={"configuration_id": theirs}).status_code == 404


def test_an_unknown_channel_is_refused_and_nothing_is_saved(dashboard: Dashboard) -> None:
    response = dashboard.call(
        "POST",
        "/configurations",
        json={"name": "Main", "client_id": CLIENT_ID, "client_secret": SECRET, "channels": ["nowhere"]},
    )
    assert response.status_code == 400
    assert "No channel 'nowhere'" in response.json()["errors"]["channels"]
    assert dashboard.configurations() == []
